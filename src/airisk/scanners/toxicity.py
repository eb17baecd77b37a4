"""Toxicity: abusive, threatening, insulting and hateful messages, with a threshold per label.

Labels follow detoxify: ``toxicity``, ``severe_toxicity``, ``obscene``, ``threat``, ``insult``,
``identity_attack``, ``sexual_explicit``. Two engines:

* ``default`` — a small head trained in this repository (``training/train_toxicity.py``) on the
  shared MiniLM sentence embedding (per 256-token window; the worst window counts) plus lexical
  cues (who is addressed, threats, negation, quotation, condemnation). It reuses the embedding
  every other model-based scanner of the pipeline already computed, so it costs well under a
  millisecond on top of it. It predicts ``toxicity`` and ``identity_attack``; the other labels
  are derived from those and the cues (see ``docs/scanners/toxicity.md``).
* ``detoxify`` — any detoxify checkpoint, loaded from local files only (torch and transformers,
  ``pip install 'airisk[detoxify]'``). Long texts are scored in windows; the worst window counts.

Profanity aimed at no one is not toxic, so ``obscene`` is off unless given a threshold.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from airisk.errors import MissingDependencyError, ModelArtifactMissing
from airisk.scanners.base import Scanner, ScannerConfig
from airisk.scanners.toxicity_cues import CUE_NAMES, Cues, cues
from airisk.types import Finding, ScanContext, ScanResult, Verdict

if TYPE_CHECKING:
    import numpy as np

LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
    "sexual_explicit",
)
#: labels checked unless a policy says otherwise (``obscene`` is opt-in)
DEFAULT_LABELS: tuple[str, ...] = tuple(label for label in LABELS if label != "obscene")
#: the artifact name of the default engine's head in the model registry
HEAD_ARTIFACT = "toxicity-head"
_DETOXIFY_NAMES = {"toxic": "toxicity", "severe_toxic": "severe_toxicity", "identity_hate": "identity_attack"}
_CHARS_PER_TOKEN = 3  # conservative for English, so a window rarely exceeds the model's positions


class ToxicityConfig(ScannerConfig):
    engine: Literal["default", "detoxify"] = "default"
    thresholds: dict[str, float | None] = Field(
        default_factory=dict,
        description="per-label thresholds; a label not listed uses `threshold` if it is checked by default, "
        "None switches a label off",
    )
    head: str | None = Field(default=None, description="default engine: path to a head .npz instead of the registry's")
    checkpoint: str | None = Field(default=None, description="detoxify engine: path to the .ckpt file")
    model_type: str | None = Field(
        default=None, description="detoxify engine: local folder with the transformers config and tokenizer"
    )
    device: str = "cpu"
    trust_checkpoint: bool = Field(
        default=False, description="detoxify engine: allow pickled objects in the checkpoint (only for trusted files)"
    )
    timeout_s: float | None = Field(default=10.0, gt=0)

    @field_validator("thresholds")
    @classmethod
    def _known_labels(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        for label, threshold in value.items():
            if label not in LABELS:
                raise ValueError(f"unknown toxicity label {label!r}; labels: {', '.join(LABELS)}")
            if threshold is not None and not 0.0 <= threshold <= 1.0:
                raise ValueError(f"threshold for {label} must be between 0 and 1")
        return value

    @model_validator(mode="after")
    def _detoxify_needs_files(self) -> ToxicityConfig:
        if self.engine == "detoxify" and (not self.checkpoint or not self.model_type):
            raise ValueError("the detoxify engine needs `checkpoint` (a .ckpt file) and `model_type` (a local folder)")
        return self

    def label_thresholds(self) -> dict[str, float]:
        """The labels this scanner checks and the threshold of each."""
        chosen: dict[str, float] = {label: self.threshold for label in DEFAULT_LABELS}
        for label, threshold in self.thresholds.items():
            if threshold is None:
                chosen.pop(label, None)
            else:
                chosen[label] = threshold
        return chosen


class _MLPHead:
    """A small multi-layer perceptron in numpy: standardise, ReLU hidden layers, sigmoid outputs."""

    def __init__(self, path: Path) -> None:
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            self.labels = [str(label) for label in data["labels"]]
            cue_names = tuple(str(name) for name in data["cue_names"])
            if cue_names != CUE_NAMES:
                raise ModelArtifactMissing(
                    f"toxicity head {path} was trained with other cue features; rebuild it: "
                    "python training/train_toxicity.py"
                )
            self.mean = data["mean"].astype(np.float32)
            self.scale = data["scale"].astype(np.float32)
            layers = int(data["layers"])
            self.weights = [data[f"W{i}"].astype(np.float32) for i in range(layers)]
            self.biases = [data[f"b{i}"].astype(np.float32) for i in range(layers)]
            self.metadata: dict[str, Any] = json.loads(str(data["metadata"])) if "metadata" in data else {}

    def predict(self, features: np.ndarray) -> np.ndarray:
        import numpy as np

        from airisk.models.heads import product

        hidden = (features - self.mean) / self.scale
        for weight, bias in zip(self.weights[:-1], self.biases[:-1], strict=True):
            hidden = np.maximum(product(hidden, weight) + bias, 0.0)
        logits = product(hidden, self.weights[-1]) + self.biases[-1]
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))


def features(embeddings: np.ndarray, cue_rows: Sequence[Cues]) -> np.ndarray:
    """The default engine's input: embedding and cue values side by side (training uses this too)."""
    import numpy as np

    cue_matrix = np.asarray([row.values for row in cue_rows], dtype=np.float32).reshape(len(cue_rows), len(CUE_NAMES))
    return np.hstack([np.asarray(embeddings, dtype=np.float32), cue_matrix])


def derive_labels(toxicity: float, identity_attack: float, cue: Cues) -> dict[str, float]:
    """Every label from the two the default head predicts, gated by lexical cues.

    A derived label is never above ``toxicity``: a threat phrase in counter-speech stays low.
    """
    threat_gate = 1.0 if cue["threat"] > 0 else 0.0
    insult_gate = 1.0 if cue["insult"] > 0 and (cue["second_person"] > 0 or cue["short"] > 0) else 0.0
    severe_gate = 1.0 if threat_gate or cue["group_dehumanising"] > 0 else 0.0
    obscene_gate = 1.0 if cue["profanity"] > 0 or cue["sexual"] > 0 else 0.0
    return {
        "toxicity": toxicity,
        "severe_toxicity": toxicity * toxicity * severe_gate,
        "obscene": (0.5 + 0.5 * toxicity) * obscene_gate,
        "threat": toxicity * threat_gate,
        "insult": toxicity * insult_gate,
        "identity_attack": min(identity_attack, max(toxicity, identity_attack * 0.5)),
        "sexual_explicit": toxicity * (1.0 if cue["sexual"] > 0 else 0.0),
    }


class _DefaultEngine:
    """The head trained in this repository, on the pipeline's shared embedding."""

    name = "default"

    def __init__(self, head_path: str | None) -> None:
        from airisk.models.encoder import load_matched_head

        self.head = load_matched_head(HEAD_ARTIFACT, head_path, _MLPHead)
        if self.head.labels[:2] != ["toxicity", "identity_attack"]:
            raise ModelArtifactMissing(f"toxicity head predicts {self.head.labels}, expected toxicity, identity_attack")

    def score(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[tuple[dict[str, float], Cues]]:
        """Scores per text: the head runs on each 256-token window's embedding and the worst window
        counts, so abuse in one paragraph of a long message is not averaged away."""
        import numpy as np

        from airisk.models.encoder import chunk_embeddings_for, chunk_embeddings_for_many

        if len(texts) == 1:
            chunks = [chunk_embeddings_for(texts[0], contexts[0])]
        else:
            chunks = chunk_embeddings_for_many(list(texts), list(contexts))
        cue_rows = [cues(text) for text in texts]
        owner = np.repeat(np.arange(len(texts)), [len(c) for c in chunks])
        probabilities = self.head.predict(features(np.vstack(chunks), [cue_rows[i] for i in owner]))
        worst = np.zeros((len(texts), probabilities.shape[1]), dtype=np.float32)
        np.maximum.at(worst, owner, probabilities)
        return [
            (derive_labels(float(row[0]), float(row[1]), cue), cue) for row, cue in zip(worst, cue_rows, strict=True)
        ]


class _DetoxifyEngine:
    """A detoxify checkpoint (``{"config": ..., "state_dict": ...}``) run with transformers, offline."""

    name = "detoxify"

    def __init__(self, checkpoint: str, model_type: str, device: str, trust_checkpoint: bool) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingDependencyError("the detoxify toxicity engine", "detoxify", "torch and transformers") from exc
        checkpoint_path = Path(checkpoint)
        config_dir = Path(model_type)
        if not checkpoint_path.is_file():
            raise ModelArtifactMissing(f"detoxify checkpoint not found: {checkpoint_path}")
        if not config_dir.is_dir():
            raise ModelArtifactMissing(
                f"detoxify model_type must be a local folder with config.json and tokenizer files: {config_dir}"
            )
        try:
            loaded = torch.load(checkpoint_path, map_location=device, weights_only=not trust_checkpoint)
        except Exception as exc:
            raise ModelArtifactMissing(
                f"cannot read detoxify checkpoint {checkpoint_path} ({type(exc).__name__}); if it is a trusted "
                "file that pickles objects, set trust_checkpoint=True"
            ) from exc
        if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
            raise ModelArtifactMissing(f"{checkpoint_path} is not a detoxify checkpoint (needs config and state_dict)")
        arch = loaded["config"]["arch"]["args"]
        classes = loaded["config"]["dataset"]["args"]["classes"]
        self.class_names = [_DETOXIFY_NAMES.get(name, name) for name in classes]
        model_class = getattr(transformers, arch["model_name"])
        tokenizer_class = getattr(transformers, arch["tokenizer_name"])
        config = model_class.config_class.from_pretrained(
            str(config_dir), num_labels=int(arch["num_classes"]), local_files_only=True
        )
        self.model = model_class(config)
        missing, unexpected = self.model.load_state_dict(loaded["state_dict"], strict=False)
        important = [key for key in missing if not key.endswith("position_ids")]
        if important or unexpected:
            raise ModelArtifactMissing(
                f"detoxify checkpoint does not match {arch['model_name']} in {config_dir}: "
                f"{len(important)} missing and {len(unexpected)} unexpected weights"
            )
        self.model.to(device).eval()
        self.tokenizer = tokenizer_class.from_pretrained(str(config_dir), local_files_only=True)
        limits = [512, int(getattr(config, "max_position_embeddings", 512) or 512)]
        model_max = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(model_max, int) and 0 < model_max < 100_000:
            limits.append(model_max)
        self.max_tokens = min(limits)
        self.window_chars = self.max_tokens * _CHARS_PER_TOKEN
        self.device = device
        self._torch = torch
        self._lock = threading.Lock()

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Scores per text; a long text is cut into overlapping windows and the worst window counts."""
        windows: list[str] = []
        owners: list[int] = []
        for index, text in enumerate(texts):
            for window in self.windows(text):
                windows.append(window)
                owners.append(index)
        torch = self._torch
        with self._lock, torch.no_grad():
            batch = self.tokenizer(
                windows, return_tensors="pt", truncation=True, padding=True, max_length=self.max_tokens
            )
            logits = self.model(**batch.to(self.device))[0]
            scores = torch.sigmoid(logits).cpu().numpy()
        results: list[dict[str, float]] = [dict.fromkeys(self.class_names, 0.0) for _ in texts]
        for owner, row in zip(owners, scores, strict=True):
            for name, value in zip(self.class_names, row, strict=True):
                results[owner][name] = max(results[owner][name], float(value))
        return results

    def windows(self, text: str) -> list[str]:
        """Overlapping character windows that each fit the model's token limit."""
        size = self.window_chars
        if len(text) <= size:
            return [text]
        overlap = size // 8
        return [text[start : start + size] for start in range(0, len(text) - overlap, size - overlap)]

    def score(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[tuple[dict[str, float], Cues]]:
        return [(scores, cues(text)) for scores, text in zip(self.predict(texts), texts, strict=True)]


_CUE_FOR_LABEL = {
    "threat": "threat",
    "insult": "insult",
    "identity_attack": "group",
    "obscene": "profanity",
    "sexual_explicit": "sexual",
    "severe_toxicity": "threat",
}


class Toxicity(Scanner):
    """Flags or blocks toxic messages; each finding names its label, score and threshold."""

    name: ClassVar[str] = "toxicity"
    Config: ClassVar[type[ScannerConfig]] = ToxicityConfig
    inline: ClassVar[bool] = False
    supported_actions: ClassVar[tuple[str, ...]] = ("block", "flag")

    def __init__(self, config: ToxicityConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        super().__init__(config, **settings)
        self.config: ToxicityConfig
        self._engine: _DefaultEngine | _DetoxifyEngine | None = None
        self._engine_lock = threading.Lock()

    def uses_shared_embedding(self) -> bool:
        return self.config.engine == "default"

    @property
    def engine(self) -> _DefaultEngine | _DetoxifyEngine:
        with self._engine_lock:
            if self._engine is None:
                if self.config.engine == "detoxify":
                    assert self.config.checkpoint is not None and self.config.model_type is not None
                    self._engine = _DetoxifyEngine(
                        self.config.checkpoint, self.config.model_type, self.config.device, self.config.trust_checkpoint
                    )
                else:
                    self._engine = _DefaultEngine(self.config.head)
            return self._engine

    def warm_up(self) -> None:
        engine = self.engine
        if isinstance(engine, _DefaultEngine):
            from airisk.models.encoder import get_encoder

            get_encoder()

    def label_scores(self, text: str, ctx: ScanContext | None = None) -> dict[str, float]:
        """Every label's score for one text (for notebooks and evaluation)."""
        ((scores, _),) = self.engine.score([text], [ctx or ScanContext()])
        return scores

    def _result(self, text: str, scores: dict[str, float], cue: Cues, started: float) -> ScanResult:
        thresholds = self.config.label_thresholds()
        checked = {label: scores[label] for label in thresholds if label in scores}
        findings = []
        for label, score in checked.items():
            if score < thresholds[label]:
                continue
            detail: dict[str, Any] = {
                "label": label,
                "threshold": thresholds[label],
                "engine": self.engine.name,
            }
            cue_name = _CUE_FOR_LABEL.get(label)
            if cue_name and cue_name in cue.spans:
                start, end = cue.spans[cue_name]
                detail["cue"] = text[start:end]
            findings.append(Finding(kind=f"toxicity.{label}", start=0, end=len(text), score=score, detail=detail))
        return ScanResult(
            scanner=self.name,
            verdict=Verdict(self.config.action) if findings else Verdict.PASS,
            score=max(checked.values(), default=0.0),
            findings=findings,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        started = time.perf_counter()
        ((scores, cue),) = self.engine.score([text], [ctx])
        return self._result(text, scores, cue, started)

    def scan_batch(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[ScanResult]:
        """One encoder call (or one detoxify forward pass) for the whole batch."""
        if not texts:
            return []
        started = time.perf_counter()
        scored = self.engine.score(texts, contexts)
        return [self._result(text, scores, cue, started) for text, (scores, cue) in zip(texts, scored, strict=True)]
