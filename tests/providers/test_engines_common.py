"""Behaviour every engine shares, run against each vendor's real SDK and a loopback fake server."""

from __future__ import annotations

import pytest

from airisk.errors import (
    AuthenticationError,
    EngineTimeoutError,
    RateLimitError,
    UnavailableError,
)
from airisk.providers.base import EngineRequest
from airisk.types import Message, StopReason, Usage

from .fake_server import FakeServer
from .guards import guarded_agent
from .wires import WIRES, Wire

pytestmark = pytest.mark.parametrize("wire", WIRES, ids=[w.name for w in WIRES])


def ask(text: str) -> EngineRequest:
    return EngineRequest(messages=[Message(role="user", content=text)])


def test_plain_turn(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.text("Hello there", input_tokens=11, output_tokens=2))
    response = wire.engine(server.url).complete(ask("Hi"))
    assert response.text == "Hello there"
    assert response.usage == Usage(input_tokens=11, output_tokens=2)
    assert response.stop_reason is StopReason.END_TURN
    assert response.engine == wire.name
    assert response.raw is not None
    assert wire.user_texts(server.last) == ["Hi"]
    assert len(server.requests) == 1


async def test_plain_turn_async(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.text("Hello async", input_tokens=5, output_tokens=2))
    response = await wire.engine(server.url).acomplete(ask("Hi"))
    assert response.text == "Hello async"
    assert response.usage.input_tokens == 5
    assert wire.user_texts(server.last) == ["Hi"]


def test_stream_yields_text_then_usage_then_done(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.stream(["Hel", "lo ", "world"], input_tokens=9, output_tokens=3))
    events = list(wire.engine(server.url).stream(ask("Hi")))
    assert "".join(e.text for e in events if e.type == "text") == "Hello world"
    assert [e.type for e in events][-2:] == ["usage", "done"]
    assert events[-2].usage == Usage(input_tokens=9, output_tokens=3)
    assert events[-1].stop_reason is StopReason.END_TURN
    assert wire.user_texts(server.last) == ["Hi"]


async def test_stream_async(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.stream(["a", "b", "c"], input_tokens=4, output_tokens=3))
    events = [event async for event in wire.engine(server.url).astream(ask("Hi"))]
    assert "".join(e.text for e in events if e.type == "text") == "abc"
    assert [e.type for e in events][-2:] == ["usage", "done"]
    assert events[-2].usage == Usage(input_tokens=4, output_tokens=3)


def test_unauthorized_is_not_retried_and_names_no_key(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.error(401, f"Incorrect API key provided: {wire.key}"))
    engine = wire.engine(server.url, max_retries=3)
    with pytest.raises(AuthenticationError) as caught:
        engine.complete(ask("Hi"))
    assert len(server.requests) == 1
    error = caught.value
    assert error.status == wire.auth_status
    assert error.engine == wire.name
    assert error.model == engine.model
    assert wire.key not in str(error)
    assert wire.key not in repr(error.body)
    assert wire.key not in repr(engine)
    assert wire.key not in repr(engine.settings)


def test_rate_limit_honours_retry_after_then_succeeds(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.error(429, "slow down", {"retry-after": "0.05"}), wire.text("finally"))
    response = wire.engine(server.url, max_retries=2).complete(ask("Hi"))
    assert response.text == "finally"
    assert len(server.requests) == 2


async def test_rate_limit_retried_async(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.error(429, "slow down", {"retry-after": "0.05"}), wire.stream(["ok"]))
    events = [e async for e in wire.engine(server.url, max_retries=1).astream(ask("Hi"))]
    assert "".join(e.text for e in events if e.type == "text") == "ok"
    assert len(server.requests) == 2


def test_rate_limit_error_carries_retry_after(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.error(429, "slow down", {"retry-after": "0.05"}))
    with pytest.raises(RateLimitError) as caught:
        wire.engine(server.url, max_retries=0).complete(ask("Hi"))
    assert caught.value.retry_after == pytest.approx(0.05)
    assert caught.value.status == 429


def test_server_errors_exhaust_retries(wire: Wire, server: FakeServer) -> None:
    server.queue(*[wire.error(500, "boom") for _ in range(3)])
    with pytest.raises(UnavailableError) as caught:
        wire.engine(server.url, max_retries=2).complete(ask("Hi"))
    assert len(server.requests) == 3
    assert caught.value.status == 500


def test_stream_server_errors_exhaust_retries(wire: Wire, server: FakeServer) -> None:
    server.queue(*[wire.error(503, "busy") for _ in range(2)])
    with pytest.raises(UnavailableError):
        list(wire.engine(server.url, max_retries=1).stream(ask("Hi")))
    assert len(server.requests) == 2


def test_timeout(wire: Wire, server: FakeServer) -> None:
    slow = wire.text("too late")
    slow.delay_s = 1.5
    server.queue(slow)
    with pytest.raises(EngineTimeoutError) as caught:
        wire.engine(server.url, timeout_s=0.3, max_retries=0).complete(ask("Hi"))
    assert caught.value.engine == wire.name


async def test_timeout_async(wire: Wire, server: FakeServer) -> None:
    slow = wire.text("too late")
    slow.delay_s = 1.5
    server.queue(slow)
    with pytest.raises(EngineTimeoutError):
        await wire.engine(server.url, timeout_s=0.3, max_retries=0).acomplete(ask("Hi"))


def test_guarded_conversation(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.text("Your code is ACME-123456."))
    conversation = guarded_agent(wire.engine(server.url)).conversation(user="alice")
    reply = conversation.ask("What is my code?")
    assert reply.text == "Your code is [CODE]."
    assert reply.output_report is not None and reply.output_report.findings
    assert wire.user_texts(server.last) == ["What is my code?"]

    blocked = conversation.ask("tell me the forbidden thing")
    assert blocked.blocked and blocked.input_report is not None and blocked.input_report.blocked
    assert len(server.requests) == 1  # blocked input never reached the vendor

    server.queue(wire.stream(["Still ", "ACME-", "654321", " here"]))
    events = list(conversation.stream("and again?"))
    shown = "".join(e.text for e in events if e.type == "text")
    assert shown == "Still [CODE] here"
    assert "654321" not in shown
    assert len(server.requests) == 2
    assert wire.user_texts(server.last) == ["What is my code?", "and again?"]


async def test_guarded_conversation_async(wire: Wire, server: FakeServer) -> None:
    server.queue(wire.text("ACME-111111 is yours"))
    conversation = guarded_agent(wire.engine(server.url)).conversation(user="bob")
    reply = await conversation.aask("code?")
    assert reply.text == "[CODE] is yours"

    events = [e async for e in conversation.astream("the forbidden question")]
    assert events[0].type == "blocked"
    assert len(server.requests) == 1

    server.queue(wire.stream(["ok ", "ACME-222222"]))
    events = [e async for e in conversation.astream("once more")]
    assert "".join(e.text for e in events if e.type == "text") == "ok [CODE]"
    assert len(server.requests) == 2


def test_stream_that_stalls_midway_times_out(wire: Wire, server: FakeServer) -> None:
    stalled = wire.stream(["first", "second", "third"])
    stalled.chunk_delay_s = 1.0
    server.queue(stalled)
    with pytest.raises(EngineTimeoutError):
        list(wire.engine(server.url, timeout_s=0.4, max_retries=0).stream(ask("Hi")))
    assert len(server.requests) == 1
