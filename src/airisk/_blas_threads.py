"""Keep numpy's BLAS on one thread while ``scan_many`` already keeps every core busy.

numpy's OpenBLAS splits a matrix product above a small size across one thread per core, and
those threads then spin for a while waiting for the next product. The toxicity and topic heads'
batched products in ``scan_many`` are above that size, so after each of them a spinning BLAS
thread took a core from the encoder: 1.5 of the 11.6 CPU ms a prompt of the default pipeline
cost on a 2-core machine (per-thread CPU times; docs/benchmarks.md), for products that take
microseconds.

The limit goes through threadpoolctl. OpenBLAS's thread count is process-wide, and threadpoolctl
lets one live thread at a time set it (other threads' settings are silently ignored), so the limit
is held by a short-lived thread of its own, which also undoes it and then ends, leaving the
setting free for the application again. It is counted: it holds while any ``scan_many`` runs and
the original counts come back when the last one ends. Without numpy loaded, without
threadpoolctl, or while another thread of the application holds a threadpoolctl limit, nothing
changes (and nothing breaks: the products are the same, only the spinning stays).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger("airisk.pipeline")

_LOCK = threading.Lock()
_depth = 0
_holder: _LimitHolder | None = None
_controller: Any = None
_NO_CONTROLLER = object()


def _blas_controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries, made once numpy (and its BLAS) is loaded."""
    global _controller
    if _controller is None and "numpy" in sys.modules:
        try:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController().select(user_api="blas")
        except Exception:  # not installed, or a library it cannot read: BLAS stays as it is
            logger.debug("threadpoolctl cannot control BLAS here", exc_info=True)
            _controller = _NO_CONTROLLER
    return None if _controller is _NO_CONTROLLER else _controller


class _LimitHolder:
    """A thread that sets BLAS to one thread, waits to be released, restores the count and ends."""

    def __init__(self, controller: Any) -> None:
        self._release = threading.Event()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._hold, args=(controller, ready), name="airisk-blas-limit", daemon=True
        )
        self._thread.start()
        ready.wait(timeout=5)  # a BLAS that does not answer must not hold up the scan

    def _hold(self, controller: Any, ready: threading.Event) -> None:
        try:
            with controller.limit(limits=1):
                ready.set()
                self._release.wait()
        except Exception:  # a BLAS we cannot limit is only slower
            logger.debug("could not limit BLAS threads", exc_info=True)
        finally:
            ready.set()

    def release(self) -> None:
        self._release.set()
        self._thread.join(timeout=5)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Within this block (and any other thread's, until the last one leaves) BLAS uses one thread."""
    global _depth, _holder
    with _LOCK:
        if _holder is None:
            try:
                controller = _blas_controller()
                if controller is not None and controller.lib_controllers:
                    _holder = _LimitHolder(controller)
            except Exception:  # no thread to spare, say: the scan goes on with BLAS as it is
                logger.debug("could not limit BLAS threads", exc_info=True)
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if _depth == 0 and _holder is not None:
                _holder.release()
                _holder = None
