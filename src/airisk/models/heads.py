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
