"""Language detection: refuse or flag messages that are not in an allowed language.

Uses lingua (the ``language`` extra), which ships its own n-gram models and needs no
network. A detector is built once per (candidate languages, accuracy) and shared by every
scanner instance and thread. By default it distinguishes 25 widely used languages in
lingua's low-accuracy mode (trigram models only, about 50 MB resident, all preloaded);
high-accuracy mode adds 1- to 5-gram models, helps on short texts, and costs roughly
ten times the memory (see docs/scanners/language.md for the measurements).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal

from pydantic import Field, field_validator

from airisk.errors import MissingDependencyError
from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult, Verdict

Policy = Literal["pass", "flag", "block"]

#: The ISO 639-1 codes lingua can detect.
SUPPORTED = frozenset(
    {
        "af", "ar", "az", "be", "bg", "bn", "bs", "ca", "cs", "cy", "da", "de", "el", "en", "eo", "es", "et", "eu",
        "fa", "fi", "fr", "ga", "gu", "he", "hi", "hr", "hu", "hy", "id", "is", "it", "ja", "ka", "kk", "ko", "la",
        "lg", "lt", "lv", "mi", "mk", "mn", "mr", "ms", "nb", "nl", "nn", "pa", "pl", "pt", "ro", "ru", "sk", "sl",
        "sn", "so", "sq", "sr", "st", "sv", "sw", "ta", "te", "th", "tl", "tn", "tr", "ts", "uk", "ur", "vi", "xh",
        "yo", "zh", "zu",
    }
)  # fmt: skip
#: Languages told apart by default: the most used languages of business traffic in Europe,
#: the Americas and Asia. Allowed languages are always added to the candidates.
DEFAULT_CANDIDATES = (
    "en", "fr", "de", "es", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar", "zh",
    "ja", "ko", "hi", "sv", "da", "nb", "fi", "cs", "ro", "hu", "el", "he",
)  # fmt: skip

_DETECTORS: dict[tuple[frozenset[str], str], Any] = {}
_DETECTORS_LOCK = threading.Lock()


def _iso_codes(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    codes: list[str] = []
    for item in value:
        code = str(item).strip().lower()
        if code not in SUPPORTED:
            raise ValueError(f"{item!r} is not an ISO 639-1 code lingua detects")
        if code not in codes:
            codes.append(code)
    return codes


def shared_detector(codes: frozenset[str], accuracy: str = "low") -> Any:
    """The lingua detector for these candidate languages, built once per process.

    Low-accuracy detectors preload their (small) models so no message pays for loading;
    high-accuracy detectors load models lazily, language by language, as texts need them.
    """
    key = (codes, accuracy)
    detector = _DETECTORS.get(key)
    if detector is not None:
        return detector
    with _DETECTORS_LOCK:
        detector = _DETECTORS.get(key)
        if detector is None:
            detector = _DETECTORS[key] = _build(codes, accuracy)
        return detector


def _build(codes: frozenset[str], accuracy: str) -> Any:
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:
        raise MissingDependencyError("language detection", "language", "lingua-language-detector") from None
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in sorted(codes)]
    builder = LanguageDetectorBuilder.from_languages(*languages)
    if accuracy == "low":
        builder = builder.with_low_accuracy_mode().with_preloaded_language_models()
    return builder.build()


def sample_text(text: str, limit: int) -> str:
    """At most ``limit`` characters: the text itself, or three windows (start, middle, end)
    cut at spaces, so a long message is judged on all of its parts in bounded time."""
    if len(text) <= limit:
        return text
    width = max(1, limit // 3)
    windows = []
    for start in (0, (len(text) - width) // 2, len(text) - width):
        window = text[start : start + width]
        if start > 0 and " " in window:
            window = window[window.index(" ") + 1 :]
        if start + width < len(text) and " " in window:
            window = window[: window.rindex(" ")]
        windows.append(window)
    return "\n".join(windows)


class LanguageConfig(ScannerConfig):
    """Settings of :class:`Language`."""

    allowed: list[str] = Field(default_factory=lambda: ["en"], min_length=1, description="ISO 639-1 codes")
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0, description="confidence needed to act on a detection")
    uncertain: Policy = Field(default="flag", description="a disallowed language detected below min_confidence")
    min_chars: int = Field(default=20, ge=0, description="texts with fewer letters are too short to judge")
    short_text: Policy = Field(default="pass", description="what happens to texts shorter than min_chars")
    candidates: list[str] | None = Field(default=None, description="languages to tell apart; default 25 common ones")
    accuracy: Literal["low", "high"] = "low"
    sample_chars: int = Field(default=400, ge=30, description="longer texts are judged on a sample this long")
    alternatives: int = Field(default=3, ge=0, le=10, description="runners-up listed in a finding")

    @field_validator("allowed", "candidates", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return _iso_codes(value)


class Language(Scanner):
    """Refuse (or flag) messages whose language is not on the allowed list."""

    name = "language"
    Config = LanguageConfig
    inline = True
    supported_actions = ("block", "flag")
    config: LanguageConfig

    def __init__(self, config: LanguageConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        super().__init__(config, **settings)
        candidates = self.config.candidates if self.config.candidates is not None else DEFAULT_CANDIDATES
        self._codes = frozenset(candidates) | frozenset(self.config.allowed)
        self._allowed = frozenset(self.config.allowed)

    def warm_up(self) -> None:
        shared_detector(self._codes, self.config.accuracy).compute_language_confidence_values("warm up")

    def detect(self, text: str) -> list[tuple[str, float]]:
        """(ISO 639-1 code, confidence) for the candidate languages, most likely first."""
        detector = shared_detector(self._codes, self.config.accuracy)
        values = detector.compute_language_confidence_values(sample_text(text, self.config.sample_chars))
        return [(value.language.iso_code_639_1.name.lower(), float(value.value)) for value in values]

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        started = time.perf_counter()
        verdict, finding = self._judge(text)
        return ScanResult(
            scanner=self.name,
            verdict=verdict,
            score=finding.score if finding is not None and verdict is not Verdict.PASS else 0.0,
            findings=[finding] if finding is not None and verdict is not Verdict.PASS else [],
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def _judge(self, text: str) -> tuple[Verdict, Finding | None]:
        cfg = self.config
        if not text.strip():
            # Nothing written, e.g. a file sent on its own (Conversation.add_file scans ""):
            # there is no language to judge, whatever the short-text policy says.
            return Verdict.PASS, None
        sample = sample_text(text, cfg.sample_chars)
        letters = sum(char.isalpha() for char in sample)
        if letters < cfg.min_chars:
            return self._too_short(text, f"fewer than {cfg.min_chars} letters")
        ranked = self.detect(sample)
        detail: dict[str, Any] = {
            "language": None,
            "confidence": 0.0,
            "alternatives": [],
            "allowed": sorted(self._allowed),
            "sampled": len(sample) < len(text),
        }
        if not ranked or ranked[0][1] <= 0.0:
            # Plenty of letters, yet no candidate fits: a language (or script) outside the
            # candidates. Passing it would let any unlisted language through the gate.
            detail["reason"] = "not one of the candidate languages"
            finding = Finding(kind="language_not_allowed", start=0, end=len(text), score=1.0, detail=detail)
            return Verdict(cfg.action), finding
        language, confidence = ranked[0]
        if language in self._allowed:
            return Verdict.PASS, None
        detail["language"] = language
        detail["confidence"] = round(confidence, 4)
        detail["alternatives"] = [
            {"language": code, "confidence": round(value, 4)}
            for code, value in ranked[1 : 1 + cfg.alternatives]
            if round(value, 4) > 0
        ]
        score = min(1.0, confidence)
        if confidence >= cfg.min_confidence:
            finding = Finding(kind="language_not_allowed", start=0, end=len(text), score=score, detail=detail)
            return Verdict(cfg.action), finding
        detail["reason"] = f"confidence below {cfg.min_confidence}"
        finding = Finding(kind="language_uncertain", start=0, end=len(text), score=score, detail=detail)
        return Verdict(cfg.uncertain), finding

    def _too_short(self, text: str, reason: str) -> tuple[Verdict, Finding]:
        detail = {"language": None, "confidence": 0.0, "reason": reason}
        finding = Finding(kind="language_text_too_short", start=0, end=len(text), score=1.0, detail=detail)
        return Verdict(self.config.short_text), finding
