"""Time limits are for scanning, not for loading: the pipeline warms a scanner before its
first timed scan, and a warm-up error still fails closed."""

from __future__ import annotations

import time

from airisk.pipeline import ScannerPipeline
from airisk.scanners.base import Scanner
from airisk.types import ScanContext, ScanResult, Verdict


class SlowToLoad(Scanner):
    name = "slow_to_load"
    inline = False

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self.loaded = 0

    def warm_up(self) -> None:
        time.sleep(0.5)  # a model load far beyond the 0.2 s scan limit
        self.loaded += 1

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        if not self.loaded:
            self.warm_up()
        return self.result(text, [])


class BrokenModel(SlowToLoad):
    name = "broken_model"

    def warm_up(self) -> None:
        raise RuntimeError("model file missing")


def test_first_scan_does_not_pay_for_loading() -> None:
    scanner = SlowToLoad(timeout_s=0.2)
    pipeline = ScannerPipeline(input=[scanner])
    report = pipeline.scan_input("hello")
    assert report.verdict is Verdict.PASS and report.errors == {}
    pipeline.scan_input("again")
    assert scanner.loaded == 1


async def test_async_first_scan_does_not_pay_for_loading() -> None:
    report = await ScannerPipeline(input=[SlowToLoad(timeout_s=0.2)]).ascan_input("hello")
    assert report.verdict is Verdict.PASS and report.errors == {}


def test_batch_first_scan_does_not_pay_for_loading() -> None:
    reports = ScannerPipeline(input=[SlowToLoad(timeout_s=0.2)]).scan_many(["a", "b"])
    assert [r.verdict for r in reports] == [Verdict.PASS, Verdict.PASS]


def test_a_failing_warm_up_still_fails_closed() -> None:
    report = ScannerPipeline(input=[BrokenModel(timeout_s=0.2)]).scan_input("hello")
    assert report.verdict is Verdict.BLOCK
    assert "model file missing" in report.errors["broken_model"]
