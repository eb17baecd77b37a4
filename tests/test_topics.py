"""Topics: banned and allowed topics by embedding similarity, with explanations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airisk import models
from airisk.errors import ConfigurationError
from airisk.models.encoder import CHUNKS_KEY, EMBEDDING_KEY, get_encoder, pool_chunks
from airisk.pipeline import ScannerPipeline
from airisk.scanners import get_scanner_class
from airisk.scanners.topics import (
    CONTRASTIVE_THRESHOLD,
    EXAMPLE_THRESHOLD,
    NAME_ONLY_THRESHOLD,
    Topic,
    Topics,
    builtin_topics,
    similarity_score,
)
from airisk.types import ScanContext, Verdict

COOKING = Topic(
    name="cooking",
    description="recipes, ingredients and cooking techniques",
    examples=["How long should I boil an egg?", "What's a good recipe for lasagne?", "How do I make bread rise?"],
)
TRAVEL = Topic(
    name="travel",
    examples=["Book me a flight to Rome.", "Which hotels are near the airport?", "Do I need a visa for Japan?"],
)


@pytest.fixture(scope="module", autouse=True)
def encoder_ready() -> None:
    models.resolve("minilm-l6-v2")  # `make test` prepares it; a clear error names the command otherwise


def test_registered_under_its_name() -> None:
    assert get_scanner_class("topics") is Topics


def test_plain_names_work_and_known_names_get_builtin_examples() -> None:
    scanner = Topics(banned=["weapons", "medical advice", "underwater basket weaving"])
    weapons, medical, unknown = scanner.config.banned
    assert weapons.examples == builtin_topics()["weapons"].examples
    assert medical.description
    assert unknown.examples == [] and unknown.similarity_threshold() == NAME_ONLY_THRESHOLD
    assert any("underwater basket weaving" in sentence for sentence in unknown.sentences())


def test_description_parts_become_prototypes() -> None:
    assert "recipes" in COOKING.sentences() and "ingredients and cooking techniques" in COOKING.sentences()
    assert COOKING.similarity_threshold() == EXAMPLE_THRESHOLD
    assert COOKING.similarity_threshold(contrastive=True) == CONTRASTIVE_THRESHOLD
    assert Topic(name="x", examples=["a"], threshold=0.7).similarity_threshold() == 0.7


def test_needs_a_topic_and_unique_names() -> None:
    with pytest.raises(ConfigurationError, match="at least one"):
        Topics()
    with pytest.raises(ConfigurationError, match="unique"):
        Topics(banned=["weapons"], allowed=["weapons"])
    with pytest.raises(ConfigurationError):
        Topics(banned=["weapons"], action="redact")


def test_banned_topic_blocks_and_explains() -> None:
    scanner = Topics(banned=[COOKING, "weapons"])
    result = scanner.scan("What temperature should I roast a chicken at?", ScanContext())
    assert result.verdict is Verdict.BLOCK
    finding = result.findings[0]
    assert finding.kind == "topic.banned"
    assert finding.detail["topic"] == "cooking"
    assert finding.detail["similarity"] >= finding.detail["threshold"]
    assert finding.detail["nearest_example"] in COOKING.sentences()
    assert result.score == pytest.approx(finding.score)


def test_unrelated_message_passes() -> None:
    scanner = Topics(banned=[COOKING, "weapons"])
    result = scanner.scan("Please reset my VPN password.", ScanContext())
    assert result.verdict is Verdict.PASS and not result.findings
    assert result.score < 0.5


def test_builtin_topic_by_name() -> None:
    scanner = Topics(banned=["weapons"], action="flag")
    assert scanner.scan("Where can I buy a rifle without a licence?", ScanContext()).verdict is Verdict.FLAG
    assert scanner.scan("What's the weather in Paris tomorrow?", ScanContext()).verdict is Verdict.PASS


def test_allowed_topics_flag_off_topic_messages() -> None:
    scanner = Topics(allowed=[TRAVEL])
    on_topic = scanner.scan("Can you find me a cheap flight to Lisbon?", ScanContext())
    assert on_topic.verdict is Verdict.PASS
    off = scanner.scan("Write a poem about my cat.", ScanContext())
    assert off.verdict is Verdict.BLOCK
    assert off.findings[0].kind == "topic.off_topic"
    assert off.findings[0].detail["closest_allowed_topic"] == "travel"


def test_allowed_topics_sharpen_banned_ones_without_off_topic_flags() -> None:
    scanner = Topics(banned=[COOKING], allowed=[TRAVEL], flag_off_topic=False)
    assert scanner.scan("Write a poem about my cat.", ScanContext()).verdict is Verdict.PASS
    assert scanner.scan("Book a table and a flight to Rome for me.", ScanContext()).verdict is Verdict.PASS
    assert scanner.scan("How much salt goes into pizza dough?", ScanContext()).verdict is Verdict.BLOCK


def test_topic_similarities_for_tuning() -> None:
    scanner = Topics(banned=[COOKING], allowed=[TRAVEL])
    sims = scanner.topic_similarities("How do I bake a chocolate cake?")
    assert set(sims) == {"cooking", "travel"}
    assert sims["cooking"] > sims["travel"]


def test_uses_the_shared_embedding() -> None:
    """A planted embedding decides the verdict: the scanner does not compute its own."""
    scanner = Topics(banned=[COOKING])
    ctx = ScanContext()
    chunks = get_encoder().encode_chunks("What's a good recipe for lasagne?")
    ctx.shared.put(CHUNKS_KEY, chunks)
    ctx.shared.put(EMBEDDING_KEY, pool_chunks(chunks))
    assert scanner.scan("Reset my VPN password.", ctx).verdict is Verdict.BLOCK
    fresh = ScanContext()
    scanner.scan("Reset my VPN password.", fresh)
    assert CHUNKS_KEY in fresh.shared


def test_topic_in_one_paragraph_of_a_long_message_is_caught() -> None:
    scanner = Topics(banned=[COOKING])
    filler = " ".join(f"Section {i}: the VPN client must be updated before the firewall change." for i in range(40))
    text = filler + (
        " Also, a cooking question. How long should I knead bread dough and at what temperature do I bake it?"
        " What's the best flour for pizza? How much salt goes into the dough? How do I make a sourdough starter?"
        " Can I replace butter with olive oil in a cake recipe? How long do I roast a chicken?"
    )
    assert len(get_encoder().encode_chunks(text)) >= 3
    assert scanner.scan(filler, ScanContext()).verdict is Verdict.PASS
    result = scanner.scan(text, ScanContext())
    assert result.verdict is Verdict.BLOCK
    assert result.findings[0].detail["nearest_example"] in COOKING.sentences()


def test_batch_matches_single_and_pipeline() -> None:
    scanner = Topics(banned=[COOKING])
    texts = ["How do I make risotto?", "Reset my VPN password.", "Best way to caramelise onions?"]
    batch = scanner.scan_batch(texts, [ScanContext() for _ in texts])
    single = [scanner.scan(text, ScanContext()) for text in texts]
    assert [r.verdict for r in batch] == [r.verdict for r in single] == [Verdict.BLOCK, Verdict.PASS, Verdict.BLOCK]
    reports = ScannerPipeline(input=[scanner]).scan_many(texts)
    assert [r.verdict for r in reports] == [Verdict.BLOCK, Verdict.PASS, Verdict.BLOCK]


def test_policy_round_trip_keeps_topics() -> None:
    scanner = Topics(banned=[COOKING, "weapons"])
    rebuilt = Topics(**scanner.settings())
    assert [t.name for t in rebuilt.config.banned] == ["cooking", "weapons"]
    assert rebuilt.config.banned[0].examples == COOKING.examples


@given(st.floats(-1, 1), st.floats(-1, 1))
def test_score_is_half_at_threshold_and_monotonic(similarity: float, threshold: float) -> None:
    assert similarity_score(threshold, threshold) == pytest.approx(0.5)
    score = similarity_score(similarity, threshold)
    assert 0.0 <= score <= 1.0
    assert (score >= 0.5) == (similarity >= threshold) or abs(similarity - threshold) < 1e-9


def test_policy_file_with_plain_names_and_full_topics() -> None:
    policy = {
        "version": 1,
        "input": [
            {"type": "topics", "banned": ["weapons", {"name": "cooking", "examples": COOKING.examples}]},
            {"type": "toxicity", "thresholds": {"obscene": None}},
        ],
    }
    pipeline = ScannerPipeline.from_policy(policy)
    report = pipeline.scan_input("What's a good recipe for lasagne with spinach?")
    assert report.blocked
    assert report.result("topics").findings[0].detail["topic"] == "cooking"
    assert report.result("toxicity").verdict is Verdict.PASS
    rebuilt = ScannerPipeline.from_policy(pipeline.to_policy().model_dump(mode="json"))
    assert [t.name for t in rebuilt.input[0].config.banned] == ["weapons", "cooking"]
