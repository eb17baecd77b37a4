"""The shared sentence encoder: all-MiniLM-L6-v2 as ONNX, run with onnxruntime + tokenizers.

One process-wide encoder serves every model-based scanner. In a pipeline run the embedding
of a message is computed once (memoised in ``ctx.shared``) and ``scan_many`` computes a
whole batch in one call. Long texts are not truncated: they are split into overlapping
windows of at most 256 tokens, each window is embedded, and the text's embedding is the
normalised mean of its windows (``encode_chunks`` gives the windows themselves).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from airisk.errors import MissingDependencyError, WorkAbandoned

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from airisk.types import ScanContext

ARTIFACT = "minilm-l6-v2"
PRECISIONS = {"fp32": ARTIFACT, "int8": "minilm-l6-v2-int8"}
#: int8 is about 1.7x faster on a 2-core CPU; each classifier head is trained on the embeddings
#: of the precision it serves (see :func:`matched_head`), so both give the same quality
DEFAULT_PRECISION = "int8"
DIMENSION = 384
MAX_TOKENS = 256  # tokens per window, including [CLS] and [SEP]
OVERLAP = 32  # tokens shared by consecutive windows so no phrase is cut in half unseen
EMBEDDING_KEY = "embedding:minilm"
CHUNKS_KEY = "chunks:minilm"


def encoder_precision() -> str:
    """``int8`` (default) or ``fp32``, from $AIRISK_ENCODER_PRECISION."""
    value = os.environ.get("AIRISK_ENCODER_PRECISION", DEFAULT_PRECISION).strip().lower() or DEFAULT_PRECISION
    if value not in PRECISIONS:
        from airisk.errors import ConfigurationError

        raise ConfigurationError(f"AIRISK_ENCODER_PRECISION must be one of {sorted(PRECISIONS)}, not {value!r}")
    return value


def matched_head(artifact: str, precision: str) -> str:
    """The registered head trained on embeddings of this encoder precision: ``artifact`` for
    fp32, ``artifact-int8`` for int8. Quantisation moves embeddings slightly, and a head
    trained on the other precision's embeddings loses a little (measured in docs/benchmarks.md)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {precision!r}")
    return artifact if precision == "fp32" else f"{artifact}-{precision}"


class _Head(Protocol):
    metadata: dict[str, Any]


HeadT = TypeVar("HeadT", bound=_Head)


def load_matched_head(artifact: str, path: str | None, load: Callable[[Path], HeadT]) -> HeadT:
    """The head at ``path`` if given, else the packaged ``artifact`` trained on the current
    encoder precision (:func:`matched_head`); a head trained on the other precision is logged."""
    from pathlib import Path

    from airisk.models import resolve

    precision = get_encoder().precision
    name = matched_head(artifact, precision)
    head = load(Path(path) if path else resolve(name))
    warn_if_mismatched(head.metadata, precision, path or name)
    return head


def warn_if_mismatched(metadata: dict[str, Any], precision: str, head: str) -> None:
    """Log when a head was trained on the other precision's embeddings (it still works, with
    slightly different scores). Heads from before the precision was recorded are fp32."""
    trained_on = str(metadata.get("encoder_precision", "fp32"))
    if trained_on != precision:
        logging.getLogger("airisk.models").warning(
            "head %s was trained on %s embeddings but the encoder runs in %s; scores shift slightly "
            "(set AIRISK_ENCODER_PRECISION=%s or train the head on this precision)",
            head,
            trained_on,
            precision,
            trained_on,
        )


def _default_threads() -> int:
    configured = os.environ.get("AIRISK_ONNX_THREADS")
    if configured:
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


class _SharedQueue:
    """Batches handed out one at a time to whichever worker asks first."""

    def __init__(self, batches: list[list[int]]) -> None:
        self._batches = iter(batches)
        self._lock = threading.Lock()
        self._closed = False

    def take(self) -> Iterator[list[int]]:
        while True:
            with self._lock:
                picked = None if self._closed else next(self._batches, None)
            if picked is None:
                return
            yield picked

    def close(self) -> None:
        """Hand out nothing more: one worker failed, so the call fails; the others stop early."""
        with self._lock:
            self._closed = True


class TextEncoder:
    """Sentence embeddings (float32, 384-d, unit length) from a prepared ONNX export.

    Thread-safe: onnxruntime sessions may be run from many threads at once.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        threads: int | None = None,
        precision: str | None = None,
    ) -> None:
        try:
            import numpy  # noqa: F401
            import onnxruntime  # noqa: F401 - checked here, used by _new_session
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError("the sentence encoder", "models", exc.name) from None
        from pathlib import Path

        from airisk.models import resolve

        self.precision = precision or encoder_precision()
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {self.precision!r}")
        directory = Path(model_path) if model_path is not None else resolve(PRECISIONS[self.precision])
        self.path = directory
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._cls = int(self._tokenizer.token_to_id("[CLS]") or 101)
        self._sep = int(self._tokenizer.token_to_id("[SEP]") or 102)
        self._pad = int(self._tokenizer.token_to_id("[PAD]") or 0)
        self.threads = threads or _default_threads()
        self._session = self._new_session(self.threads)
        # many one-window calls (int8 scan_many, long texts) go to one single-threaded session
        # called from ``threads`` workers at once: such small calls parallelise poorly inside
        # onnxruntime (500-character windows: 146/s this way against 100 serially on two
        # threads). A lone call keeps the multi-threaded session for its latency, and fp32's
        # batches of 32 stay there too (fanned out they were slower and took 250 MB more).
        self._fanout: tuple[Any, ThreadPoolExecutor] | None = None
        self._fanout_lock = threading.Lock()
        #: int8 quantises activations with one scale per call: batched windows would change each
        #: other's embeddings (and a message could score differently in scan and scan_many), so
        #: int8 runs one window per call — about a fifth less throughput, results independent of company
        self.windows_per_call = None if self.precision == "fp32" else 1

    def _new_session(self, threads: int) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # no busy-waiting between calls: on small machines other scanners need those cycles
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(
            str(self.path / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def _fanout_workers(self) -> tuple[Any, ThreadPoolExecutor]:
        """The single-threaded session and its ``threads`` workers, made on first use."""
        with self._fanout_lock:
            if self._fanout is None:
                pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="airisk-encoder")
                self._fanout = (self._new_session(1), pool)
            return self._fanout

    def __repr__(self) -> str:
        return f"TextEncoder(path={str(self.path)!r}, precision={self.precision!r}, dimension={DIMENSION})"

    @property
    def dimension(self) -> int:
        return DIMENSION

    # tokenisation -------------------------------------------------------------------------

    def _windows(self, texts: Sequence[str]) -> list[list[list[int]]]:
        """Token id windows for each text: ``[CLS] ... [SEP]``, at most MAX_TOKENS long, overlapping."""
        body = MAX_TOKENS - 2
        step = body - OVERLAP
        encodings = self._tokenizer.encode_batch([str(t) for t in texts], add_special_tokens=False)
        result = []
        for encoding in encodings:
            ids = encoding.ids
            starts = list(range(0, max(1, len(ids) - OVERLAP), step)) if len(ids) > body else [0]
            result.append([[self._cls, *ids[start : start + body], self._sep] for start in starts])
        return result

    # inference ------------------------------------------------------------------------------

    def _run(self, windows: list[list[int]], batch_size: int, stop: Callable[[], bool] | None) -> np.ndarray:
        """Embed token windows, batching windows of similar length together to limit padding.
        ``stop`` is asked between batches; when it says so, :class:`WorkAbandoned` is raised."""
        import numpy as np

        out = np.zeros((len(windows), DIMENSION), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        batch_size = min(batch_size, self.windows_per_call or batch_size)
        batches = [order[offset : offset + batch_size] for offset in range(0, len(order), batch_size)]
        if len(batches) < 2 or self.threads < 2 or batch_size > 1:
            self._run_batches(self._session, windows, batches, out, stop)
            return out
        session, pool = self._fanout_workers()
        # each worker takes the next batch when it is free: with the scanners' Python competing
        # for the cores, a fixed share per worker left one worker idle while the other finished
        shared = _SharedQueue(batches)

        def work() -> None:
            try:
                self._run_batches(session, windows, shared.take(), out, stop)
            except BaseException:
                shared.close()
                raise

        futures = [pool.submit(work) for _ in range(self.threads)]
        wait(futures)  # all of them, so none still writes into ``out`` after a failure
        for future in futures:
            future.result()
        return out

    def _run_batches(
        self,
        session: Any,
        windows: list[list[int]],
        batches: Iterable[list[int]],
        out: np.ndarray,
        stop: Callable[[], bool] | None,
    ) -> None:
        import numpy as np

        for done, picked in enumerate(batches):
            if stop is not None and stop():
                raise WorkAbandoned(f"encoding stopped after {done} batches on this thread: nobody waits for it")
            width = max(len(windows[i]) for i in picked)
            ids = np.full((len(picked), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(picked), width), dtype=np.int64)
            for row, index in enumerate(picked):
                window = windows[index]
                ids[row, : len(window)] = window
                mask[row, : len(window)] = 1
            (embedded,) = session.run(
                ["embedding"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )
            out[picked] = embedded

    def encode_chunks_many(
        self, texts: Sequence[str], *, batch_size: int = 32, stop: Callable[[], bool] | None = None
    ) -> list[np.ndarray]:
        """Per text, the embeddings of its token windows: a list of (windows, 384) arrays.

        ``stop``, if given, is asked between batches of windows; once it returns true the
        remaining work is dropped with :class:`WorkAbandoned` (a long message whose scan timed
        out must not keep a core busy for minutes)."""
        if isinstance(texts, str):
            raise TypeError("encode_chunks_many expects a sequence of strings, not one string")
        per_text = self._windows(texts)
        flat = [window for windows in per_text for window in windows]
        embedded = self._run(flat, max(1, batch_size), stop)
        result = []
        cursor = 0
        for windows in per_text:
            result.append(embedded[cursor : cursor + len(windows)])
            cursor += len(windows)
        return result

    def encode_chunks(self, text: str, *, batch_size: int = 32) -> np.ndarray:
        """Embeddings of one text's token windows, shape (windows, 384); scanners may take the max."""
        return self.encode_chunks_many([text], batch_size=batch_size)[0]

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embeddings of many texts, shape (n, 384), float32, unit length; long texts chunked."""
        import numpy as np

        chunks = self.encode_chunks_many(texts, batch_size=batch_size)
        if not chunks:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([pool_chunks(c) for c in chunks]).astype(np.float32, copy=False)


def pool_chunks(chunks: np.ndarray) -> np.ndarray:
    """One text embedding from its window embeddings: the normalised mean."""
    import numpy as np

    if len(chunks) == 1:
        return chunks[0]
    mean = chunks.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm > 0 else mean).astype(np.float32)


_ENCODER: TextEncoder | None = None
_ENCODER_LOCK = threading.Lock()


def get_encoder() -> TextEncoder:
    """The process-wide encoder, loaded on first use (thread-safe)."""
    global _ENCODER
    if _ENCODER is None:
        with _ENCODER_LOCK:
            if _ENCODER is None:
                _ENCODER = TextEncoder()
    return _ENCODER


def _store(ctx: ScanContext, chunks: np.ndarray) -> None:
    ctx.shared.put(CHUNKS_KEY, chunks)
    ctx.shared.put(EMBEDDING_KEY, pool_chunks(chunks))


# Messages whose embedding some thread is computing right now (by id of their SharedWork):
# scanners running concurrently on the same messages wait for that batch instead of
# encoding the same texts again.
_IN_FLIGHT: dict[int, threading.Event] = {}
_IN_FLIGHT_LOCK = threading.Lock()


def when_abandoned(ctxs: Sequence[ScanContext]) -> Callable[[], bool]:
    """A ``stop`` for :meth:`TextEncoder.encode_chunks_many`: true once every one of these
    messages' scans is over, so nobody waits for their encoding any more."""
    return lambda: all(ctx.shared.abandoned for ctx in ctxs)


def _fill(texts: Sequence[str], ctxs: Sequence[ScanContext]) -> None:
    """Make sure every context holds its embedding, encoding the missing ones in one batch."""
    if len(texts) != len(ctxs):
        raise ValueError(f"{len(texts)} texts but {len(ctxs)} contexts")
    mine: list[int] = []
    waits: list[threading.Event] = []
    with _IN_FLIGHT_LOCK:
        for index, ctx in enumerate(ctxs):
            if EMBEDDING_KEY in ctx.shared:
                continue
            event = _IN_FLIGHT.get(id(ctx.shared))
            if event is None:
                _IN_FLIGHT[id(ctx.shared)] = threading.Event()
                mine.append(index)
            else:
                waits.append(event)
    try:
        if mine:
            computed = get_encoder().encode_chunks_many(
                [texts[i] for i in mine], stop=when_abandoned([ctxs[i] for i in mine])
            )
            for index, chunks in zip(mine, computed, strict=True):
                _store(ctxs[index], chunks)
    finally:
        with _IN_FLIGHT_LOCK:
            for index in mine:
                _IN_FLIGHT.pop(id(ctxs[index].shared)).set()
    for event in waits:
        event.wait()
    leftovers = [i for i, ctx in enumerate(ctxs) if EMBEDDING_KEY not in ctx.shared]
    if leftovers:  # the thread we waited for failed: compute these ourselves
        computed = get_encoder().encode_chunks_many(
            [texts[i] for i in leftovers], stop=when_abandoned([ctxs[i] for i in leftovers])
        )
        for index, chunks in zip(leftovers, computed, strict=True):
            _store(ctxs[index], chunks)


def chunk_embeddings_for(text: str, ctx: ScanContext) -> np.ndarray:
    """The message's window embeddings (windows, 384), computed once per message and shared."""
    _fill([text], [ctx])
    return ctx.shared.get(CHUNKS_KEY)  # type: ignore[no-any-return]


def embedding_for(text: str, ctx: ScanContext) -> np.ndarray:
    """The message's embedding, computed once per message and shared by every scanner."""
    _fill([text], [ctx])
    return ctx.shared.get(EMBEDDING_KEY)  # type: ignore[no-any-return]


def embeddings_for(texts: Sequence[str], ctxs: Sequence[ScanContext]) -> np.ndarray:
    """Embeddings of many messages (n, 384): the missing ones in one encoder batch, each stored
    in its own ``ctx.shared`` so other scanners in the same run reuse it."""
    import numpy as np

    _fill(texts, ctxs)
    if not ctxs:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.stack([ctx.shared.get(EMBEDDING_KEY) for ctx in ctxs])


def chunk_embeddings_for_many(texts: Sequence[str], ctxs: Sequence[ScanContext]) -> list[np.ndarray]:
    """Window embeddings of many messages, batched and shared like :func:`embeddings_for`."""
    _fill(texts, ctxs)
    return [ctx.shared.get(CHUNKS_KEY) for ctx in ctxs]


__all__ = [
    "CHUNKS_KEY",
    "DEFAULT_PRECISION",
    "DIMENSION",
    "EMBEDDING_KEY",
    "TextEncoder",
    "chunk_embeddings_for",
    "chunk_embeddings_for_many",
    "embedding_for",
    "embeddings_for",
    "get_encoder",
    "load_matched_head",
    "matched_head",
    "pool_chunks",
    "warn_if_mismatched",
]
