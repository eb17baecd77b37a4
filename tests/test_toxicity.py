"""Toxicity: configuration, cues, the default engine on the functional suite, and detoxify offline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airisk import models
from airisk.errors import ConfigurationError, ModelArtifactMissing
from airisk.models.encoder import CHUNKS_KEY, EMBEDDING_KEY, get_encoder, pool_chunks
from airisk.pipeline import ScannerPipeline
from airisk.scanners import get_scanner_class
from airisk.scanners.toxicity import LABELS, Toxicity, ToxicityConfig, derive_labels
from airisk.scanners.toxicity_cues import CUE_NAMES, cues
from airisk.types import ScanContext, Verdict

from shared_data import SHARED_DATA
from support import process_encoder

CLINC = SHARED_DATA / "topics" / "clinc150_trainval.jsonl"
FUNCTIONAL = Path(__file__).parent / "data" / "toxicity_functional.jsonl"
HANDWRITTEN = Path(__file__).parents[1] / "training" / "data" / "toxicity_handwritten.jsonl"


@pytest.fixture(scope="module")
def scanner() -> Toxicity:
    models.resolve("minilm-l6-v2")  # `make test` prepares it; a clear error names the command otherwise
    toxicity = Toxicity()
    toxicity.warm_up()
    return toxicity


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# configuration -----------------------------------------------------------------------------


def test_registered_under_its_name() -> None:
    assert get_scanner_class("toxicity") is Toxicity


def test_obscene_is_opt_in_and_labels_can_be_switched_off() -> None:
    config = ToxicityConfig()
    assert "obscene" not in config.label_thresholds()
    assert set(config.label_thresholds()) == set(LABELS) - {"obscene"}
    config = ToxicityConfig(threshold=0.7, thresholds={"obscene": 0.9, "insult": None, "threat": 0.3})
    chosen = config.label_thresholds()
    assert chosen["obscene"] == 0.9 and chosen["threat"] == 0.3 and chosen["toxicity"] == 0.7
    assert "insult" not in chosen


def test_unknown_label_and_bad_threshold_are_clear_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown toxicity label 'rudeness'"):
        Toxicity(thresholds={"rudeness": 0.5})
    with pytest.raises(ConfigurationError, match="between 0 and 1"):
        Toxicity(thresholds={"threat": 1.5})


def test_detoxify_engine_needs_local_files() -> None:
    with pytest.raises(ConfigurationError, match="checkpoint"):
        Toxicity(engine="detoxify")


def test_redact_is_not_an_action_for_toxicity() -> None:
    with pytest.raises(ConfigurationError):
        Toxicity(action="redact")


# lexical cues and derived labels -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("I will stab you tonight", "threat"),
        ("those people should be lined up and shot", "threat"),
        ("kill yourself", "threat"),
        ("you are a worthless idiot", "second_person_insult"),
        ("immigrants are vermin", "group_dehumanising"),
        ('he wrote "go back to your country" under my post', "quoted"),
        ("fuck, the bus is late", "profanity_untargeted"),
        ("women are not inferior", "negation"),
    ],
)
def test_cues_fire(text: str, cue: str) -> None:
    assert cues(text)[cue] > 0


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("I will send you the report tonight", "threat"),
        ("you are a great colleague", "second_person_insult"),
        ("immigrants are welcome here", "group_dehumanising"),
        ("fuck you", "profanity_untargeted"),
    ],
)
def test_cues_stay_quiet(text: str, cue: str) -> None:
    assert cues(text)[cue] == 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.floats(0, 1), st.floats(0, 1))
def test_derived_labels_are_probabilities_and_follow_toxicity(text: str, toxicity: float, identity: float) -> None:
    cue = cues(text)
    assert len(cue.values) == len(CUE_NAMES) and all(0.0 <= v <= 1.0 for v in cue.values)
    labels = derive_labels(toxicity, identity, cue)
    assert set(labels) == set(LABELS)
    assert all(0.0 <= value <= 1.0 for value in labels.values())
    for label in ("severe_toxicity", "threat", "insult", "sexual_explicit"):
        assert labels[label] <= toxicity + 1e-9


# the default engine -------------------------------------------------------------------------


def test_functional_suite_is_not_training_data() -> None:
    suite = {row["text"].strip().lower() for row in read_jsonl(FUNCTIONAL)}
    training = {row["text"].strip().lower() for row in read_jsonl(HANDWRITTEN)}
    assert not suite & training


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_functional_suite_far_from_chance(scanner: Toxicity, precision: str) -> None:
    """Balanced accuracy and per-category behaviour on the hand-built functional suite, with the
    default int8 encoder and its head, and with the fp32 encoder and the head trained on it.

    docs/scanners/toxicity.md reports the exact figures; these bounds sit a little below them
    so that a regression towards "swear word = toxic" (about 0.55 here) fails.
    """
    if precision != scanner_precision(scanner):
        with process_encoder(precision):
            other = Toxicity()
            other.warm_up()
            check_functional_suite(other)
    else:
        check_functional_suite(scanner)


def scanner_precision(scanner: Toxicity) -> str:
    scanner.warm_up()
    return get_encoder().precision


def check_functional_suite(scanner: Toxicity) -> None:
    rows = read_jsonl(FUNCTIONAL)
    texts = [row["text"] for row in rows]
    results = scanner.scan_batch(texts, [ScanContext() for _ in texts])
    predicted = np.array([result.verdict is Verdict.BLOCK for result in results])
    labels = np.array([row["label"] == 1 for row in rows])
    recall = predicted[labels].mean()
    specificity = (~predicted[~labels]).mean()
    balanced_accuracy = (recall + specificity) / 2
    assert balanced_accuracy >= 0.78, balanced_accuracy
    by_category: dict[str, list[bool]] = {}
    for row, hit in zip(rows, predicted, strict=True):
        by_category.setdefault(row["category"], []).append(bool(hit) == (row["label"] == 1))
    accuracy = {category: float(np.mean(hits)) for category, hits in by_category.items()}
    # measured (fp32 / int8): counter-speech 0.80 / 0.76, quotes 0.65 / 0.65, profanity 0.85 / 0.85, neutral
    # 0.80 / 0.90, negation 0.65 / 0.65 (the weak spot).
    # Neutral group mentions fell from 1.00 to 0.80 (2 of 10) when the CLINC150 requests, which never mention
    # a group, became negatives; the floor follows, so one more blocked neutral sentence fails.
    for category in ("counter_speech", "quote_condemn", "untargeted_profanity"):
        assert accuracy[category] >= 0.65, (category, accuracy)
    assert accuracy["neutral_identity"] >= 0.8, accuracy
    for category in ("threat", "dehumanisation", "targeted_insult"):
        assert accuracy[category] >= 0.8, (category, accuracy)


def test_ordinary_assistant_requests_are_not_blocked(scanner: Toxicity) -> None:
    """False positives on benign requests: every 10th CLINC150 validation sentence (300, all ten domains).

    The head is trained on CLINC150's "train" rows only; the "val" rows are never trained on. Before
    those negatives were added 5.8 % of the val rows were blocked ("how do i make pie crust",
    "absolutely not"); docs/scanners/toxicity.md has today's figure.
    """
    if not CLINC.is_file():
        pytest.skip(f"CLINC150 not found at {CLINC} (set AIRISK_SHARED_DATA to the shared data folder)")
    val = [row["text"] for row in read_jsonl(CLINC) if row["split"] == "val"]
    sample = val[::10]
    assert len(sample) == 300
    results = scanner.scan_batch(sample, [ScanContext() for _ in sample])
    blocked = [text for text, result in zip(sample, results, strict=True) if result.verdict is not Verdict.PASS]
    assert len(blocked) / len(sample) <= 0.03, blocked


def test_threat_blocks_with_labels_and_cue(scanner: Toxicity) -> None:
    text = "I know where you live and I will break your legs tonight."
    result = scanner.scan(text, ScanContext())
    assert result.verdict is Verdict.BLOCK
    kinds = {finding.kind for finding in result.findings}
    assert {"toxicity.toxicity", "toxicity.threat"} <= kinds
    threat = next(f for f in result.findings if f.kind == "toxicity.threat")
    assert threat.detail["engine"] == "default" and threat.detail["cue"]
    assert (threat.start, threat.end) == (0, len(text))


def test_benign_and_untargeted_profanity_pass(scanner: Toxicity) -> None:
    for text in ["Could you send me the quarterly report?", "Damn, the coffee machine is broken again."]:
        assert scanner.scan(text, ScanContext()).verdict is Verdict.PASS, text


def test_obscene_label_catches_profanity_when_asked(scanner: Toxicity) -> None:
    strict = Toxicity(thresholds={"obscene": 0.5})
    result = strict.scan("Damn, the coffee machine is broken again.", ScanContext())
    assert [f.kind for f in result.findings] == ["toxicity.obscene"]


def test_flag_action(scanner: Toxicity) -> None:
    flagging = Toxicity(action="flag")
    assert flagging.scan("You are a pathetic worthless moron.", ScanContext()).verdict is Verdict.FLAG


def test_reuses_the_shared_embedding(scanner: Toxicity) -> None:
    """The scanner reads the message's embedding from ctx.shared instead of computing its own.

    The benign text has the toxic one's cues (first and second person, no threat word), so the
    planted embedding is what moves the score.
    """
    benign, toxic = "I will call you and your whole family.", "I will kill you and your whole family."
    ctx = ScanContext()
    chunks = get_encoder().encode_chunks(toxic)
    ctx.shared.put(CHUNKS_KEY, chunks)
    ctx.shared.put(EMBEDDING_KEY, pool_chunks(chunks))
    planted = scanner.label_scores(benign, ctx)["toxicity"]
    honest = scanner.label_scores(benign, ScanContext())["toxicity"]
    assert planted > honest + 0.2
    fresh = ScanContext()
    scanner.scan(benign, fresh)
    assert CHUNKS_KEY in fresh.shared
    scanner.scan_batch([benign, toxic], [fresh, ScanContext()])
    assert EMBEDDING_KEY in fresh.shared


def test_abuse_in_one_window_of_a_long_message_is_caught(scanner: Toxicity) -> None:
    filler = " ".join(
        f"Paragraph {i}: the quarterly logistics review covers courier hand-over times and warehouse shifts."
        for i in range(40)
    )
    threat = (
        " And now listen to me. I know where you live. I will come to your house tonight and I will kill you."
        " I will break your legs and burn your car, you worthless piece of garbage. You are dead, watch your back."
        " Nobody will find you when I am done with you, you pathetic rat."
    )
    text = filler + threat
    assert len(get_encoder().encode_chunks(text)) >= 3
    assert scanner.scan(filler, ScanContext()).verdict is Verdict.PASS
    assert scanner.scan(text, ScanContext()).verdict is Verdict.BLOCK


def test_batch_matches_single_scans(scanner: Toxicity) -> None:
    texts = ["You absolute clown.", "Lovely weather today.", "Refugees are parasites.", "Shit, I forgot my keys."]
    batch = scanner.scan_batch(texts, [ScanContext() for _ in texts])
    single = [scanner.scan(text, ScanContext()) for text in texts]
    for one, other in zip(batch, single, strict=True):
        assert one.verdict is other.verdict
        assert one.score == pytest.approx(other.score, abs=1e-4)


def test_pipeline_scan_many_and_single_agree(scanner: Toxicity) -> None:
    pipeline = ScannerPipeline(input=[scanner])
    texts = ["Shut up, you stupid bitch.", "Thanks for your help yesterday!"]
    many = pipeline.scan_many(texts)
    assert [r.verdict for r in many] == [Verdict.BLOCK, Verdict.PASS]
    assert pipeline.scan_input(texts[0]).blocked


def test_wrong_head_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "head.npz"
    np.savez(bad, labels=np.array(["toxicity", "identity_attack"]), cue_names=np.array(["other"]))
    with pytest.raises(ModelArtifactMissing, match="train_toxicity"):
        Toxicity(head=str(bad)).label_scores("hello")


# the detoxify engine, offline, with a tiny checkpoint built here ------------------------------


@pytest.fixture(scope="module")
def tiny_detoxify(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A randomly initialised two-layer BERT saved in detoxify's checkpoint format, plus its config folder."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("detoxify")
    config_dir = root / "bert-tiny"
    config_dir.mkdir()
    words = ["you", "are", "a", "stupid", "idiot", "hello", "world", "kill", "i", "will"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (config_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    classes = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
        num_labels=len(classes),
    )
    config.save_pretrained(config_dir)
    transformers.BertTokenizer(str(config_dir / "vocab.txt")).save_pretrained(config_dir)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    checkpoint = {
        "config": {
            "arch": {
                "args": {
                    "model_type": "bert-base-uncased",
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizer",
                    "num_classes": len(classes),
                }
            },
            "dataset": {"args": {"classes": classes}},
        },
        "state_dict": model.state_dict(),
    }
    path = root / "tiny.ckpt"
    torch.save(checkpoint, path)
    # the same weights naming the local folder instead of a hub id, for the detoxify package's own loader
    checkpoint["config"]["arch"]["args"]["model_type"] = str(config_dir)
    torch.save(checkpoint, root / "tiny-local.ckpt")
    return path, config_dir


def test_detoxify_checkpoint_loads_and_scores_offline(
    tiny_detoxify: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    checkpoint, config_dir = tiny_detoxify
    scanner = Toxicity(engine="detoxify", checkpoint=str(checkpoint), model_type=str(config_dir), threshold=0.0)
    scores = scanner.label_scores("you are a stupid idiot")
    assert set(scores) == {"toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"}
    assert all(0.0 < value < 1.0 for value in scores.values())
    result = scanner.scan("you are a stupid idiot", ScanContext())
    # threshold 0 catches every label the checkpoint has; sexual_explicit is not one of them
    assert {f.kind for f in result.findings} == {f"toxicity.{label}" for label in scores if label != "obscene"}
    assert all(f.detail["engine"] == "detoxify" for f in result.findings)


def test_detoxify_matches_the_reference_package(
    tiny_detoxify: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    detoxify = pytest.importorskip("detoxify")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    checkpoint, config_dir = tiny_detoxify
    texts = ["you are a stupid idiot", "hello world"]
    reference = detoxify.Detoxify(
        checkpoint=str(checkpoint.with_name("tiny-local.ckpt")), huggingface_config_path=str(config_dir)
    ).predict(texts)
    ours = Toxicity(engine="detoxify", checkpoint=str(checkpoint), model_type=str(config_dir)).engine
    assert isinstance(ours.predict(texts), list)
    for index, scores in enumerate(ours.predict(texts)):
        for label, value in scores.items():
            assert value == pytest.approx(reference[label][index], abs=1e-5)


def test_detoxify_long_text_scored_in_windows(tiny_detoxify: tuple[Path, Path]) -> None:
    checkpoint, config_dir = tiny_detoxify
    engine = Toxicity(engine="detoxify", checkpoint=str(checkpoint), model_type=str(config_dir)).engine
    long_text = "hello world " * 400 + "you are a stupid idiot"
    assert len(engine.windows(long_text)) > 5
    (long_scores,) = engine.predict([long_text])
    (tail_scores,) = engine.predict([engine.windows(long_text)[-1]])
    for label, value in tail_scores.items():
        assert long_scores[label] >= value - 1e-6


def test_detoxify_missing_files_are_clear_errors(tmp_path: Path, tiny_detoxify: tuple[Path, Path]) -> None:
    checkpoint, config_dir = tiny_detoxify
    with pytest.raises(ModelArtifactMissing, match="checkpoint not found"):
        Toxicity(engine="detoxify", checkpoint=str(tmp_path / "nope.ckpt"), model_type=str(config_dir)).warm_up()
    with pytest.raises(ModelArtifactMissing, match="local folder"):
        Toxicity(engine="detoxify", checkpoint=str(checkpoint), model_type="unitary/toxic-bert").warm_up()
    not_a_checkpoint = tmp_path / "plain.ckpt"
    import torch

    torch.save({"weights": torch.zeros(2)}, not_a_checkpoint)
    with pytest.raises(ModelArtifactMissing, match="not a detoxify checkpoint"):
        Toxicity(engine="detoxify", checkpoint=str(not_a_checkpoint), model_type=str(config_dir)).warm_up()
