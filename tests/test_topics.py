"""Topics: banned and allowed topics by embedding similarity, with explanations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airisk import models
from airisk.errors import ConfigurationError
from airisk.models.encoder import CHUNKS_KEY, EMBEDDING_KEY, get_encoder, pool_chunks
from airisk.pipeline import ScannerPipeline
from airisk.scanners import get_scanner_class
from airisk.scanners.topics import (
    ALLOWED_OFFSET,
    ALLOWED_SLOPE,
    CONTRASTIVE_OFFSET,
    CONTRASTIVE_SLOPE,
    CONTRASTIVE_THRESHOLD,
    EXAMPLE_THRESHOLD,
    NAME_ONLY_THRESHOLD,
    NEAREST_WEIGHT,
    SPREAD_OFFSET,
    SPREAD_SLOPE,
    TOP_K,
    Topic,
    Topics,
    _Keywords,
    _Prototypes,
    _words,
    builtin_topics,
    similarity_score,
)
from airisk.types import ScanContext, Verdict

from shared_data import SHARED_DATA

#: banking held out on every 5th CLINC150 val query: see test_clinc150_banking_held_out_against_the_other_domains
F1_FLOOR = 0.84

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
    assert COOKING.similarity_threshold("banned_with_allowed") == CONTRASTIVE_THRESHOLD
    assert COOKING.similarity_threshold("allowed") == EXAMPLE_THRESHOLD  # no spread below three sentences
    assert COOKING.similarity_threshold("allowed", spread=0.5) == pytest.approx(ALLOWED_SLOPE * 0.5 + ALLOWED_OFFSET)
    assert COOKING.similarity_threshold("banned", spread=0.5) == pytest.approx(SPREAD_SLOPE * 0.5 + SPREAD_OFFSET)
    with pytest.raises(ValueError, match="unknown topic role"):
        COOKING.similarity_threshold("alowed")  # type: ignore[arg-type]
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


def test_threshold_follows_the_spread_of_the_topics_own_examples() -> None:
    """A tight topic (near-paraphrases) needs a closer match than a broad one; overrides still win."""
    tight = Topic(
        name="tight", examples=["How do I boil an egg?", "How long do I boil an egg?", "Boiling eggs: how long?"]
    )
    broad = Topic(name="broad", examples=["How do I boil an egg?", "Book a flight to Rome.", "Reset my VPN password."])
    fixed = tight.model_copy(update={"name": "fixed", "threshold": 0.9})
    prototypes = _Prototypes([tight, broad, fixed, Topic(name="underwater basket weaving")])
    tight_spread, broad_spread = prototypes.spreads[0], prototypes.spreads[1]
    assert tight_spread is not None and broad_spread is not None and tight_spread > broad_spread + 0.2
    assert prototypes.thresholds[0] == pytest.approx(SPREAD_SLOPE * tight_spread + SPREAD_OFFSET)
    assert prototypes.thresholds[0] > prototypes.thresholds[1]
    assert prototypes.thresholds[2] == pytest.approx(0.9)
    assert prototypes.thresholds[3] == pytest.approx(NAME_ONLY_THRESHOLD)
    contrastive = _Prototypes([tight], role="banned_with_allowed")
    assert contrastive.thresholds[0] == pytest.approx(CONTRASTIVE_SLOPE * tight_spread + CONTRASTIVE_OFFSET)
    assert Topic(name="x", examples=["a", "b"]).similarity_threshold(spread=None) == EXAMPLE_THRESHOLD


def test_similarity_blends_the_nearest_prototypes_with_the_centroid() -> None:
    prototypes = _Prototypes([COOKING])
    message = get_encoder().encode(["How do I bake a chocolate cake?"])
    sims = (message @ prototypes.matrix.T)[0]
    centroid = prototypes.matrix.mean(axis=0)
    centroid /= np.linalg.norm(centroid)
    expected = NEAREST_WEIGHT * np.sort(sims)[-TOP_K:].mean() + (1 - NEAREST_WEIGHT) * float(message[0] @ centroid)
    similarity, nearest = prototypes.similarities(message)
    assert similarity[0, 0] == pytest.approx(expected, abs=1e-5)
    assert int(nearest[0, 0]) == int(np.argmax(sims))


def test_mixed_prototypes_only_when_topics_compete_and_never_shown_as_examples() -> None:
    plain = _Prototypes([COOKING, TRAVEL])
    mixed = _Prototypes([COOKING, TRAVEL], augment=True)
    cooking_parts = len(COOKING.sentences()) - len(COOKING.examples)
    assert len(plain.matrix) == len(COOKING.sentences()) + len(TRAVEL.sentences())
    # cooking: one mix per description part + 3 example pairs; travel (no description): 3 pairs
    assert len(mixed.matrix) == len(plain.matrix) + cooking_parts + 3 + 3
    assert mixed.spreads == plain.spreads
    scanner = Topics(banned=[COOKING], allowed=[TRAVEL], flag_off_topic=False)
    assert scanner._prototypes()[0] is not None and len(scanner._prototypes()[0].matrix) > len(COOKING.sentences())
    assert len(_banned_matrix(Topics(banned=[COOKING]))) == len(COOKING.sentences())
    for text in ("How do I bake a chocolate cake?", "What's the best pasta sauce?", "Is sourdough hard to make?"):
        result = scanner.scan(text, ScanContext())
        assert result.verdict is Verdict.BLOCK, text
        assert result.findings[0].detail["nearest_example"] in COOKING.sentences()


def _banned_matrix(scanner: Topics) -> np.ndarray:
    banned, _ = scanner._prototypes()
    assert banned is not None
    return banned.matrix


def test_keyword_bonus_weights_words_few_topics_share() -> None:
    keywords = _Keywords([COOKING, TRAVEL, Topic(name="banking", examples=["What's my bank balance?"])])
    assert keywords.idf["lasagne"] > 0
    scores = keywords.scores(["lasagne and visa", "how do I do it?", ""])
    assert scores[0, 0] > 0 and scores[0, 1] > 0 and scores[0, 2] == 0
    assert not scores[1:].any()  # stop words only, or nothing
    assert _words("Flights, FLIGHTS and hotels!") == {"flight", "hotel"}


def test_keyword_bonus_tips_a_close_call_towards_the_topic_that_shares_the_word() -> None:
    """Only with allowed topics: the bonus is added to both sides before the contrast."""
    pto = Topic(
        name="time off",
        examples=["How many vacation days do I have left?", "Can I take Friday off?"],
        description="pto balance, pto request",
    )
    payroll = Topic(
        name="payroll",
        examples=["When is payday?", "Why is my salary lower this month?"],
        description="paycheck, direct deposit",
    )
    scanner = Topics(banned=[pto], allowed=[payroll], flag_off_topic=False)
    with_bonus = scanner.scan("what's my pto", ScanContext())
    sims = scanner.topic_similarities("what's my pto")
    assert with_bonus.verdict is Verdict.BLOCK
    assert with_bonus.findings[0].detail["similarity"] > sims["time off"]


CLINC = SHARED_DATA / "topics" / "clinc150_trainval.jsonl"


def _clinc_topics(rows: list[dict]) -> dict[str, Topic]:
    """Per domain: the first train example of 10 of its intents, all its intents as a description."""
    topics = {}
    for domain in sorted({r["domain"] for r in rows} - {"out_of_scope"}):
        train = [r for r in rows if r["domain"] == domain and r["split"] == "train"]
        intents = sorted({r["intent"] for r in train})
        examples = [next(r["text"] for r in train if r["intent"] == intent) for intent in intents[:10]]
        description = ", ".join(intent.replace("_", " ") for intent in intents)
        topics[domain] = Topic(name=domain, description=description, examples=examples)
    return topics


def _clinc_rows() -> list[dict]:
    if not CLINC.is_file():
        pytest.skip(f"CLINC150 not found at {CLINC} (set AIRISK_SHARED_DATA to the shared data folder)")
    return [json.loads(line) for line in CLINC.read_text(encoding="utf-8").splitlines()]


def test_clinc150_off_topic_with_every_domain_allowed() -> None:
    """Every 5th CLINC150 val query (620; the off-topic rule was tuned on train). With all ten
    domains allowed, in-scope queries must rarely be called off topic (0.2 % on the whole val
    split today; 24 % with the banned-topic threshold this check used before) while out-of-scope
    ones are still caught (31 % today). Floors catch a broken calibration, not noise."""
    rows = _clinc_rows()
    scanner = Topics(allowed=list(_clinc_topics(rows).values()))
    sample = [r for r in rows if r["split"] in ("val", "oos_val")][::5]
    results = scanner.scan_batch([r["text"] for r in sample], [ScanContext() for _ in sample])
    outside = np.array([r["domain"] == "out_of_scope" for r in sample])
    flagged = np.array([any(f.kind == "topic.off_topic" for f in result.findings) for result in results])
    assert flagged[~outside].mean() <= 0.03, flagged[~outside].mean()
    assert flagged[outside].mean() >= 0.15, flagged[outside].mean()


def test_clinc150_banking_held_out_against_the_other_domains() -> None:
    """Every 5th CLINC150 val query (620, never tuned on); banking banned with the first train example of
    10 of its intents plus all its intents as a description, the other 9 domains allowed the same way.
    F1 0.872 today (0.855 with the rule before per-topic spreads, mixed prototypes and the word bonus);
    the floor catches a broken contrast or calibration, not noise. training/topics_clinc.py evaluates
    all ten domains."""
    rows = _clinc_rows()
    topics = _clinc_topics(rows)
    banned = topics.pop("banking")
    scanner = Topics(banned=[banned], allowed=list(topics.values()), flag_off_topic=False)
    sample = [r for r in rows if r["split"] in ("val", "oos_val")][::5]
    results = scanner.scan_batch([r["text"] for r in sample], [ScanContext() for _ in sample])
    truth = np.array([r["domain"] == "banking" for r in sample])
    predicted = np.array([result.verdict is Verdict.BLOCK for result in results])
    tp = int((truth & predicted).sum())
    f1 = 2 * tp / (truth.sum() + predicted.sum())
    assert f1 >= F1_FLOOR, f1
