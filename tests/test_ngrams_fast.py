"""The cached n-gram feature path equals the gram-by-gram definition the heads were trained on."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from airisk.models.ngrams import _reference_sparse_features, sparse_features

WORDS = st.sampled_from(["ignore", "the", "above", "Über", "naïve", "x", "ab", "DAN", "42", "a_b", "ok", "ok"])
TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(WORDS, max_size=200).map(" ".join),  # repeated words: counts far from +-1, and bucket collisions
)


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.sampled_from([1 << 16, 1 << 10, 16, 1]))
def test_sparse_features_equal_the_reference_in_value_and_order(text: str, dimension: int) -> None:
    fast = sparse_features(text, dimension)
    reference = _reference_sparse_features(text, dimension)
    assert list(fast.items()) == list(reference.items())


def test_many_repeats_use_the_logarithm_beyond_the_table() -> None:
    text = "spam " * 500 + "eggs"
    assert list(sparse_features(text).items()) == list(_reference_sparse_features(text).items())
