"""Language scanner: allowed languages, confidence, short texts, sampling, shared detector."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airisk.errors import ConfigurationError, PolicyError
from airisk.pipeline import ScannerPipeline
from airisk.scanners import language as language_module
from airisk.scanners.language import DEFAULT_CANDIDATES, Language, sample_text, shared_detector
from airisk.types import ScanContext, Verdict

from shared_data import SHARED_DATA

pytest.importorskip("lingua")

CTX = ScanContext()
ENGLISH = "The weather today is lovely and I would like to go for a long walk in the park."
FRENCH = "Bonjour, je voudrais savoir pourquoi ma commande n'est pas encore arrivée chez moi."
GERMAN = "Guten Tag, ich möchte wissen, warum meine Bestellung noch nicht angekommen ist."
SWAHILI = "Habari yako rafiki yangu, karibu sana nyumbani kwetu leo jioni tule chakula pamoja."
MIXED = "Hello my friend, comment ça va aujourd'hui mon ami? Das ist gut, danke schön."
DATA = SHARED_DATA / "language" / "lingua_sentences_200.jsonl"


def test_allowed_language_passes_and_others_are_blocked() -> None:
    scanner = Language(allowed=["en"])
    assert scanner.scan(ENGLISH, CTX).verdict is Verdict.PASS
    result = scanner.scan(FRENCH, CTX)
    assert result.verdict is Verdict.BLOCK
    (finding,) = result.findings
    assert finding.kind == "language_not_allowed"
    assert (finding.start, finding.end) == (0, len(FRENCH))
    assert finding.detail["language"] == "fr"
    assert finding.detail["confidence"] > 0.9
    assert finding.detail["allowed"] == ["en"]
    assert len(finding.detail["alternatives"]) <= 3
    assert all(set(alt) == {"language", "confidence"} for alt in finding.detail["alternatives"])
    assert "commande" not in json.dumps(finding.detail)


def test_several_allowed_languages_and_flag_action() -> None:
    scanner = Language(allowed=["en", "FR"], action="flag")
    assert scanner.scan(FRENCH, CTX).verdict is Verdict.PASS
    assert scanner.scan(GERMAN, CTX).verdict is Verdict.FLAG


def test_short_texts_follow_the_short_text_policy() -> None:
    assert Language(allowed=["fr"]).scan("ok", CTX).verdict is Verdict.PASS
    flagged = Language(allowed=["fr"], short_text="flag").scan("ok thanks", CTX)
    assert flagged.verdict is Verdict.FLAG
    assert flagged.findings[0].kind == "language_text_too_short"
    digits = Language(allowed=["fr"], short_text="flag").scan(
        "4111 1111 1111 1111 !!! 😀😀😀😀😀😀😀😀😀😀😀😀😀😀", CTX
    )
    assert digits.verdict is Verdict.FLAG
    assert digits.findings[0].kind == "language_text_too_short"
    assert Language(allowed=["fr"], short_text="block").scan("ok", CTX).verdict is Verdict.BLOCK
    # an empty message (a file sent on its own) has no language to judge
    assert Language(allowed=["fr"], short_text="block").scan(" \n", CTX).verdict is Verdict.PASS


def test_low_confidence_detections_follow_the_uncertain_policy() -> None:
    strict = Language(allowed=["ja"], min_confidence=0.99999)
    result = strict.scan(MIXED, CTX)
    assert result.verdict is Verdict.FLAG
    assert result.findings[0].kind == "language_uncertain"
    assert Language(allowed=["ja"], min_confidence=0.99999, uncertain="pass").scan(MIXED, CTX).verdict is Verdict.PASS
    assert Language(allowed=["ja"], min_confidence=0.99999, uncertain="block").scan(MIXED, CTX).verdict is Verdict.BLOCK


def test_a_script_no_candidate_uses_is_not_let_through() -> None:
    amharic = "ሰላም እንዴት ነህ ዛሬ ጥሩ ቀን ነው ወደ ገበያ እንሂድ"
    result = Language(allowed=["en"]).scan(amharic, CTX)
    assert result.verdict is Verdict.BLOCK
    assert result.findings[0].kind == "language_not_allowed"
    assert result.findings[0].detail["language"] is None
    assert result.findings[0].detail["reason"] == "not one of the candidate languages"


def test_alternatives_never_list_zero_confidences() -> None:
    (finding,) = Language(allowed=["en"]).scan(GERMAN, CTX).findings
    assert all(alt["confidence"] > 0 for alt in finding.detail["alternatives"])


def test_allowed_languages_join_the_candidates() -> None:
    assert Language(allowed=["en"]).detect(SWAHILI)[0][0] != "sw"  # Swahili is not a default candidate
    scanner = Language(allowed=["sw"])
    assert scanner.detect(SWAHILI)[0][0] == "sw"
    assert scanner.scan(SWAHILI, CTX).verdict is Verdict.PASS
    narrow = Language(allowed=["en"], candidates=["en", "fr"])
    assert {code for code, _ in narrow.detect(GERMAN)} == {"en", "fr"}


def test_codes_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="ISO 639-1"):
        Language(allowed=["english"])
    with pytest.raises(ConfigurationError):
        Language(allowed=[])
    with pytest.raises(ConfigurationError, match="ISO 639-1"):
        Language(candidates=["xx"])
    with pytest.raises(PolicyError):
        Language(action="redact")
    assert set(DEFAULT_CANDIDATES) <= language_module.SUPPORTED


def test_detector_is_shared_across_instances_and_threads() -> None:
    first, second = Language(allowed=["en"]), Language(allowed=["en"], action="flag")
    assert shared_detector(first._codes) is shared_detector(second._codes)
    verdicts: list[Verdict] = []

    def work(scanner: Language, text: str) -> None:
        for _ in range(50):
            verdicts.append(scanner.scan(text, CTX).verdict)

    threads = [threading.Thread(target=work, args=(s, t)) for s in (first, second) for t in (ENGLISH, GERMAN)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted({v.value for v in verdicts}) == ["block", "flag", "pass"]
    assert len(verdicts) == 200


def test_sample_covers_start_middle_and_end_within_limit() -> None:
    text = "start " + "filler words here " * 2000 + " middle " + "more filler text " * 2000 + " the end"
    sample = sample_text(text, 300)
    assert len(sample) <= 300
    assert sample.startswith("start") and sample.endswith("the end")
    assert sample_text("short", 300) == "short"


def test_long_text_is_judged_on_a_bounded_sample() -> None:
    long_english = (ENGLISH + " ") * 2000
    result = Language(allowed=["fr"]).scan(long_english, CTX)
    assert result.verdict is Verdict.BLOCK
    assert result.findings[0].detail["sampled"] is True
    assert result.findings[0].end == len(long_english)


def test_module_import_does_not_load_lingua() -> None:
    src = str(Path(language_module.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = "import airisk.scanners.language, sys; print('lingua' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not DATA.is_file(), reason="shared language sample not present")
def test_accuracy_on_default_candidates_is_high() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    per_language: dict[str, int] = {}
    sample = []
    for row in rows:
        if row["lang"] in DEFAULT_CANDIDATES and per_language.get(row["lang"], 0) < 20:
            per_language[row["lang"]] = per_language.get(row["lang"], 0) + 1
            sample.append(row)
    scanner = Language()
    correct = sum(scanner.detect(row["text"])[0][0] == row["lang"] for row in sample)
    assert correct / len(sample) > 0.9


def test_inside_a_pipeline() -> None:
    pipeline = ScannerPipeline(input=[Language(allowed=["en", "fr"])])
    assert pipeline.scan_input(FRENCH, user="marie").verdict is Verdict.PASS
    report = pipeline.scan_input(GERMAN, ScanContext(user="hans"))
    assert report.blocked and report.findings[0].detail["language"] == "de"
    assert report.sanitized_text == GERMAN


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_property_spans_fit_and_pass_leaves_text_alone(text: str) -> None:
    result = Language(allowed=["en"], short_text="flag").scan(text, CTX)
    assert result.sanitized_text is None
    assert (result.verdict is Verdict.PASS) == (not result.findings)
    for finding in result.findings:
        assert 0 <= finding.start <= finding.end <= len(text)
