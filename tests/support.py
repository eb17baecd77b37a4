"""Small scanners used only by the core tests: they exercise the pipeline, not detection."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult


class DigitsConfig(ScannerConfig):
    min_digits: int = 4
    action: str = "redact"  # type: ignore[assignment]


class Digits(Scanner):
    """Finds runs of digits; redacts them as <NUM>."""

    name = "test_digits"
    Config = DigitsConfig

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        started = time.perf_counter()
        pattern = re.compile(rf"\d{{{self.config.min_digits},}}")  # type: ignore[attr-defined]
        findings = [
            Finding(kind="digits", start=m.start(), end=m.end(), replacement="<NUM>") for m in pattern.finditer(text)
        ]
        return self.result(text, findings, started=started)


class KeywordConfig(ScannerConfig):
    keywords: list[str] = ["forbidden"]


class Keyword(Scanner):
    """Finds keywords (case-insensitive) and applies the configured action."""

    name = "test_keyword"
    Config = KeywordConfig
    supported_actions = ("block", "flag")

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        lowered = text.lower()
        findings = []
        for word in self.config.keywords:  # type: ignore[attr-defined]
            start = lowered.find(word.lower())
            while start >= 0 and word:
                findings.append(Finding(kind="keyword", start=start, end=start + len(word), detail={"word": word}))
                start = lowered.find(word.lower(), start + 1)
        return self.result(text, findings)


class Exploding(Scanner):
    """Always raises, to show the pipeline fails closed."""

    name = "test_exploding"

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        raise RuntimeError("detector crashed")


class SleepyConfig(ScannerConfig):
    seconds: float = 0.5


class Sleepy(Scanner):
    """Sleeps in a worker thread; used for time limits and concurrency."""

    name = "test_sleepy"
    Config = SleepyConfig
    inline = False
    #: (scanner instance id, worker thread name) per finished scan; a scan that overran its
    #: limit in an earlier test may still append here, so clear it first (ids are reused once a
    #: scanner is freed) and keep only the instances you made
    calls: ClassVar[list[tuple[int, str]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        time.sleep(self.config.seconds)  # type: ignore[attr-defined]
        with self.lock:
            self.calls.append((id(self), threading.current_thread().name))
        return self.result(text, [])


class SharedCounter(Scanner):
    """Asks for the same shared work as its twins; counts how often it is computed."""

    name = "test_shared"
    inline = False
    computed: ClassVar[int] = 0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        def compute() -> int:
            with SharedCounter.lock:
                SharedCounter.computed += 1
            time.sleep(0.05)
            return len(text)

        ctx.shared.get_or_compute("length", compute)
        return self.result(text, [])


TEST_SCANNERS = {
    "test_digits": ("support", "Digits"),
    "test_keyword": ("support", "Keyword"),
    "test_exploding": ("support", "Exploding"),
    "test_sleepy": ("support", "Sleepy"),
}


class SpansConfig(ScannerConfig):
    spans: list[tuple[int, int]] = []
    action: str = "redact"  # type: ignore[assignment]
    replacement: str = "#"


class Spans(Scanner):
    """Reports fixed spans (clipped to the text); for overlap and stream-cut edge cases."""

    name = "test_spans"
    Config = SpansConfig

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        findings = [
            Finding(kind="span", start=start, end=end, replacement=self.config.replacement)  # type: ignore[attr-defined]
            for start, end in self.config.spans  # type: ignore[attr-defined]
            if end <= len(text)
        ]
        return self.result(text, findings)


class PatternConfig(ScannerConfig):
    patterns: list[str] = []
    action: str = "redact"  # type: ignore[assignment]


class Pattern(Scanner):
    """Reports every match of each pattern, pattern by pattern (so findings are not sorted)."""

    name = "test_pattern"
    Config = PatternConfig

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        findings = [
            Finding(kind="pattern", start=m.start(), end=m.end(), replacement="#")
            for pattern in self.config.patterns  # type: ignore[attr-defined]
            for m in re.finditer(pattern, text)
        ]
        return self.result(text, findings)


class SlowWarmUp(Scanner):
    """Counts warm-ups; each takes a moment, so concurrent first scans overlap."""

    name = "test_slow_warm_up"
    warm_ups: ClassVar[int] = 0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def warm_up(self) -> None:
        with SlowWarmUp.lock:
            SlowWarmUp.warm_ups += 1
        time.sleep(0.05)

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        return self.result(text, [])


class ShortBatch(Scanner):
    """A buggy batch implementation that drops the last result; single scans are fine."""

    name = "test_short_batch"
    inline = False

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        return self.result(text, [])

    def scan_batch(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[ScanResult]:
        return [self.scan(text, ctx) for text, ctx in zip(texts, contexts, strict=True)][:-1]


@contextlib.contextmanager
def process_encoder(precision: str) -> Iterator[None]:
    """Swap the process-wide shared encoder for one of another precision (scanners created
    inside pick the heads trained on it); the previous encoder is back afterwards."""
    import airisk.models.encoder as encoder_module

    saved = encoder_module._ENCODER
    encoder_module._ENCODER = encoder_module.TextEncoder(precision=precision)
    try:
        yield
    finally:
        encoder_module._ENCODER = saved
