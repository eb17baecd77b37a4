"""ScannerPipeline: every message in and out of an agent passes through one of these.

One normalisation pass, then detectors concurrently and redactors in order, each within a
time limit. A scanner that errors or times out blocks unless it is configured to fail
open, and its error is in the report. Redactors all see the same normalised text and their
replacements are merged in list order (an earlier redactor wins an overlap), so every span
in a report refers to one text.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airisk.errors import ConfigurationError, InputError, ScannerTimeout, WorkAbandoned
from airisk.normalize import MAX_TEXT_CHARS, coerce_text, normalize
from airisk.scanners.base import Scanner, apply_replacements
from airisk.types import Direction, ScanContext, ScanReport, ScanResult, Verdict

if TYPE_CHECKING:
    from airisk.policy import Policy
    from airisk.streaming import AsyncStreamScan, StreamScan

logger = logging.getLogger("airisk.pipeline")

_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()
_POOL_SIZE = max(4, (os.cpu_count() or 2) * 2)
#: tasks of the current pool still running after their scan gave up on them
_STUCK = 0


def _executor() -> ThreadPoolExecutor:
    """One shared pool for scanners that do real work (models, databases) off the caller's thread."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="airisk-scan")
        return _EXECUTOR


def _strand(future: Future[Any], pool: ThreadPoolExecutor | None, scanner: str) -> None:
    """A task outlived its scan's time limit, and Python cannot stop a thread. Once as many
    are stuck as the pool has workers, every later scan would queue behind them and time out,
    so the pool is replaced by a fresh one. The old one is only dropped, not shut down (a scan
    in another thread may be about to submit to it): its idle threads exit once nothing refers
    to it any more, the stuck ones when their tasks end."""
    global _EXECUTOR, _STUCK
    with _EXECUTOR_LOCK:
        if pool is None or pool is not _EXECUTOR or future.done():
            return
        _STUCK += 1
        if _STUCK < _POOL_SIZE:
            future.add_done_callback(lambda _: _unstrand(pool))
            return
        _EXECUTOR, _STUCK = None, 0
    logger.warning("scan pool replaced: all its workers are stuck past their time limits", extra={"scanner": scanner})


def _unstrand(pool: ThreadPoolExecutor) -> None:
    global _STUCK
    with _EXECUTOR_LOCK:
        if pool is _EXECUTOR:
            _STUCK = max(0, _STUCK - 1)


def _uses_shared_embedding(scanner: Scanner) -> bool:
    try:
        return bool(scanner.uses_shared_embedding())
    except Exception:  # noqa: BLE001 - a scanner that cannot tell is simply not prefetched for
        return False


def _result_within(
    future: Future[Any], limit: float | None, since: float, pool: ThreadPoolExecutor | None, owner: str
) -> Any:
    """The task's result within ``limit`` seconds of ``since`` (no limit if None). On time-out
    the task is counted as stuck (see :func:`_strand`) and ``FutureTimeout`` raised."""
    try:
        return future.result(timeout=None if limit is None else max(0.0, since + limit - time.perf_counter()))
    except FutureTimeout:
        _strand(future, pool, owner)
        raise


class _Batch:
    """One slice of a ``scan_many`` call: its prepared messages, the rejected ones, and
    (optionally) a background computation of its shared embeddings."""

    _prefetcher: ThreadPoolExecutor | None = None
    _prefetcher_lock = threading.Lock()

    def __init__(self, size: int, started: float) -> None:
        self.size = size
        self.started = started
        self.prepared: list[tuple[str, ScanContext, ScanReport]] = []
        self.rejected: dict[int, ScanReport] = {}
        self._future: Future[None] | None = None

    def embed_in_background(self) -> None:
        """Start computing the batch's embeddings on the (single) prefetch thread."""
        with _Batch._prefetcher_lock:
            if _Batch._prefetcher is None:
                _Batch._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="airisk-embed")
            pool = _Batch._prefetcher
        self._future = pool.submit(self._embed)

    def _embed(self) -> None:
        from airisk.models.encoder import chunk_embeddings_for_many

        chunk_embeddings_for_many([item[0] for item in self.prepared], [item[1] for item in self.prepared])

    def embedded(self, *, timeout: float | None) -> None:
        """Wait for a background embedding, if any. Its errors and time-outs are dropped: the
        scanners then compute (or wait for) the embeddings themselves within their own time
        limits and report any failure per message, exactly as without prefetching."""
        future, self._future = self._future, None
        if future is not None:
            try:
                future.result(timeout=timeout)
            except Exception:
                logger.debug("embedding prefetch failed; scanners will compute it", exc_info=True)

    def forget(self) -> None:
        """Stop caring about a background embedding (scan_many was interrupted)."""
        self._future = None
        self.abandon()

    def abandon(self) -> None:
        """Tell long work for these messages (their encoding, say) that nobody waits for it."""
        for _, ctx, _ in self.prepared:
            ctx.shared.abandon()


class ScanInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``scan_many``: ``completed`` holds the reports finished so far, in order."""

    def __init__(self, completed: list[ScanReport]) -> None:
        super().__init__(f"interrupted after {len(completed)} reports")
        self.completed = completed


def _error_text(exc: BaseException) -> str:
    message = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class ScannerPipeline:
    """Input and output scanner lists plus how to run them.

    ``fail_closed`` (default) makes an erroring or timed-out scanner block; a scanner's own
    ``fail_open`` setting overrides it. ``early_exit`` stops waiting for other scanners
    once one blocks. ``hold_back`` is the streaming window in characters.
    """

    def __init__(
        self,
        input: Sequence[Scanner] = (),
        output: Sequence[Scanner] = (),
        *,
        fail_closed: bool = True,
        early_exit: bool = False,
        hold_back: int = 64,
        max_chars: int = MAX_TEXT_CHARS,
        name: str | None = None,
    ) -> None:
        for scanner in [*input, *output]:
            if not isinstance(scanner, Scanner):
                raise ConfigurationError(f"pipeline scanners must be Scanner instances, got {type(scanner).__name__}")
        if hold_back < 1:
            raise ConfigurationError("hold_back must be at least 1 character")
        self.input = list(input)
        self.output = list(output)
        self.fail_closed = fail_closed
        self.early_exit = early_exit
        self.hold_back = hold_back
        self.max_chars = max_chars
        self.name = name
        # scanners already warmed, by id; holding them keeps an id from being reused by a new scanner
        self._warmed: dict[int, Scanner] = {}
        self._warm_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"ScannerPipeline(input={[s.name for s in self.input]}, output={[s.name for s in self.output]}, "
            f"fail_closed={self.fail_closed})"
        )

    # construction from data ---------------------------------------------------------

    @classmethod
    def from_policy(cls, policy: Policy | dict[str, Any] | str | Path) -> ScannerPipeline:
        """Build a pipeline from a Policy, a dict, or a YAML/JSON file path."""
        from airisk.policy import Policy

        if isinstance(policy, (str, Path)):
            policy = Policy.load(policy)
        elif isinstance(policy, dict):
            policy = Policy.from_dict(policy)
        return policy.build()

    def to_policy(self) -> Policy:
        """The policy that rebuilds this pipeline (round-trips through YAML or JSON)."""
        from airisk.policy import Policy

        return Policy.from_pipeline(self)

    def scanners(self, direction: Direction | str) -> list[Scanner]:
        return self.input if Direction(direction) is Direction.INPUT else self.output

    def warm_up(self) -> None:
        """Load every scanner's models and databases now rather than on the first message."""
        with self._warm_lock:
            for scanner in {id(s): s for s in [*self.input, *self.output]}.values():
                scanner.warm_up()
                self._warmed[id(scanner)] = scanner

    def _warm_once(self, scanners: list[Scanner]) -> None:
        """Load models before a scanner's first timed scan: time limits are for scanning, not
        loading. A warm-up error is left for the scan itself to report (and fail closed).
        Concurrent first messages on a shared pipeline wait for one warm-up, not run their own."""
        if all(id(s) in self._warmed for s in scanners):
            return
        with self._warm_lock:
            for scanner in scanners:
                if id(scanner) in self._warmed:
                    continue
                try:
                    scanner.warm_up()
                except Exception as exc:  # noqa: BLE001 - the scan raises it again and fails closed
                    logger.debug("warm-up failed", extra={"scanner": scanner.name, "error": type(exc).__name__})
                self._warmed[id(scanner)] = scanner

    # single messages ------------------------------------------------------------------

    def scan_input(self, text: str | bytes, ctx: ScanContext | None = None, **context: Any) -> ScanReport:
        """Scan a message on its way to the model."""
        return self.scan(text, Direction.INPUT, ctx, **context)

    def scan_output(self, text: str | bytes, ctx: ScanContext | None = None, **context: Any) -> ScanReport:
        """Scan a model's answer on its way to the user."""
        return self.scan(text, Direction.OUTPUT, ctx, **context)

    async def ascan_input(self, text: str | bytes, ctx: ScanContext | None = None, **context: Any) -> ScanReport:
        return await self.ascan(text, Direction.INPUT, ctx, **context)

    async def ascan_output(self, text: str | bytes, ctx: ScanContext | None = None, **context: Any) -> ScanReport:
        return await self.ascan(text, Direction.OUTPUT, ctx, **context)

    def _prepare(
        self, text: str | bytes, direction: Direction | str, ctx: ScanContext | None, context: dict[str, Any]
    ) -> tuple[str, ScanContext, ScanReport]:
        direction = Direction(direction)
        raw = coerce_text(text, max_chars=self.max_chars)
        normalized, hidden = normalize(raw)
        base = ctx if ctx is not None else ScanContext(**context)
        if ctx is not None and context:
            base = base.model_copy(update=context)
        message_ctx = base.for_message()
        message_ctx.direction = direction
        report = ScanReport(direction=direction, text=normalized, sanitized_text=normalized, normalization=hidden)
        return normalized, message_ctx, report

    def scan(
        self, text: str | bytes, direction: Direction | str, ctx: ScanContext | None = None, **context: Any
    ) -> ScanReport:
        """Scan one message in the given direction (the sync entry point)."""
        started = time.perf_counter()
        normalized, message_ctx, report = self._prepare(text, direction, ctx, context)
        scanners = [s for s in self.scanners(report.direction) if s.config.enabled]
        self._warm_once(scanners)
        try:
            results = self._run(scanners, normalized, message_ctx)
        finally:
            message_ctx.shared.abandon()  # a scanner that overran its limit stops its long work
        return self._finish(report, scanners, results, started)

    async def ascan(
        self, text: str | bytes, direction: Direction | str, ctx: ScanContext | None = None, **context: Any
    ) -> ScanReport:
        """Async twin of :meth:`scan`: heavy scanners run concurrently without blocking the loop."""
        started = time.perf_counter()
        normalized, message_ctx, report = self._prepare(text, direction, ctx, context)
        scanners = [s for s in self.scanners(report.direction) if s.config.enabled]
        if any(id(s) not in self._warmed for s in scanners):
            await asyncio.to_thread(self._warm_once, scanners)
        try:
            results = await self._arun(scanners, normalized, message_ctx)
        finally:
            message_ctx.shared.abandon()
        return self._finish(report, scanners, results, started)

    # the engine room ------------------------------------------------------------------

    def _guarded(self, scanner: Scanner, text: str, ctx: ScanContext) -> ScanResult:
        """Run one scanner; errors and overruns become results, never exceptions."""
        started = time.perf_counter()
        try:
            result = scanner.scan(text, ctx)
        except Exception as exc:  # noqa: BLE001 - a failing scanner must not take the pipeline down
            return self._failure(scanner, exc, started)
        elapsed = (time.perf_counter() - started) * 1000
        limit = scanner.config.timeout_s
        if limit is not None and elapsed > limit * 1000:
            overrun = ScannerTimeout(f"took {elapsed:.0f} ms, limit {limit * 1000:.0f} ms")
            return self._failure(scanner, overrun, started)
        return self._checked(scanner, result, text, elapsed)

    def _checked(self, scanner: Scanner, result: ScanResult, text: str, elapsed: float) -> ScanResult:
        bad = [f for f in result.findings if f.end > len(text)]
        if bad:
            return self._failure(scanner, ValueError(f"finding span {bad[0].start}-{bad[0].end} outside text"), None)
        return result.model_copy(update={"scanner": scanner.name, "elapsed_ms": elapsed})

    def _failure(self, scanner: Scanner, exc: BaseException, started: float | None) -> ScanResult:
        fail_open = scanner.config.fail_open or not self.fail_closed
        # work abandoned after its scan was over (a time limit already reported) is no news
        logger.log(
            logging.DEBUG if isinstance(exc, WorkAbandoned) else logging.WARNING,
            "scanner failed",
            extra={"scanner": scanner.name, "error": type(exc).__name__, "fail_open": fail_open},
        )
        return ScanResult(
            scanner=scanner.name,
            verdict=Verdict.PASS if fail_open else Verdict.BLOCK,
            score=0.0 if fail_open else 1.0,
            error=_error_text(exc),
            elapsed_ms=(time.perf_counter() - started) * 1000 if started is not None else 0.0,
        )

    def _skipped(self, scanner: Scanner) -> ScanResult:
        return ScanResult(scanner=scanner.name, skipped=True)

    def _run_redactors(self, redactors: list[Scanner], text: str, ctx: ScanContext) -> list[ScanResult]:
        return [self._guarded(scanner, text, ctx) for scanner in redactors]

    def _run(self, scanners: list[Scanner], text: str, ctx: ScanContext) -> dict[int, ScanResult]:
        """Heavy detectors and the redactor chain go to the pool; cheap detectors run here."""
        results: dict[int, ScanResult] = {}
        redactors = [s for s in scanners if s.redacts]
        heavy = [s for s in scanners if not s.redacts and not s.inline]
        cheap = [s for s in scanners if not s.redacts and s.inline]
        futures: dict[int, Future[Any]] = {}
        pool = _executor() if heavy or any(not s.inline for s in redactors) else None
        # every limit counts from here: waiting for one scanner must not extend another's
        submitted = time.perf_counter()
        for scanner in heavy:
            assert pool is not None
            futures[id(scanner)] = pool.submit(self._guarded, scanner, text, ctx)
        redactor_future = None
        if redactors and pool is not None:
            redactor_future = pool.submit(self._run_redactors, redactors, text, ctx)
        stop = False
        for scanner in cheap:
            if stop:
                results[id(scanner)] = self._skipped(scanner)
                continue
            results[id(scanner)] = result = self._guarded(scanner, text, ctx)
            stop = self.early_exit and result.verdict is Verdict.BLOCK
        if redactors and redactor_future is None:
            for scanner, result in zip(redactors, self._run_redactors(redactors, text, ctx), strict=True):
                results[id(scanner)] = result
        for scanner in heavy:
            future = futures[id(scanner)]
            if stop and future.cancel():
                results[id(scanner)] = self._skipped(scanner)
                continue
            results[id(scanner)] = result = self._wait(scanner, future, submitted, pool)
            stop = stop or (self.early_exit and result.verdict is Verdict.BLOCK)
        if redactor_future is not None:
            limits = [s.config.timeout_s for s in redactors]
            # a redactor with no limit (None) leaves the whole chain unlimited
            limit = None if None in limits else sum(each for each in limits if each is not None)
            try:
                chain = _result_within(redactor_future, limit, submitted, pool, "redactor chain")
                for scanner, result in zip(redactors, chain, strict=True):
                    results[id(scanner)] = result
            except FutureTimeout:
                for scanner in redactors:
                    results[id(scanner)] = self._failure(scanner, ScannerTimeout("redactor chain timed out"), None)
        return results

    def _wait(
        self, scanner: Scanner, future: Future[Any], submitted: float, pool: ThreadPoolExecutor | None
    ) -> ScanResult:
        try:
            return _result_within(  # type: ignore[no-any-return]
                future, scanner.config.timeout_s, submitted, pool, scanner.name
            )
        except FutureTimeout:
            return self._no_answer(scanner, None)

    def _no_answer(self, scanner: Scanner, started: float | None) -> ScanResult:
        """The result of a scanner that did not answer within its limit (fail closed, usually)."""
        limit = scanner.config.timeout_s or 0
        return self._failure(scanner, ScannerTimeout(f"no answer within {limit * 1000:.0f} ms"), started)

    async def _aguarded(self, scanner: Scanner, text: str, ctx: ScanContext) -> ScanResult:
        if not scanner.inline and type(scanner).ascan is Scanner.ascan:
            return await self._apooled(scanner, text, ctx)
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(scanner.ascan(text, ctx), timeout=scanner.config.timeout_s)
        except asyncio.TimeoutError:
            return self._no_answer(scanner, started)
        except Exception as exc:  # noqa: BLE001 - fail closed, never raise out of the pipeline
            return self._failure(scanner, exc, started)
        return self._checked(scanner, result, text, (time.perf_counter() - started) * 1000)

    async def _apooled(self, scanner: Scanner, text: str, ctx: ScanContext) -> ScanResult:
        """A synchronous heavy scanner on the async path: it runs in the same managed pool as
        :meth:`scan` uses (not the loop's default executor), so one that never returns is
        counted as stuck and cannot starve later scans of threads."""
        pool = _executor()
        future = pool.submit(self._guarded, scanner, text, ctx)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=scanner.config.timeout_s)
        except asyncio.TimeoutError:
            _strand(future, pool, scanner.name)
            return self._no_answer(scanner, None)

    async def _arun(self, scanners: list[Scanner], text: str, ctx: ScanContext) -> dict[int, ScanResult]:
        redactors = [s for s in scanners if s.redacts]
        detectors = [s for s in scanners if not s.redacts]

        async def redactor_chain() -> list[ScanResult]:
            return [await self._aguarded(scanner, text, ctx) for scanner in redactors]

        detector_tasks = {id(s): asyncio.ensure_future(self._aguarded(s, text, ctx)) for s in detectors}
        chain = asyncio.ensure_future(redactor_chain())
        try:
            results: dict[int, ScanResult] = {}
            pending: set[asyncio.Future[Any]] = set(detector_tasks.values())
            blocked = False
            while pending and not blocked:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                blocked = self.early_exit and any(task.result().verdict is Verdict.BLOCK for task in done)
            for task in pending:
                task.cancel()
            for scanner in detectors:
                task = detector_tasks[id(scanner)]
                results[id(scanner)] = task.result() if task.done() and not task.cancelled() else self._skipped(scanner)
            if blocked and not chain.done():
                chain.cancel()
                for scanner in redactors:
                    results[id(scanner)] = self._skipped(scanner)
            else:
                for scanner, result in zip(redactors, await chain, strict=True):
                    results[id(scanner)] = result
            return results
        finally:
            # also when the caller is cancelled: no scanner task outlives the scan
            leftovers = [task for task in (*detector_tasks.values(), chain) if not task.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                await asyncio.gather(*leftovers, return_exceptions=True)

    def _finish(
        self, report: ScanReport, scanners: list[Scanner], results: dict[int, ScanResult], started: float
    ) -> ScanReport:
        ordered = [results[id(scanner)] for scanner in scanners]
        replacements = [
            finding
            for scanner, result in zip(scanners, ordered, strict=True)
            if scanner.redacts and result.verdict is Verdict.REDACT
            for finding in result.findings
            if scanner.applies(finding)
        ]
        report.results = ordered
        report.verdict = Verdict.most_severe(result.verdict for result in ordered)
        report.sanitized_text = apply_replacements(report.text, replacements) if replacements else report.text
        report.elapsed_ms = (time.perf_counter() - started) * 1000
        logger.debug(
            "scanned",
            extra={
                "direction": report.direction.value,
                "verdict": report.verdict.value,
                "elapsed_ms": round(report.elapsed_ms, 3),
                "scanners": len(ordered),
            },
        )
        return report

    # batches --------------------------------------------------------------------------

    def scan_many(
        self,
        texts: Iterable[str | bytes],
        direction: Direction | str = Direction.INPUT,
        contexts: Sequence[ScanContext] | None = None,
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> list[ScanReport]:
        """Scan many messages, in order. Faster per message than one by one: no thread hop per
        message, and model-based scanners batch their work (one encoder call per batch).

        Ctrl-C raises :class:`ScanInterrupted` carrying the reports already finished.
        """
        items = list(texts)
        if contexts is not None and len(contexts) != len(items):
            raise ConfigurationError(f"{len(items)} texts but {len(contexts)} contexts")
        direction = Direction(direction)
        scanners = [s for s in self.scanners(direction) if s.config.enabled]
        self._warm_once(scanners)
        # While one batch's scanners do their (GIL-bound) Python work, the shared embeddings of
        # the next batch are computed in the background: onnxruntime releases the GIL, so the
        # second core is not left idle. The encoder sees exactly the batch it would see anyway,
        # and only one encoder call runs at a time.
        embedders = [s for s in scanners if _uses_shared_embedding(s)]
        limits = [s.config.timeout_s for s in embedders]
        # how long a batch's background embedding may take: the slowest of its scanners' limits per message
        per_message = max(t for t in limits if t is not None) if embedders and None not in limits else None
        reports: list[ScanReport] = []
        bar = _progress_bar(len(items), progress)
        ahead: _Batch | None = None
        try:
            for offset in range(0, len(items), batch_size):
                current = ahead or self._prepare_batch(items, contexts, offset, batch_size, direction)
                current.started = time.perf_counter()
                if embedders and ahead is None:
                    current.embed_in_background()
                current.embedded(timeout=None if per_message is None else per_message * max(1, current.size))
                following = offset + batch_size
                ahead = None
                if following < len(items):
                    ahead = self._prepare_batch(items, contexts, following, batch_size, direction)
                    if embedders:
                        ahead.embed_in_background()
                reports.extend(self._run_batch(current, scanners))
                if bar is not None:
                    bar.update(current.size)
        except KeyboardInterrupt:
            raise ScanInterrupted(reports) from None
        finally:
            if ahead is not None:
                ahead.forget()
            if bar is not None:
                bar.close()
        return reports

    def _prepare_batch(
        self,
        items: list[str | bytes],
        contexts: Sequence[ScanContext] | None,
        offset: int,
        batch_size: int,
        direction: Direction,
    ) -> _Batch:
        """Normalise one slice of ``scan_many``'s input and give each message its context."""
        texts = items[offset : offset + batch_size]
        chunk_ctx: Sequence[ScanContext | None] = (
            contexts[offset : offset + batch_size] if contexts is not None else [None] * len(texts)
        )
        batch = _Batch(size=len(texts), started=time.perf_counter())
        for index, (text, ctx) in enumerate(zip(texts, chunk_ctx, strict=True)):
            try:
                batch.prepared.append(self._prepare(text, direction, ctx, {}))
            except InputError as exc:
                batch.rejected[index] = _rejected_report(direction, exc)
        return batch

    def _run_batch(self, batch: _Batch, scanners: list[Scanner]) -> list[ScanReport]:
        started = batch.started
        prepared = batch.prepared
        rejected = batch.rejected
        normalized = [item[0] for item in prepared]
        message_ctx = [item[1] for item in prepared]
        per_scanner: dict[int, list[ScanResult]] = {}
        heavy = [s for s in scanners if not s.inline]
        pool = _executor() if heavy else None
        submitted = time.perf_counter()  # every scanner's limit counts from here, not from the last wait
        try:
            futures = {
                id(s): pool.submit(self._guarded_batch, s, normalized, message_ctx) for s in heavy if pool is not None
            }
            for scanner in scanners:
                if scanner.inline:
                    per_scanner[id(scanner)] = self._guarded_batch(scanner, normalized, message_ctx)
            for scanner in heavy:
                limit = (scanner.config.timeout_s or 0) * max(1, len(normalized)) or None
                try:
                    future = futures[id(scanner)]
                    per_scanner[id(scanner)] = _result_within(future, limit, submitted, pool, scanner.name)
                except FutureTimeout:
                    failure = self._failure(scanner, ScannerTimeout("batch timed out"), None)
                    per_scanner[id(scanner)] = [failure] * len(normalized)
        finally:
            batch.abandon()
        elapsed_each = (time.perf_counter() - started) / max(1, batch.size)
        reports = []
        position = 0
        for index in range(batch.size):
            if index in rejected:
                reports.append(rejected[index])
                continue
            report = prepared[position][2]
            results = {id(s): per_scanner[id(s)][position] for s in scanners}
            position += 1
            finished = self._finish(report, scanners, results, time.perf_counter())
            finished.elapsed_ms = elapsed_each * 1000
            reports.append(finished)
        return reports

    def _guarded_batch(self, scanner: Scanner, texts: list[str], contexts: list[ScanContext]) -> list[ScanResult]:
        """Batch call; if the batch fails, retry one by one so one bad message fails alone."""
        started = time.perf_counter()
        try:
            results = scanner.scan_batch(texts, contexts)
            if len(results) != len(texts):
                raise ValueError(f"scan_batch gave {len(results)} results for {len(texts)} texts")
        except Exception:  # noqa: BLE001 - isolate the failing message below
            return [self._guarded(scanner, text, ctx) for text, ctx in zip(texts, contexts, strict=True)]
        each = (time.perf_counter() - started) * 1000 / max(1, len(texts))
        return [self._checked(scanner, r, t, each) for r, t in zip(results, texts, strict=True)]

    async def ascan_many(
        self,
        texts: Iterable[str | bytes],
        direction: Direction | str = Direction.INPUT,
        contexts: Sequence[ScanContext] | None = None,
        *,
        batch_size: int = 64,
    ) -> list[ScanReport]:
        """Async twin of :meth:`scan_many` (the batch runs in a worker thread)."""
        items = list(texts)
        return await asyncio.to_thread(self.scan_many, items, direction, contexts, batch_size=batch_size)

    # streams --------------------------------------------------------------------------

    def _hold_back(self, hold_back: int | None) -> int:
        """The stream window: the pipeline's unless given; below one character it would
        release text the scanners have not seen in full."""
        if hold_back is None:
            return self.hold_back
        if hold_back < 1:
            raise ConfigurationError("hold_back must be at least 1 character")
        return hold_back

    def scan_stream(
        self, chunks: Iterable[str], ctx: ScanContext | None = None, *, hold_back: int | None = None, **context: Any
    ) -> StreamScan:
        """Scan model output as it streams: iterate the result for text that is safe to show.

        Text is released only after the output scanners have passed it, ``hold_back``
        characters behind the stream so a value split across chunks is still redacted.
        """
        from airisk.streaming import StreamScan

        return StreamScan(self, chunks, ctx, hold_back=self._hold_back(hold_back), context=context)

    def ascan_stream(
        self,
        chunks: AsyncIterable[str],
        ctx: ScanContext | None = None,
        *,
        hold_back: int | None = None,
        **context: Any,
    ) -> AsyncStreamScan:
        """Async twin of :meth:`scan_stream` for async chunk sources."""
        from airisk.streaming import AsyncStreamScan

        return AsyncStreamScan(self, chunks, ctx, hold_back=self._hold_back(hold_back), context=context)


def _rejected_report(direction: Direction, exc: InputError) -> ScanReport:
    """A message that could not even be read is blocked, with the reason, so a batch loses nothing."""
    result = ScanResult(scanner="input", verdict=Verdict.BLOCK, score=1.0, error=_error_text(exc))
    return ScanReport(direction=direction, verdict=Verdict.BLOCK, results=[result])


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="msg", desc="scanning")
