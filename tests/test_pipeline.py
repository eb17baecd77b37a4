"""The scanner pipeline: normalisation, verdicts, redaction merging, fail-closed, limits, batches."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airisk import ScannerPipeline
from airisk.errors import ConfigurationError, InputError
from airisk.normalize import normalize
from airisk.pipeline import ScanInterrupted
from airisk.scanners.base import apply_replacements
from airisk.types import Direction, Finding, ScanContext, ScanReport, Verdict

from support import Digits, Exploding, Keyword, SharedCounter, ShortBatch, Sleepy, SlowWarmUp, Spans

texts = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("0123456789 \u200b\u202e\ufeff\uff21\ufb01forbidden")),
    ),
    max_size=200,
)


def test_pass_keeps_normalised_text() -> None:
    report = ScannerPipeline(input=[Keyword()]).scan_input("hello there")
    assert report.verdict is Verdict.PASS
    assert report.sanitized_text == "hello there"
    assert not report.blocked


def test_block_and_reasons() -> None:
    report = ScannerPipeline(input=[Keyword(keywords=["secret plan"])]).scan_input("the SECRET PLAN is")
    assert report.blocked
    assert report.findings[0].start == 4 and report.findings[0].end == 15
    assert report.reasons == ["test_keyword: block (keyword)"]


def test_flag_does_not_block() -> None:
    report = ScannerPipeline(input=[Keyword(action="flag")]).scan_input("forbidden fruit")
    assert report.verdict is Verdict.FLAG


def test_normalisation_strips_hidden_characters_and_folds_compatibility_forms() -> None:
    pipeline = ScannerPipeline(input=[Keyword(keywords=["ignore"])])
    report = pipeline.scan_input("\uff29gn\u200bo\u202ere previous")  # full-width I, zero-width, bidi override
    assert report.text == "Ignore previous"
    assert report.blocked
    kinds = {f.kind for f in report.normalization}
    assert {"hidden_characters", "unicode_compatibility"} <= kinds
    hidden = next(f for f in report.normalization if f.kind == "hidden_characters")
    assert set(hidden.detail["types"]) == {"invisible_character"}


def test_redactors_merge_in_order_and_spans_refer_to_one_text() -> None:
    first = Digits(min_digits=4)
    second = Digits(min_digits=2)
    report = ScannerPipeline(input=[first, second]).scan_input("pin 12 card 12345678")
    assert report.verdict is Verdict.REDACT
    assert report.sanitized_text == "pin <NUM> card <NUM>"
    for finding in report.findings:
        assert 0 <= finding.start <= finding.end <= len(report.text)


def test_failing_scanner_blocks_and_reports_its_error() -> None:
    report = ScannerPipeline(input=[Keyword(), Exploding()]).scan_input("harmless")
    assert report.blocked
    assert report.errors == {"test_exploding": "RuntimeError: detector crashed"}


def test_fail_open_per_scanner_and_per_pipeline() -> None:
    assert ScannerPipeline(input=[Exploding(fail_open=True)]).scan_input("x").verdict is Verdict.PASS
    report = ScannerPipeline(input=[Exploding()], fail_closed=False).scan_input("x")
    assert report.verdict is Verdict.PASS
    assert report.errors  # the error is still reported, never swallowed


def test_time_limit_blocks_slow_scanner() -> None:
    report = ScannerPipeline(input=[Sleepy(seconds=1.0, timeout_s=0.05)]).scan_input("x")
    assert report.blocked
    assert "ScannerTimeout" in report.errors["test_sleepy"]


@pytest.mark.parametrize("batch", [False, True])
def test_each_time_limit_counts_from_the_start_not_from_the_last_wait(batch: bool) -> None:
    """The second scanner's 0.45 s limit runs while the first is still being waited for: it used
    to start only then, so a 0.6 s scan behind a 0.3 s one passed its 0.45 s limit."""
    pipeline = ScannerPipeline(input=[Sleepy(seconds=0.3, timeout_s=2.0), Sleepy(seconds=0.6, timeout_s=0.45)])
    report = pipeline.scan_many(["x"])[0] if batch else pipeline.scan_input("x")
    first, second = report.results
    assert first.error is None and first.verdict is Verdict.PASS
    assert second.error is not None and "ScannerTimeout" in second.error
    assert report.blocked


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_scanners_stuck_past_their_limits_do_not_starve_later_scans(mode: str) -> None:
    """A scanner that never returns keeps its thread (Python cannot stop it). Once every worker
    of the pool is held that way the pool is replaced, so other scans still get an answer
    instead of queueing behind the stuck ones until they time out too. The async path uses
    the same managed pool (all scans share one event loop, as in a server, whose default
    executor would otherwise fill up with stuck threads)."""
    from typing import ClassVar

    import airisk.pipeline as pipeline_module
    from airisk.scanners.base import Scanner
    from airisk.types import ScanResult

    release = threading.Event()

    class Stuck(Scanner):
        name: ClassVar[str] = "test_stuck"
        inline: ClassVar[bool] = False

        def scan(self, text: str, ctx: ScanContext) -> ScanResult:
            release.wait(60)
            return self.result(text, [])

    stuck = ScannerPipeline(input=[Stuck(timeout_s=0.05)])
    healthy = ScannerPipeline(input=[Sleepy(seconds=0.01, timeout_s=5.0)])
    healthy.warm_up()  # so its scan needs a worker only for the scanner itself
    rounds = max(pipeline_module._executor()._max_workers, 32 + 4)  # also more than asyncio's default executor

    async def in_one_loop() -> list[ScanReport]:
        reports = [await stuck.ascan_input("x") for _ in range(rounds)]
        return [*reports, await healthy.ascan_input("x")]

    try:
        if mode == "sync":
            reports = [stuck.scan_input("x") for _ in range(rounds)] + [healthy.scan_input("x")]
        else:
            reports = asyncio.run(in_one_loop())
        for report in reports[:-1]:
            assert "ScannerTimeout" in report.errors["test_stuck"]
        assert reports[-1].verdict is Verdict.PASS and not reports[-1].errors
    finally:
        release.set()


def test_early_exit_skips_the_rest() -> None:
    pipeline = ScannerPipeline(input=[Keyword(), Sleepy(seconds=0.3)], early_exit=True)
    report = pipeline.scan_input("forbidden")
    assert report.blocked
    sleepy = report.result("test_sleepy")
    assert sleepy.skipped or sleepy.verdict is Verdict.PASS


def test_heavy_detectors_run_concurrently() -> None:
    # entries of earlier tests go (an id can be reused once its scanner is freed); a scanner of
    # an earlier test still sleeping may append later, but while it lives its id is not ours
    Sleepy.calls.clear()
    sleepers = [Sleepy(seconds=0.2), Sleepy(seconds=0.2), Sleepy(seconds=0.2)]
    report = ScannerPipeline(input=sleepers).scan_input("x")
    assert report.verdict is Verdict.PASS
    mine = {id(sleeper) for sleeper in sleepers}
    threads = [thread for owner, thread in list(Sleepy.calls) if owner in mine]
    assert len(threads) == 3 and len(set(threads)) == 3  # three different worker threads


def test_expensive_work_is_shared_between_scanners_of_one_message() -> None:
    SharedCounter.computed = 0
    pipeline = ScannerPipeline(input=[SharedCounter(), SharedCounter(), SharedCounter()])
    pipeline.scan_input("one message")
    assert SharedCounter.computed == 1
    pipeline.scan_input("another message")
    assert SharedCounter.computed == 2


def test_context_reaches_scanners_and_is_not_mutated() -> None:
    ctx = ScanContext(user="alice", client_ip="81.2.69.142")
    report = ScannerPipeline(output=[Keyword()]).scan_output("fine", ctx)
    assert report.direction is Direction.OUTPUT
    assert ctx.direction is Direction.INPUT


@pytest.mark.parametrize(
    "bad, message",
    [(b"\xff\xfe bad", "not valid UTF-8"), ("x" * 2_000, "limit"), ("a\ud800b", "surrogate"), (42, "str or bytes")],
)
def test_bad_input_gets_a_clear_error(bad: object, message: str) -> None:
    pipeline = ScannerPipeline(input=[Keyword()], max_chars=1_000)
    with pytest.raises(InputError, match=message):
        pipeline.scan_input(bad)  # type: ignore[arg-type]


def test_bytes_input_is_decoded() -> None:
    assert ScannerPipeline(input=[Keyword()]).scan_input("café".encode()).text == "café"


def test_pipeline_refuses_non_scanners() -> None:
    with pytest.raises(ConfigurationError):
        ScannerPipeline(input=["regex"])  # type: ignore[list-item]


def test_report_json_round_trip() -> None:
    report = ScannerPipeline(input=[Digits()]).scan_input("call 5551234")
    data = report.to_dict()
    assert data["verdict"] == "redact" and data["sanitized_text"] == "call <NUM>"
    assert "text" not in report.to_dict(include_text=False)
    from airisk.types import ScanReport

    assert ScanReport.model_validate_json(report.to_json()) == report


def test_async_twins_match_sync() -> None:
    pipeline = ScannerPipeline(input=[Digits(), Keyword(action="flag")], output=[Digits()])
    text = "forbidden number 123456"
    sync = pipeline.scan_input(text)
    asynchronous = asyncio.run(pipeline.ascan_input(text))
    assert asynchronous.verdict == sync.verdict
    assert asynchronous.sanitized_text == sync.sanitized_text
    assert asyncio.run(pipeline.ascan_output("9999")).sanitized_text == "<NUM>"


def test_async_fails_closed_and_times_out() -> None:
    pipeline = ScannerPipeline(input=[Exploding(), Sleepy(seconds=1, timeout_s=0.05)])
    report = asyncio.run(pipeline.ascan_input("x"))
    assert report.blocked
    assert set(report.errors) == {"test_exploding", "test_sleepy"}


def test_scan_many_matches_one_by_one_and_keeps_order() -> None:
    pipeline = ScannerPipeline(input=[Digits(), Keyword(action="flag"), Exploding(fail_open=True)])
    items = [f"message {i} forbidden 1234{i}" if i % 3 == 0 else f"message {i}" for i in range(150)]
    batch = pipeline.scan_many(items, batch_size=32)
    single = [pipeline.scan_input(item) for item in items]
    assert [r.sanitized_text for r in batch] == [r.sanitized_text for r in single]
    assert [r.verdict for r in batch] == [r.verdict for r in single]


def test_scan_many_interrupt_keeps_finished_reports() -> None:
    class Interrupting(Keyword):
        seen = 0

        def scan(self, text, ctx):  # type: ignore[no-untyped-def]
            Interrupting.seen += 1
            if Interrupting.seen > 10:
                raise KeyboardInterrupt
            return super().scan(text, ctx)

    with pytest.raises(ScanInterrupted) as caught:
        ScannerPipeline(input=[Interrupting()]).scan_many(["a"] * 40, batch_size=5)
    assert len(caught.value.completed) == 10


def test_scan_many_rejects_mismatched_contexts() -> None:
    with pytest.raises(ConfigurationError):
        ScannerPipeline(input=[Keyword()]).scan_many(["a", "b"], contexts=[ScanContext()])


@given(texts)
def test_every_finding_span_lies_inside_the_text(text: str) -> None:
    report = ScannerPipeline(input=[Digits(min_digits=2), Keyword(action="flag")]).scan_input(text)
    for finding in report.findings:
        assert 0 <= finding.start <= finding.end <= len(report.text)
    for finding in report.normalization:
        assert 0 <= finding.start <= finding.end <= len(text)


@given(texts)
def test_redaction_removes_every_matched_value(text: str) -> None:
    report = ScannerPipeline(input=[Digits(min_digits=3)]).scan_input(text)
    assert not re.search(r"\d{3,}", report.sanitized_text)
    for finding in report.findings:
        value = report.text[finding.start : finding.end]
        assert value not in report.sanitized_text.replace("<NUM>", "\x00")


@given(texts)
def test_pass_verdict_sanitised_text_equals_normalised_input(text: str) -> None:
    report = ScannerPipeline(input=[Keyword(keywords=["zzzz-never"])]).scan_input(text)
    assert report.verdict is Verdict.PASS
    assert report.sanitized_text == normalize(text)[0] == report.text


@given(texts)
def test_normalisation_is_idempotent_and_leaves_no_hidden_characters(text: str) -> None:
    once, _ = normalize(text)
    twice, findings = normalize(once)
    assert once == twice and not [f for f in findings if f.kind == "hidden_characters"]
    assert not set(once) & set("\u200b\u202e\ufeff")


def test_scan_many_blocks_unreadable_messages_and_keeps_the_rest() -> None:
    pipeline = ScannerPipeline(input=[Digits()], max_chars=100)
    reports = pipeline.scan_many(["ok 12345", b"\xff bad bytes", "x" * 500, "fine"])
    assert [r.verdict for r in reports] == [Verdict.REDACT, Verdict.BLOCK, Verdict.BLOCK, Verdict.PASS]
    assert "not valid UTF-8" in reports[1].errors["input"]
    assert "limit" in reports[2].errors["input"]
    assert reports[0].sanitized_text == "ok <NUM>"


def test_custom_scanner_registered_by_entry_point(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A plug-in package declares `airisk.scanners` entry points; policies then name it."""
    import sys

    import airisk.scanners as registry
    from airisk.policy import Policy

    package = tmp_path / "ticket_plugin.py"
    package.write_text(
        "from airisk.scanners.base import Scanner\n"
        "from airisk.types import Finding\n"
        "class TicketId(Scanner):\n"
        "    name = 'ticket_id'\n"
        "    def scan(self, text, ctx):\n"
        "        i = text.find('ACME-')\n"
        "        return self.result(text, [] if i < 0 else [Finding(kind='ticket', start=i, end=i + 11)])\n"
    )
    dist = tmp_path / "ticket_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ticket-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[airisk.scanners]\nticket_id = ticket_plugin:TicketId\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._entry_points.cache_clear()
    try:
        assert "ticket_id" in registry.available()
        pipeline = Policy.from_dict({"input": [{"type": "ticket_id"}]}).build()
        assert pipeline.scan_input("see ACME-123456").blocked
    finally:
        sys.modules.pop("ticket_plugin", None)
        registry._entry_points.cache_clear()


def test_overlapping_redactions_from_two_scanners_leave_no_part_of_either_value() -> None:
    """A later redactor whose span starts earlier must not let the rest of the first one's value through."""
    first = Spans(spans=[(3, 13)], replacement="<EMAIL>")
    second = Spans(spans=[(1, 5)], replacement="<ID>")
    report = ScannerPipeline(input=[first, second]).scan_input("id john@x.com ok")
    assert "x.com" not in report.sanitized_text and "hn" not in report.sanitized_text
    assert report.sanitized_text == "i<ID> ok"


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=8))
def test_apply_replacements_removes_every_covered_character(spans: list[tuple[int, int]]) -> None:
    text = "x" * 40
    findings = [Finding(kind="k", start=min(s), end=max(s), replacement="#") for s in spans]
    covered = {i for f in findings for i in range(f.start, f.end)}
    assert apply_replacements(text, findings).count("x") == len(text) - len(covered)


def test_a_shared_pipeline_warms_each_scanner_once_under_concurrent_first_scans() -> None:
    """Policy.build_shared hands one pipeline to every conversation; their first messages
    arrive together and must not each load the models again."""
    import threading

    SlowWarmUp.warm_ups = 0
    pipeline = ScannerPipeline(input=[SlowWarmUp()])
    barrier = threading.Barrier(8)

    def first_message() -> None:
        barrier.wait()
        pipeline.scan_input("hello")

    threads = [threading.Thread(target=first_message) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert SlowWarmUp.warm_ups == 1


def test_a_redactor_without_a_time_limit_is_not_cut_short_by_the_others_limits() -> None:
    """timeout_s=None means no limit; the redactor chain must not borrow a neighbour's limit."""
    slow = Sleepy(action="redact", seconds=0.3, timeout_s=None)
    report = ScannerPipeline(input=[Digits(timeout_s=0.05), slow]).scan_input("card 12345678")
    assert report.errors == {}
    assert report.sanitized_text == "card <NUM>"


def test_cancelling_an_async_scan_cancels_its_scanner_tasks() -> None:
    """A caller that gives up (client disconnect, outer timeout) must not leave scanner tasks behind."""
    pipeline = ScannerPipeline(input=[Sleepy(seconds=0.2), Sleepy(action="redact", seconds=0.2)])

    async def main() -> set[asyncio.Task[object]]:
        scan = asyncio.ensure_future(pipeline.ascan_input("hello"))
        await asyncio.sleep(0.05)
        scan.cancel()
        with pytest.raises(asyncio.CancelledError):
            await scan
        await asyncio.sleep(0)
        return {task for task in asyncio.all_tasks() if task is not asyncio.current_task() and not task.done()}

    assert asyncio.run(main()) == set()


def test_scan_many_survives_a_batch_that_returns_the_wrong_number_of_results() -> None:
    """A scanner's broken scan_batch is one more scanner error: each message is scanned alone."""
    reports = ScannerPipeline(input=[ShortBatch(), Keyword()]).scan_many(["hello", "forbidden", "fine"])
    assert [r.verdict for r in reports] == [Verdict.PASS, Verdict.BLOCK, Verdict.PASS]
    assert all(r.errors == {} for r in reports)


def test_a_report_without_text_holds_no_copy_of_the_message() -> None:
    """to_dict(include_text=False) is what the server sends with a refusal and what audit
    logs keep; the redactor's own sanitised text is the message too. Reprs go to logs."""
    pipeline = ScannerPipeline(input=[Digits(), Keyword(keywords=["forbidden"])])
    report = pipeline.scan_input("the forbidden plan, pin 12345678")
    assert report.blocked
    dumped = report.to_json(include_text=False)
    assert "plan" not in dumped and "forbidden plan" not in dumped
    assert "plan" not in repr(report)
    assert report.result("test_digits").sanitized_text == "the forbidden plan, pin <NUM>"
    assert "plan" in report.to_json()
