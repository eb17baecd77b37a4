"""Shared-encoder embeddings for the training scripts, cached on disk by content hash.

Encoding the training sets takes minutes, so each script's ``embed`` reads a cache under
``build/cache``. The file name says how the vectors were made — the precision, and for int8
one window per call (batched int8 windows gave slightly different vectors, and such a cache
must not be mistaken for today's).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from airisk.models.encoder import get_encoder

CACHE = Path(__file__).resolve().parents[1] / "build" / "cache"


def embed(texts: list[str]) -> np.ndarray:
    """Embeddings of ``texts`` (n, 384) from the current encoder, computed once per content."""
    encoder = get_encoder()
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    made = "" if encoder.precision == "fp32" else f"-{encoder.precision}-w{encoder.windows_per_call}"
    cached = CACHE / f"minilm{made}-{digest}.npy"
    if cached.exists():
        return np.load(cached)
    vectors = encoder.encode(texts, batch_size=64)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(cached, vectors)
    return vectors
