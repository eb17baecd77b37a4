"""Hashed character and word n-gram features, computed with the standard library and numpy.

Why: the MiniLM sentence embedding summarises meaning but blurs the exact wording that
marks many injections ("ignore the above", "vergiss alles", "as DAN"); sparse n-gram
counts keep it. The same function runs at training time (``training/``) and at scan time,
so features match bit for bit; no scikit-learn is needed to score.

Features: lower-cased, whitespace-collapsed text; character 3- to 5-grams inside a word
padded with spaces, plus word unigrams and bigrams; each hashed (CRC-32) into ``dimension``
buckets with a sign bit, counts log-scaled (``1 + log(count)``), the vector L2-normalised.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

DEFAULT_DIMENSION = 1 << 16
CHAR_SIZES = (3, 4, 5)
MAX_CHARS = 20_000  # features read at most this many characters (the head takes the embedding for the rest)
_WORD = re.compile(r"\w+", re.UNICODE)


def _tokens(text: str) -> list[str]:
    """The n-grams of ``text``, each prefixed by its kind so char and word grams do not collide."""
    lowered = " ".join(text[:MAX_CHARS].lower().split())
    words = _WORD.findall(lowered)
    grams: list[str] = []
    for word in words:
        padded = f" {word} "
        for size in CHAR_SIZES:
            if len(padded) < size:
                continue
            grams.extend("c" + padded[i : i + size] for i in range(len(padded) - size + 1))
    grams.extend("w " + word for word in words)
    grams.extend(f"b {a} {b}" for a, b in itertools.pairwise(words))
    return grams


def _reference_sparse_features(text: str, dimension: int = DEFAULT_DIMENSION) -> dict[int, float]:
    """The definition of the features, gram by gram (slow; :func:`sparse_features` must equal it)."""
    counts: dict[int, int] = {}
    for gram in _tokens(text):
        digest = zlib.crc32(gram.encode("utf-8"))
        bucket = digest % dimension
        sign = 1 if (digest >> 31) & 1 else -1
        counts[bucket] = counts.get(bucket, 0) + sign
    values = {b: math.copysign(1.0 + math.log(abs(c)), c) for b, c in counts.items() if c}
    norm = math.sqrt(sum(v * v for v in values.values()))
    if norm == 0:
        return {}
    return {b: v / norm for b, v in values.items()}


@functools.lru_cache(maxsize=8192)
def _word_terms(word: str, dimension: int) -> tuple[tuple[int, ...], int]:
    """A word's character-gram contributions (``bucket * 2 + positive``, in gram order) and
    its unigram's; words repeat, so most are computed once per process."""

    def term(gram: str) -> int:
        digest = zlib.crc32(gram.encode("utf-8"))
        return (digest % dimension) * 2 + ((digest >> 31) & 1)

    padded = f" {word} "
    chars = tuple(
        term("c" + padded[i : i + size])
        for size in CHAR_SIZES
        if len(padded) >= size
        for i in range(len(padded) - size + 1)
    )
    return chars, term("w " + word)


_LOG_COUNTS = tuple(1.0 + math.log(n) if n else 0.0 for n in range(64))


def sparse_features(text: str, dimension: int = DEFAULT_DIMENSION) -> dict[int, float]:
    """Bucket -> value of the normalised hashed n-gram vector of ``text``.

    Equal, key order included, to :func:`_reference_sparse_features` (the same grams are
    counted in the same order; per-word hashes are cached), so trained heads score the same.
    """
    lowered = " ".join(text[:MAX_CHARS].lower().split())
    words = _WORD.findall(lowered)
    counts: dict[int, int] = {}
    get = counts.get
    unigrams = []
    for word in words:
        chars, unigram = _word_terms(word, dimension)
        unigrams.append(unigram)
        for packed in chars:
            bucket = packed >> 1
            counts[bucket] = get(bucket, 0) + (1 if packed & 1 else -1)
    for packed in unigrams:
        bucket = packed >> 1
        counts[bucket] = get(bucket, 0) + (1 if packed & 1 else -1)
    for a, b in itertools.pairwise(words):
        digest = zlib.crc32(f"b {a} {b}".encode())
        bucket = digest % dimension
        counts[bucket] = get(bucket, 0) + (1 if (digest >> 31) & 1 else -1)
    logs = _LOG_COUNTS
    values = {}
    for bucket, count in counts.items():
        if count:
            size = count if count > 0 else -count
            magnitude = logs[size] if size < 64 else 1.0 + math.log(size)
            values[bucket] = magnitude if count > 0 else -magnitude
    norm = math.sqrt(sum(v * v for v in values.values()))
    if norm == 0:
        return {}
    return {b: v / norm for b, v in values.items()}


def dot_many(texts: list[str], weights: np.ndarray, dimension: int = DEFAULT_DIMENSION) -> np.ndarray:
    """``features(texts) @ weights`` without building the dense matrix: shape (n, weights.shape[1])."""
    import numpy as np

    out = np.zeros((len(texts), weights.shape[1]), dtype=np.float32)
    for row, text in enumerate(texts):
        features = sparse_features(text, dimension)
        if features:
            index = np.fromiter(features.keys(), dtype=np.int64, count=len(features))
            value = np.fromiter(features.values(), dtype=np.float32, count=len(features))
            out[row] = value @ weights[index]
    return out


def sparse_matrix(texts: list[str], dimension: int = DEFAULT_DIMENSION) -> Any:
    """A scipy CSR matrix of the features (training only: needs scipy)."""
    import numpy as np
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for text in texts:
        features = sparse_features(text, dimension)
        indices.extend(features.keys())
        data.extend(features.values())
        indptr.append(len(indices))
    return csr_matrix(
        (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
        shape=(len(texts), dimension),
    )
