"""Scanning model output while it streams, without re-scanning everything on every chunk.

Incoming text is normalised incrementally and kept in a pending buffer. Once the buffer
holds more than ``hold_back`` characters beyond a scan step, the output scanners see a
window made of some already-released text (left context) plus the pending text. Text up
to ``hold_back`` characters from the end is released, redacted; the cut never splits a
finding. Each character is therefore scanned a bounded number of times, whatever the
length of the whole answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from airisk.errors import InputError
from airisk.normalize import normalize, safe_split_point
from airisk.scanners.base import apply_replacements
from airisk.types import Direction, Finding, ScanContext, ScanReport, ScanResult, Verdict

if TYPE_CHECKING:
    from airisk.pipeline import ScannerPipeline


class _StreamState:
    """The bookkeeping shared by the sync and async stream scanners."""

    def __init__(
        self, pipeline: ScannerPipeline, ctx: ScanContext | None, hold_back: int, context: dict[str, Any]
    ) -> None:
        self.pipeline = pipeline
        base = ctx if ctx is not None else ScanContext(**context)
        self.ctx = base.model_copy(update={"direction": Direction.OUTPUT})
        self.hold_back = hold_back
        self.step = max(hold_back, 32)
        # a finding still growing past this many pending characters no longer delays release,
        # so a pathological stream cannot make windows grow without bound
        self.max_pending = 16 * hold_back + self.step
        self.raw = ""  # received but not yet normalised (may end mid-grapheme)
        self.pending = ""  # normalised, not yet released
        self.context = ""  # tail of released normalised text, left context for the next window
        self.released_chars = 0  # normalised characters released so far
        self.received_chars = 0
        self.absorbed_chars = 0  # raw characters normalised so far: normalisation spans count these
        self.text_parts: list[str] = []
        self.sanitized_parts: list[str] = []
        self.findings: dict[tuple[str, int, int, str], Finding] = {}
        self.normalization: list[Finding] = []
        self.results: dict[str, ScanResult] = {}
        self.verdict = Verdict.PASS
        self.windows = 0
        self.scanned_chars = 0
        self.elapsed_ms = 0.0
        self.done = False

    def feed(self, chunk: str) -> None:
        if not isinstance(chunk, str):
            raise InputError(f"stream chunks must be str, not {type(chunk).__name__}")
        self.received_chars += len(chunk)
        if self.received_chars > self.pipeline.max_chars:
            raise InputError(f"stream exceeded {self.pipeline.max_chars:,} characters")
        self.raw += chunk
        cut = safe_split_point(self.raw)
        if cut:
            self._absorb(self.raw[:cut])
            self.raw = self.raw[cut:]

    def _absorb(self, raw: str) -> None:
        normalized, hidden = normalize(raw)
        self.normalization.extend(
            finding.shifted(self.absorbed_chars) for finding in hidden if finding.kind != "unicode_compatibility"
        )
        self.absorbed_chars += len(raw)
        self.pending += normalized

    def ready(self) -> bool:
        return len(self.pending) >= self.hold_back + self.step

    def window(self, final: bool) -> tuple[str, int]:
        if final and self.raw:
            self._absorb(self.raw)
            self.raw = ""
        return self.context + self.pending, len(self.context)

    def absorb_report(self, report: ScanReport, window_start: int, final: bool) -> str:
        """Record a window's report and return the sanitised text now safe to release."""
        self.windows += 1
        self.scanned_chars += len(report.text)
        self.elapsed_ms += report.elapsed_ms
        base = self.released_chars - window_start
        for result in report.results:
            kept = self.results.get(result.scanner)
            if kept is None or result.verdict.severity > kept.verdict.severity or result.error:
                self.results[result.scanner] = result.model_copy(update={"findings": [], "sanitized_text": None})
            for finding in result.findings:
                shifted = finding.shifted(base)
                self.findings.setdefault((result.scanner, shifted.start, shifted.end, shifted.kind), shifted)
        self.verdict = Verdict.most_severe([self.verdict, report.verdict])
        if report.blocked:
            self.done = True
            return ""
        cut = len(report.text) if final else len(report.text) - self.hold_back
        replacements = self._replacements(report)
        if len(report.text) - window_start <= self.max_pending:
            # latest start first: moving the cut back can only expose findings that start earlier
            for finding in sorted(report.findings, key=lambda f: f.start, reverse=True):
                if finding.start < cut < finding.end:
                    cut = finding.start
        cut = max(cut, window_start)
        clipped = [
            f.model_copy(update={"start": max(f.start, window_start), "end": min(f.end, cut)})
            for f in replacements
            if f.start < cut and f.end > window_start
        ]
        released = apply_replacements(report.text[:cut], clipped)[window_start:]
        original = report.text[window_start:cut]
        self.text_parts.append(original)
        self.sanitized_parts.append(released)
        self.released_chars += len(original)
        self.pending = report.text[cut:]
        self.context = (self.context + original)[-self.hold_back :]
        if final:
            self.done = True
        return released

    def _replacements(self, report: ScanReport) -> list[Finding]:
        redactors = {s.name: s for s in self.pipeline.output if s.redacts}
        return [
            finding
            for result in report.results
            if result.scanner in redactors and result.verdict is Verdict.REDACT
            for finding in result.findings
            if redactors[result.scanner].applies(finding)
        ]

    def report(self) -> ScanReport:
        text = "".join(self.text_parts) + self.pending
        results = []
        for scanner in self.pipeline.output:
            if not scanner.config.enabled:
                continue
            kept = self.results.get(scanner.name, ScanResult(scanner=scanner.name))
            findings = [f for (name, *_), f in self.findings.items() if name == scanner.name]
            results.append(kept.model_copy(update={"findings": sorted(findings, key=lambda f: (f.start, f.end))}))
        return ScanReport(
            direction=Direction.OUTPUT,
            verdict=self.verdict,
            text=text,
            sanitized_text="".join(self.sanitized_parts),
            results=results,
            normalization=self.normalization,
            elapsed_ms=self.elapsed_ms,
        )


class StreamScan(Iterator[str]):
    """Iterate for released (scanned, redacted) text; ``report`` and ``blocked`` afterwards.

    ``windows`` and ``scanned_chars`` show how much scanning the stream cost: scanned
    characters stay within a small multiple of the output length.
    """

    def __init__(
        self,
        pipeline: ScannerPipeline,
        chunks: Iterable[str],
        ctx: ScanContext | None,
        *,
        hold_back: int,
        context: dict[str, Any],
    ) -> None:
        self._state = _StreamState(pipeline, ctx, hold_back, context)
        self._chunks = iter(chunks)
        self._exhausted = False

    def __iter__(self) -> StreamScan:
        return self

    def __next__(self) -> str:
        state = self._state
        while not state.done:
            if not self._exhausted:
                try:
                    state.feed(next(self._chunks))
                except StopIteration:
                    self._exhausted = True
            final = self._exhausted
            if not final and not state.ready():
                continue
            text, start = state.window(final)
            report = state.pipeline.scan(text, Direction.OUTPUT, state.ctx)
            released = state.absorb_report(report, start, final)
            if released:
                return released
        if not self._exhausted:  # blocked: stop the source (and the model generating it) now
            self._exhausted = True
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
        raise StopIteration

    @property
    def blocked(self) -> bool:
        return self._state.verdict is Verdict.BLOCK

    @property
    def report(self) -> ScanReport:
        return self._state.report()

    @property
    def windows(self) -> int:
        return self._state.windows

    @property
    def scanned_chars(self) -> int:
        return self._state.scanned_chars


class AsyncStreamScan(AsyncIterator[str]):
    """Async twin of :class:`StreamScan` for async chunk sources."""

    def __init__(
        self,
        pipeline: ScannerPipeline,
        chunks: AsyncIterable[str],
        ctx: ScanContext | None,
        *,
        hold_back: int,
        context: dict[str, Any],
    ) -> None:
        self._state = _StreamState(pipeline, ctx, hold_back, context)
        self._chunks = chunks.__aiter__()
        self._exhausted = False

    def __aiter__(self) -> AsyncStreamScan:
        return self

    async def __anext__(self) -> str:
        state = self._state
        while not state.done:
            if not self._exhausted:
                try:
                    state.feed(await self._chunks.__anext__())
                except StopAsyncIteration:
                    self._exhausted = True
            final = self._exhausted
            if not final and not state.ready():
                continue
            text, start = state.window(final)
            report = await state.pipeline.ascan(text, Direction.OUTPUT, state.ctx)
            released = state.absorb_report(report, start, final)
            if released:
                return released
        if not self._exhausted:  # blocked: stop the source (and the model generating it) now
            self._exhausted = True
            aclose = getattr(self._chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        raise StopAsyncIteration

    @property
    def blocked(self) -> bool:
        return self._state.verdict is Verdict.BLOCK

    @property
    def report(self) -> ScanReport:
        return self._state.report()
