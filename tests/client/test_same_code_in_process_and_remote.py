"""The same guarded-conversation code runs in-process and against the server, with equal results."""

from __future__ import annotations

from typing import Any

from client_support import POLICY

from airisk import Agent, ScannerPipeline
from airisk.providers.echo import Echo
from airisk.types import Reply


def _summary(reply: Reply | None) -> tuple[Any, ...]:
    assert reply is not None
    reports = (reply.input_report, reply.output_report)
    return (
        reply.text,
        reply.blocked,
        reply.blocked_by,
        reply.flagged,
        tuple(report.verdict if report else None for report in reports),
        tuple((f.kind, f.start, f.end, f.score) for f in reply.findings),
        tuple(tuple(r.scanner for r in report.results) if report else () for report in reports),
        reply.usage,
        reply.stop_reason,
        reply.engine,
        reply.model,
    )


def guarded_scenario(agent: Any) -> list[Any]:
    """What an application does with an agent: it neither knows nor cares where the agent runs."""
    conversation = agent.conversation()
    results: list[Any] = []
    for text in ("hello", "something forbidden", "the watchword is out", "please say secretword"):
        results.append(_summary(conversation.ask(text)))
    for text in ("stream me please", "stream the secretword"):
        events = list(conversation.stream(text))
        results.append([(e.type, e.text, e.report.verdict if e.report else None) for e in events[:-1]])
        results.append(_summary(events[-1].reply))
    results.append(conversation.usage)
    results.append(_summary(agent.ask("one-off question")))
    return results


async def guarded_scenario_async(agent: Any) -> list[Any]:
    conversation = agent.conversation()
    if hasattr(conversation, "__await__"):
        conversation = await conversation
    results: list[Any] = [_summary(await conversation.aask("hello")), _summary(await conversation.aask("forbidden"))]
    events = [event async for event in conversation.astream("stream me please")]
    results.append([(e.type, e.text) for e in events[:-1]])
    results.append(_summary(events[-1].reply))
    results.append(conversation.usage)
    return results


def _in_process_agent() -> Agent:
    return Agent("helpdesk", Echo(), pipeline=ScannerPipeline.from_policy(POLICY), max_messages=40)


def test_same_scenario_in_process_and_remote(deployment: Any) -> None:
    local = guarded_scenario(_in_process_agent())
    with deployment.client(userid="alice") as client:
        remote = guarded_scenario(client.agents.get(deployment.agent_id))
    assert remote == local
    assert local[1][1] is True and local[3][2] is not None  # the scenario does exercise both blocks


async def test_same_async_scenario_in_process_and_remote(deployment: Any) -> None:
    local = await guarded_scenario_async(_in_process_agent())
    async with deployment.async_client(userid="alice") as client:
        remote = await guarded_scenario_async(await client.agents.get(deployment.agent_id))
    assert remote == local
