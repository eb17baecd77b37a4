"""AIPolicy: the LLM judge, run against the offline echo engine scripted with replies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airisk.errors import ConfigurationError, ScannerError, ScannerTimeout
from airisk.pipeline import ScannerPipeline
from airisk.providers.base import EngineEvent, EngineRequest, EngineResponse
from airisk.providers.echo import Echo
from airisk.scanners import get_scanner_class
from airisk.scanners.ai_policy import AIPolicy, MalformedVerdict, parse_verdict
from airisk.types import ScanContext, Verdict

POLICY = "Do not discuss competitors' products or pricing."


def verdict(violation: bool, score: float, reason: str = "why", categories: list[str] | None = None) -> str:
    return json.dumps({"violation": violation, "score": score, "reason": reason, "categories": categories or []})


def test_registered_under_its_name() -> None:
    assert get_scanner_class("ai_policy") is AIPolicy


def test_violation_blocks_with_reason_and_categories() -> None:
    engine = Echo(replies=[verdict(True, 0.9, "mentions a competitor price", ["competitors"])])
    scanner = AIPolicy(policy=POLICY, engine=engine, categories=["competitors"])
    result = scanner.scan("How much does RivalCorp charge?", ScanContext())
    assert result.verdict is Verdict.BLOCK
    assert result.score == pytest.approx(0.9)
    (finding,) = result.findings
    assert finding.kind == "policy_violation"
    assert (finding.start, finding.end) == (0, len("How much does RivalCorp charge?"))
    assert finding.detail == {"reason": "mentions a competitor price", "categories": ["competitors"]}


def test_request_carries_policy_categories_and_message_as_data() -> None:
    engine = Echo(replies=[verdict(False, 0.1)])
    scanner = AIPolicy(policy=POLICY, engine=engine, categories=["competitors", "pricing"])
    result = scanner.scan("Hello there", ScanContext())
    assert result.verdict is Verdict.PASS and not result.findings
    (request,) = engine.requests
    assert POLICY in (request.system or "")
    assert "competitors, pricing" in (request.system or "")
    assert "Hello there" in request.messages[0].text
    assert request.temperature == 0.0


def test_flag_action() -> None:
    scanner = AIPolicy(policy=POLICY, engine=Echo(replies=[verdict(True, 0.7)]), action="flag")
    assert scanner.scan("x", ScanContext()).verdict is Verdict.FLAG


def test_redact_is_not_supported() -> None:
    with pytest.raises(ConfigurationError):
        AIPolicy(policy=POLICY, engine=Echo(), action="redact")


def test_needs_an_engine() -> None:
    with pytest.raises(ConfigurationError, match="needs an engine"):
        AIPolicy(policy=POLICY)


def test_engine_built_by_name_and_settings() -> None:
    scanner = AIPolicy(policy=POLICY, engine="echo", engine_settings={"replies": [verdict(True, 1.0)]})
    assert isinstance(scanner.engine, Echo)
    assert scanner.scan("anything", ScanContext()).verdict is Verdict.BLOCK
    assert scanner.settings()["engine"] == "echo"


def test_json_in_a_code_fence_is_accepted() -> None:
    fenced = "```json\n" + verdict(True, 0.8) + "\n```"
    scanner = AIPolicy(policy=POLICY, engine=Echo(replies=[fenced]))
    assert scanner.scan("x", ScanContext()).verdict is Verdict.BLOCK


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("Sure! It looks fine to me.", "not JSON"),
        ('{"violation": false, "score": 0.2', "not JSON"),
        ("[1, 2]", "expected an object"),
        ('{"violation": "no", "score": 0.2, "reason": "", "categories": []}', "violation"),
        ('{"violation": false, "score": "0.2", "reason": "", "categories": []}', "score"),
        ('{"violation": false, "score": 1.7, "reason": "", "categories": []}', "score"),
        ('{"violation": true, "score": true, "reason": "", "categories": []}', "score"),
        ('{"violation": true, "score": 0.9, "reason": 3, "categories": []}', "reason"),
        ('{"violation": true, "score": 0.9, "reason": "", "categories": "x"}', "categories"),
        ('{"score": 0.9}', "violation"),
        ('Here you go: {"violation": false, "score": 0.1, "reason": "", "categories": []}', "not JSON"),
    ],
)
def test_malformed_verdicts_fail_closed(reply: str, problem: str) -> None:
    scanner = AIPolicy(policy=POLICY, engine=Echo(replies=[reply]))
    with pytest.raises(MalformedVerdict, match=problem):
        scanner.scan("message", ScanContext())
    report = ScannerPipeline(input=[AIPolicy(policy=POLICY, engine=Echo(replies=[reply]))]).scan_input("message")
    assert report.blocked
    assert "MalformedVerdict" in report.errors["ai_policy"]


def test_integer_score_is_a_number() -> None:
    assert parse_verdict('{"violation": true, "score": 1}').score == 1.0


def test_cache_is_keyed_by_policy_and_text() -> None:
    engine = Echo(replies=[verdict(True, 0.9), verdict(False, 0.0), verdict(False, 0.1)])
    scanner = AIPolicy(policy=POLICY, engine=engine)
    first = scanner.scan("same text", ScanContext())
    again = scanner.scan("same text", ScanContext())
    assert first.verdict is again.verdict is Verdict.BLOCK
    assert len(engine.requests) == 1
    scanner.scan("other text", ScanContext())
    assert len(engine.requests) == 2
    scanner.config.policy = "Another policy."
    assert scanner.scan("same text", ScanContext()).verdict is Verdict.PASS
    assert len(engine.requests) == 3


def test_cache_is_bounded_lru() -> None:
    engine = Echo(replies=[verdict(False, 0.0)] * 10)
    scanner = AIPolicy(policy=POLICY, engine=engine, cache_size=2)
    for text in ["a", "b", "a", "c", "a", "b"]:
        scanner.scan(text, ScanContext())
    # a, b miss; a hit; c miss (evicts b); a hit; b miss again
    assert [r.messages[0].text.split("\n")[2] for r in engine.requests] == ["a", "b", "c", "b"]


def test_malformed_output_is_not_cached() -> None:
    engine = Echo(replies=["garbage", verdict(False, 0.0)])
    scanner = AIPolicy(policy=POLICY, engine=engine)
    with pytest.raises(ScannerError):
        scanner.scan("t", ScanContext())
    assert scanner.scan("t", ScanContext()).verdict is Verdict.PASS


class SlowEcho(Echo):
    """An echo engine that takes its time, to exercise the time limit."""

    delay_s = 2.0

    def complete(self, request: EngineRequest) -> EngineResponse:
        time.sleep(self.delay_s)
        return super().complete(request)

    def stream(self, request: EngineRequest) -> Iterator[EngineEvent]:
        time.sleep(self.delay_s)
        yield from super().stream(request)


def test_time_limit_raises_scanner_timeout() -> None:
    scanner = AIPolicy(policy=POLICY, engine=SlowEcho(replies=[verdict(False, 0.0)]), timeout_s=0.05)
    with pytest.raises(ScannerTimeout):
        scanner.scan("slow", ScanContext())


async def test_async_time_limit_and_pipeline_blocks() -> None:
    scanner = AIPolicy(policy=POLICY, engine=SlowEcho(replies=[verdict(False, 0.0)]), timeout_s=0.05)
    with pytest.raises(ScannerTimeout):
        await scanner.ascan("slow", ScanContext())
    report = await ScannerPipeline(input=[scanner]).ascan_input("slow")
    assert report.blocked and "ScannerTimeout" in report.errors["ai_policy"]


async def test_async_scan_uses_cache() -> None:
    engine = Echo(replies=[verdict(True, 0.6)])
    scanner = AIPolicy(policy=POLICY, engine=engine)
    assert (await scanner.ascan("q", ScanContext())).verdict is Verdict.BLOCK
    assert (await scanner.ascan("q", ScanContext())).verdict is Verdict.BLOCK
    assert len(engine.requests) == 1


def test_engine_errors_become_scanner_errors() -> None:
    class Broken(Echo):
        def complete(self, request: EngineRequest) -> EngineResponse:
            raise RuntimeError("socket closed")

    with pytest.raises(ScannerError, match="RuntimeError"):
        AIPolicy(policy=POLICY, engine=Broken()).scan("x", ScanContext())


def test_scan_many_blocks_only_the_message_whose_verdict_is_malformed() -> None:
    engine = Echo(replies=[verdict(False, 0.1)] * 3 + ["oops"])
    # replies are handed out in call order; with one worker the order is the input order
    scanner = AIPolicy(policy=POLICY, engine=engine, max_concurrency=1)
    reports = ScannerPipeline(input=[scanner]).scan_many(["a", "b", "c", "d"])
    assert [r.verdict for r in reports] == [Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.BLOCK]
    assert "MalformedVerdict" in (reports[3].results[0].error or "")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
            max_leaves=12,
        ).map(json.dumps),
        st.fixed_dictionaries(
            {
                "violation": st.one_of(st.booleans(), st.text(max_size=5), st.integers()),
                "score": st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=5), st.booleans()),
                "reason": st.one_of(st.text(max_size=10), st.integers()),
                "categories": st.one_of(st.lists(st.text(max_size=5), max_size=3), st.text(max_size=5)),
            }
        ).map(json.dumps),
    )
)
def test_any_judge_reply_parses_or_fails_closed(reply: str) -> None:
    """Whatever the judge says, the result is a valid verdict or MalformedVerdict — nothing else."""
    try:
        verdict = parse_verdict(reply)
    except MalformedVerdict:
        return
    assert isinstance(verdict.violation, bool)
    assert 0.0 <= verdict.score <= 1.0
    assert isinstance(verdict.reason, str) and all(isinstance(c, str) for c in verdict.categories)


def test_policy_file_builds_the_judge_by_engine_name() -> None:
    policy = {
        "version": 1,
        "input": [
            {
                "type": "ai_policy",
                "policy": POLICY,
                "engine": "echo",
                "engine_settings": {"replies": [verdict(True, 0.8, "competitor")]},
                "action": "flag",
            }
        ],
    }
    pipeline = ScannerPipeline.from_policy(policy)
    report = pipeline.scan_input("What does RivalCorp charge?")
    assert report.verdict is Verdict.FLAG
    assert pipeline.to_policy().input[0].settings["policy"] == POLICY
