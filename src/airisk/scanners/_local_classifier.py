"""A larger local prompt-injection classifier (DeBERTa, Prompt Guard …) loaded only from disk.

Two formats: a transformers checkpoint directory (needs the ``detoxify``/``models-build``
style torch + transformers install) or an ONNX export (``model.onnx`` + ``tokenizer.json``
+ ``config.json`` with ``id2label``) run by onnxruntime. Nothing is ever fetched from a hub.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from airisk.errors import MissingDependencyError, ModelArtifactMissing

MAX_TOKENS = 512


class LocalClassifier:
    """Scores texts with a local sequence classifier: the summed probability of attack labels."""

    def __init__(self, path: str, attack_labels: list[str]) -> None:
        self.path = Path(path).expanduser()
        if not (self.path / "config.json").is_file():
            raise ModelArtifactMissing(f"no classifier checkpoint at {self.path} (config.json missing)")
        config = json.loads((self.path / "config.json").read_text())
        id2label = {int(k): str(v) for k, v in config.get("id2label", {0: "LABEL_0", 1: "LABEL_1"}).items()}
        wanted = {label.upper() for label in attack_labels}
        self.attack_ids = [index for index, label in id2label.items() if label.upper() in wanted]
        if not self.attack_ids:
            raise ModelArtifactMissing(
                f"checkpoint labels {sorted(id2label.values())} contain none of {sorted(wanted)}; "
                "set local_injection_labels"
            )
        self._onnx = (self.path / "model.onnx").is_file()
        if self._onnx:
            self._load_onnx()
        else:
            self._load_transformers()

    def _load_onnx(self) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError("local ONNX classifier", "models", exc.name) from None
        self._tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
        self._session = onnxruntime.InferenceSession(
            str(self.path / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {item.name for item in self._session.get_inputs()}

    def _load_transformers(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise MissingDependencyError("local transformers classifier", "detoxify", exc.name) from None
        self._hf_tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        self._model = AutoModelForSequenceClassification.from_pretrained(str(self.path), local_files_only=True).eval()

    def score(self, texts: list[str]) -> list[float]:
        if not texts:
            return []
        import numpy as np

        if self._onnx:
            encodings = self._tokenizer.encode_batch(texts)
            feed: dict[str, Any] = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            (logits,) = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[:1]
        else:
            import torch

            batch = self._hf_tokenizer(texts, truncation=True, max_length=MAX_TOKENS, padding=True, return_tensors="pt")
            with torch.no_grad():
                logits = self._model(**batch).logits.numpy()
        logits = np.asarray(logits, dtype=np.float64)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        return [float(row[self.attack_ids].sum()) for row in probabilities]
