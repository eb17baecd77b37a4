"""Linear classifier heads over the shared sentence embedding, stored as small ``.npz`` files.

A head is ``sigmoid(x @ weights + bias)`` per label (multi-label) — cheap enough to run for
every message once the embedding exists. Heads are trained by scripts under ``training/``
and shipped as package data with pinned checksums (see :mod:`airisk.models`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airisk.errors import MissingDependencyError, ModelArtifactMissing

if TYPE_CHECKING:
    import numpy as np


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        raise MissingDependencyError("model heads", "models", "numpy") from None
    return numpy


def product(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``left @ right`` for a head's small products (a batch of embeddings by a few hundred
    columns), computed without BLAS.

    OpenBLAS splits a product of that size across a thread per core, and the extra threads then
    spin for a while waiting for the next one: in ``scan_many`` that took about 1.5 CPU ms of every
    prompt (a seventh of the total) from the encoder on two cores (docs/benchmarks.md, sixth
    session). numpy's einsum without path optimisation never calls BLAS; at these sizes it costs
    about 0.01 ms a message more, and it changes no process-wide setting (limiting BLAS's threads
    would).
    """
    return _numpy().einsum("...j,jk->...k", left, right, optimize=False)  # type: ignore[no-any-return]


@dataclass
class LinearHead:
    """Weights (dimension, labels), bias (labels,), label names and free-form metadata.

    ``metadata`` records how the head was trained (data, sizes, thresholds chosen on
    held-out data) so a reader of the artifact can tell where its numbers came from.
    """

    weights: np.ndarray
    bias: np.ndarray
    labels: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        np = _numpy()
        self.weights = np.asarray(self.weights, dtype=np.float32)
        if self.weights.ndim == 1:
            self.weights = self.weights[:, None]
        self.bias = np.asarray(self.bias, dtype=np.float32).reshape(-1)
        if self.weights.shape[1] != len(self.labels) or self.bias.shape[0] != len(self.labels):
            raise ValueError(
                f"head shape mismatch: weights {self.weights.shape}, bias {self.bias.shape}, {len(self.labels)} labels"
            )

    @property
    def dimension(self) -> int:
        return int(self.weights.shape[0])

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        np = _numpy()
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] != self.dimension:
            raise ValueError(f"head expects {self.dimension}-d embeddings, got {x.shape[1]}")
        return x @ self.weights + self.bias  # type: ignore[no-any-return]

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Per-label probabilities, shape (n, labels)."""
        np = _numpy()
        return 1.0 / (1.0 + np.exp(-self.logits(embeddings)))  # type: ignore[no-any-return]

    def scores(self, embedding: np.ndarray) -> dict[str, float]:
        """Probabilities of one embedding by label name."""
        probabilities = self.predict_proba(embedding)[0]
        return {label: float(p) for label, p in zip(self.labels, probabilities, strict=True)}

    def save(self, path: str | Path) -> None:
        np = _numpy()
        with open(path, "wb") as handle:
            np.savez(
                handle,
                weights=self.weights,
                bias=self.bias,
                labels=np.array(json.dumps(self.labels)),
                metadata=np.array(json.dumps(self.metadata, sort_keys=True)),
            )

    @classmethod
    def load(cls, path: str | Path) -> LinearHead:
        np = _numpy()
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    weights=data["weights"],
                    bias=data["bias"],
                    labels=list(json.loads(str(data["labels"]))),
                    metadata=dict(json.loads(str(data["metadata"]))),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ModelArtifactMissing(f"cannot read head {path}: {type(exc).__name__}: {exc}") from None


def load_head(artifact: str) -> LinearHead:
    """Resolve a registered head artifact (checksum-verified) and load it."""
    from airisk.models import resolve

    return LinearHead.load(resolve(artifact))


SEGMENT_CHARS = 1500  # n-gram features of a long text are taken per segment of about this many characters


def text_segments(text: str, size: int = SEGMENT_CHARS) -> list[str]:
    """``text`` cut at whitespace into pieces of about ``size`` characters (one piece if short)."""
    if len(text) <= size:
        return [text]
    pieces = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            end = cut if cut > start else end
        pieces.append(text[start:end])
        start = end
    return pieces


@dataclass
class HybridHead:
    """A logistic model over hashed n-grams of the text plus its MiniLM embedding.

    ``logit = ngrams(segment) @ ngram_weights + scale * (mean @ mean_weights + max @ max_weights) + bias``
    where ``mean`` is the normalised mean of the text's window embeddings and ``max`` their
    element-wise maximum. A long text is scored per segment (n-grams of the segment, the
    embedding terms of the whole text) and the maximum is taken, so one injected paragraph
    in a long document is not diluted.
    """

    ngram_weights: np.ndarray
    mean_weights: np.ndarray
    max_weights: np.ndarray
    bias: float
    embedding_scale: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        np = _numpy()
        self.ngram_weights = np.asarray(self.ngram_weights, dtype=np.float32).reshape(-1, 1)
        self.mean_weights = np.asarray(self.mean_weights, dtype=np.float32).reshape(-1)
        self.max_weights = np.asarray(self.max_weights, dtype=np.float32).reshape(-1)
        if self.mean_weights.shape != self.max_weights.shape:
            raise ValueError("mean and max weights must have the same shape")

    @property
    def dimension(self) -> int:
        """Embedding dimension the head expects."""
        return int(self.mean_weights.shape[0])

    def embedding_logits(self, chunk_sets: list[np.ndarray]) -> np.ndarray:
        np = _numpy()
        from airisk.models.encoder import pool_chunks

        out = np.zeros(len(chunk_sets), dtype=np.float32)
        for index, chunks in enumerate(chunk_sets):
            if len(chunks):
                if chunks.shape[1] != self.dimension:
                    raise ValueError(f"head expects {self.dimension}-d embeddings, got {chunks.shape[1]}")
                mean = pool_chunks(chunks)
                out[index] = self.embedding_scale * (mean @ self.mean_weights + chunks.max(axis=0) @ self.max_weights)
        return out  # type: ignore[no-any-return]

    def score(self, texts: list[str], chunk_sets: list[np.ndarray]) -> list[float]:
        """Probability of an injection for each text (max over its segments)."""
        from airisk.models.ngrams import dot_many

        np = _numpy()
        embedded = self.embedding_logits(chunk_sets)
        segments = [text_segments(text) for text in texts]
        flat = [piece for pieces in segments for piece in pieces]
        ngram = dot_many(flat, self.ngram_weights, int(self.ngram_weights.shape[0]))[:, 0]
        scores = []
        cursor = 0
        for index, pieces in enumerate(segments):
            logit = float(ngram[cursor : cursor + len(pieces)].max()) + float(embedded[index]) + self.bias
            cursor += len(pieces)
            scores.append(float(1.0 / (1.0 + np.exp(-logit))))
        return scores

    def save(self, path: str | Path) -> None:
        np = _numpy()
        with open(path, "wb") as handle:
            np.savez_compressed(
                handle,
                kind=np.array("hybrid"),
                ngram_weights=self.ngram_weights.reshape(-1).astype(np.float16),
                mean_weights=self.mean_weights,
                max_weights=self.max_weights,
                bias=np.array([self.bias], dtype=np.float32),
                embedding_scale=np.array([self.embedding_scale], dtype=np.float32),
                metadata=np.array(json.dumps(self.metadata, sort_keys=True)),
            )

    @classmethod
    def load(cls, path: str | Path) -> HybridHead:
        np = _numpy()
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    ngram_weights=data["ngram_weights"].astype(np.float32),
                    mean_weights=data["mean_weights"],
                    max_weights=data["max_weights"],
                    bias=float(data["bias"][0]),
                    embedding_scale=float(data["embedding_scale"][0]),
                    metadata=dict(json.loads(str(data["metadata"]))),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ModelArtifactMissing(f"cannot read head {path}: {type(exc).__name__}: {exc}") from None


def load_any_head(path: str | Path) -> LinearHead | HybridHead:
    """A head file of either kind (hybrid heads carry ``kind='hybrid'``)."""
    np = _numpy()
    try:
        with np.load(path, allow_pickle=False) as data:
            kind = str(data["kind"]) if "kind" in data.files else "linear"
    except (OSError, ValueError) as exc:
        raise ModelArtifactMissing(f"cannot read head {path}: {type(exc).__name__}: {exc}") from None
    return HybridHead.load(path) if kind == "hybrid" else LinearHead.load(path)
