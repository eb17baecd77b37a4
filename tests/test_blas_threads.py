"""scan_many keeps numpy's BLAS on one thread while it runs, and gives the user's setting back.

The limit is process-wide, so what matters is that it is counted: overlapping scan_many calls
from several threads must not leave BLAS stuck at one thread, nor lift the limit while one of
them still runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest

np = pytest.importorskip("numpy")
threadpoolctl = pytest.importorskip("threadpoolctl")

from airisk import ScannerPipeline  # noqa: E402
from airisk._blas_threads import single_threaded_blas  # noqa: E402
from airisk.scanners.base import Scanner  # noqa: E402
from airisk.types import ScanContext, ScanResult  # noqa: E402

pytestmark = pytest.mark.skipif(
    not threadpoolctl.threadpool_info(), reason="numpy has no BLAS that threadpoolctl can control"
)


_CONTROLLER = threadpoolctl.ThreadpoolController  # kept: one test replaces the module's


def blas_threads() -> int:
    return max(info["num_threads"] for info in _CONTROLLER().info() if info["user_api"] == "blas")


def set_blas_threads(count: int) -> None:
    """Set the count from a thread that ends at once: threadpoolctl lets only one live thread set
    OpenBLAS's count, and the test's own thread must not keep that right."""
    setter = threading.Thread(target=threadpoolctl.threadpool_limits, kwargs={"limits": count, "user_api": "blas"})
    setter.start()
    setter.join()


@pytest.fixture
def three_blas_threads() -> Iterator[None]:
    """BLAS at a known count above one (on a one-core machine too), restored afterwards."""
    original = blas_threads()
    set_blas_threads(3)
    assert blas_threads() == 3
    yield
    set_blas_threads(original)


class BlasWatcher(Scanner):
    """Records how many BLAS threads there are while its batch runs; optionally waits or fails."""

    name = "blas_watcher"

    def __init__(self, *, wait: threading.Event | None = None, fail: bool = False) -> None:
        super().__init__()
        self.seen: list[int] = []
        self.started = threading.Event()
        self.wait = wait
        self.fail = fail

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        return self.scan_batch([text], [ctx])[0]

    def scan_batch(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[ScanResult]:
        self.seen.append(blas_threads())
        self.started.set()
        if self.wait is not None:
            assert self.wait.wait(10)
        if self.fail:
            raise RuntimeError("scanner broke")
        return [self.result(text, []) for text in texts]


@pytest.mark.usefixtures("three_blas_threads")
def test_scan_many_runs_with_one_blas_thread_and_restores_the_count() -> None:
    watcher = BlasWatcher()
    reports = ScannerPipeline(input=[watcher]).scan_many(["a", "b", "c"], batch_size=2)
    assert [r.blocked for r in reports] == [False, False, False]
    assert watcher.seen == [1, 1]
    assert blas_threads() == 3


@pytest.mark.usefixtures("three_blas_threads")
def test_a_failing_scanner_still_restores_the_count() -> None:
    watcher = BlasWatcher(fail=True)
    reports = ScannerPipeline(input=[watcher]).scan_many(["a", "b"])
    assert all(r.blocked for r in reports)  # fail closed, message by message
    assert set(watcher.seen) == {1}
    assert blas_threads() == 3


@pytest.mark.usefixtures("three_blas_threads")
def test_overlapping_scan_many_calls_hold_the_limit_until_the_last_ends() -> None:
    release_first, release_second = threading.Event(), threading.Event()
    first, second = BlasWatcher(wait=release_first), BlasWatcher(wait=release_second)
    threads = [
        threading.Thread(target=ScannerPipeline(input=[first]).scan_many, args=(["one"],)),
        threading.Thread(target=ScannerPipeline(input=[second]).scan_many, args=(["two"],)),
    ]
    for thread in threads:
        thread.start()
    assert first.started.wait(10) and second.started.wait(10)
    release_first.set()  # the first call ends while the second still runs
    threads[0].join(10)
    assert blas_threads() == 1
    release_second.set()
    threads[1].join(10)
    assert first.seen == [1] and second.seen == [1]
    assert blas_threads() == 3


@pytest.mark.usefixtures("three_blas_threads")
def test_the_limit_is_counted_across_interleaved_entries_and_exits() -> None:
    entered = [single_threaded_blas() for _ in range(3)]
    for context in entered:
        context.__enter__()
    assert blas_threads() == 1
    for context in entered[:2]:  # leave out of order: the outer two first
        context.__exit__(None, None, None)
        assert blas_threads() == 1
    entered[2].__exit__(None, None, None)
    assert blas_threads() == 3


def test_products_inside_the_limit_are_the_same() -> None:
    rng = np.random.default_rng(0)
    left, right = rng.standard_normal((64, 384)), rng.standard_normal((384, 256))
    outside = left @ right
    with single_threaded_blas():
        inside = left @ right
    np.testing.assert_allclose(inside, outside, rtol=1e-12, atol=1e-10)


@pytest.mark.usefixtures("three_blas_threads")
def test_a_limit_the_application_holds_is_left_alone() -> None:
    watcher = BlasWatcher()
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        ScannerPipeline(input=[watcher]).scan_many(["a"])
        assert watcher.seen == [2]  # its thread controls OpenBLAS: ours is ignored, nothing breaks
        assert blas_threads() == 2
    assert blas_threads() == 3
    ScannerPipeline(input=[watcher]).scan_many(["b"])  # control was handed back: the limit works again
    assert watcher.seen == [2, 1]
    assert blas_threads() == 3


@pytest.mark.usefixtures("three_blas_threads")
def test_a_blas_threadpoolctl_cannot_read_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import airisk._blas_threads as blas_threads_module

    def unreadable() -> None:
        raise OSError("cannot read the loaded libraries")

    monkeypatch.setattr(blas_threads_module, "_controller", None)
    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", unreadable)
    watcher = BlasWatcher()
    reports = ScannerPipeline(input=[watcher]).scan_many(["a", "b"])
    assert not any(r.blocked for r in reports), [r.results[0].error for r in reports]
    assert watcher.seen == [3]
    assert blas_threads_module._depth == 0
    assert blas_threads() == 3
