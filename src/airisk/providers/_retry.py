"""Retries with jittered exponential backoff that honour Retry-After.

Only :class:`EngineError` subclasses marked ``retryable`` (rate limits, timeouts, connection
errors, 408/409/5xx) are retried. Vendor SDKs are built with their own retries turned off, so
every attempt is counted once, here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from airisk.errors import EngineError

T = TypeVar("T")

logger = logging.getLogger("airisk.providers")


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long to wait between attempts.

    The wait before retry *n* (from 0) is a random value in ``[0, min(max_delay_s,
    base_delay_s * 2**n)]`` ("full jitter"), unless the vendor sent Retry-After, which wins.
    A Retry-After longer than ``max_retry_after_s`` is not waited for: the error is raised.
    """

    max_retries: int = 2
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 60.0

    def delay(self, attempt: int, error: EngineError) -> float | None:
        """Seconds to wait before the next attempt, or None if ``error`` should be raised."""
        if not error.retryable or attempt >= self.max_retries:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after_s else None
        return random.uniform(0.0, min(self.max_delay_s, self.base_delay_s * (2**attempt)))


def _log_retry(error: EngineError, attempt: int, wait: float) -> None:
    logger.info(
        "engine call failed, retrying",
        extra={
            "engine": error.engine,
            "model": error.model,
            "status": error.status,
            "error": type(error).__name__,
            "attempt": attempt + 1,
            "wait_s": round(wait, 3),
        },
    )


def call_with_retries(
    call: Callable[[], T], policy: RetryPolicy, to_error: Callable[[BaseException], EngineError]
) -> T:
    """Run ``call``; map failures with ``to_error`` and retry the retryable ones."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - every failure is mapped to the engine error tree
            error = to_error(exc)
        wait = policy.delay(attempt, error)
        if wait is None:
            raise error from None
        _log_retry(error, attempt, wait)
        time.sleep(wait)
        attempt += 1


async def acall_with_retries(
    call: Callable[[], Awaitable[T]], policy: RetryPolicy, to_error: Callable[[BaseException], EngineError]
) -> T:
    """Async twin of :func:`call_with_retries`."""
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:  # noqa: BLE001 - every failure is mapped to the engine error tree
            error = to_error(exc)
        wait = policy.delay(attempt, error)
        if wait is None:
            raise error from None
        _log_retry(error, attempt, wait)
        await asyncio.sleep(wait)
        attempt += 1
