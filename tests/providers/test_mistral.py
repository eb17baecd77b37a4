"""Exact chat requests the Mistral engine sends, and how answers map back."""

from __future__ import annotations

import pytest

from airisk.errors import BadRequestError
from airisk.providers import Mistral
from airisk.providers.base import EngineRequest, collect_stream
from airisk.types import ContentPart, Message, StopReason, ToolCall, ToolSpec, Usage

from .fake_server import Answer, FakeServer
from .wires import MistralWire

WIRE = MistralWire()
LOOKUP = ToolSpec(name="lookup_order", description="Find an order", parameters={"type": "object", "properties": {}})


def test_request_shape_system_history_and_options(server: FakeServer) -> None:
    server.queue(WIRE.text("Bonjour", cached=2))
    request = EngineRequest(
        system="Réponds en français.",
        messages=[
            Message(role="user", content="Hello"),
            Message(role="assistant", content="Bonjour !"),
            Message(role="user", content="Again"),
        ],
        temperature=0.3,
        max_tokens=40,
        stop=["###"],
    )
    response = WIRE.engine(server.url).complete(request)
    sent = server.last
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {WIRE.key}"
    body = sent.json
    assert body["model"] == "mistral-small-latest"
    assert body["messages"] == [
        {"role": "system", "content": "Réponds en français."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Bonjour !", "prefix": False},
        {"role": "user", "content": "Again"},
    ]
    assert (body["temperature"], body["max_tokens"], body["stop"]) == (0.3, 40, ["###"])
    assert body["stream"] is False
    assert response.text == "Bonjour"
    assert response.usage == Usage(input_tokens=7, output_tokens=3, cached_tokens=2)
    assert response.model == "mistral-small-2503"


def test_tool_call_round_trip_carries_function_name(server: FakeServer) -> None:
    call = {"id": "abc123xyz", "type": "function", "function": {"name": "lookup_order", "arguments": '{"id": 7}'}}
    server.queue(
        Answer(json=WIRE.completion({"content": "", "tool_calls": [call]}, "tool_calls")), WIRE.text("Shipped.")
    )
    engine = WIRE.engine(server.url)
    history = [Message(role="user", content="Where is order 7?")]
    first = engine.complete(EngineRequest(messages=history, tools=[LOOKUP]))
    assert first.stop_reason is StopReason.TOOL_CALLS
    assert first.tool_calls == [ToolCall(id="abc123xyz", name="lookup_order", arguments='{"id": 7}')]
    assert server.last.json["tools"][0]["function"]["name"] == "lookup_order"
    history += [first.message, Message(role="tool", tool_call_id="abc123xyz", content='{"status": "shipped"}')]
    assert engine.complete(EngineRequest(messages=history, tools=[LOOKUP])).text == "Shipped."
    sent = server.last.json["messages"]
    assert sent[1]["role"] == "assistant"
    assert sent[1]["tool_calls"] == [{**call, "index": 0}]
    assert sent[2] == {
        "role": "tool",
        "content": '{"status": "shipped"}',
        "tool_call_id": "abc123xyz",
        "name": "lookup_order",
    }


def test_stream_tool_call(server: FakeServer) -> None:
    deltas = [
        {"content": "Checking"},
        {"tool_calls": [{"id": "t1", "function": {"name": "lookup_order", "arguments": '{"id": 9}'}, "index": 0}]},
    ]
    server.queue(WIRE.stream_events(deltas, "tool_calls", input_tokens=12, output_tokens=6))
    events = list(WIRE.engine(server.url).stream(EngineRequest(messages=[Message(role="user", content="9?")])))
    assert server.last.json["stream"] is True
    assert server.last.headers["accept"] == "text/event-stream"
    folded = collect_stream(events, engine="mistral", model="m")
    assert folded.text == "Checking"
    assert folded.tool_calls == [ToolCall(id="t1", name="lookup_order", arguments='{"id": 9}')]
    assert folded.stop_reason is StopReason.TOOL_CALLS
    assert folded.usage == Usage(input_tokens=12, output_tokens=6)


def test_documents_by_url_and_bytes_refused(server: FakeServer) -> None:
    server.queue(WIRE.text("ok"))
    parts = [ContentPart(text="Summarise"), ContentPart(type="file", url="https://example.com/r.pdf", name="r.pdf")]
    WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content=parts)]))
    assert server.last.json["messages"][0]["content"][1] == {
        "type": "document_url",
        "document_url": "https://example.com/r.pdf",
        "document_name": "r.pdf",
    }
    with pytest.raises(BadRequestError, match="URL"):
        WIRE.engine(server.url).complete(
            EngineRequest(messages=[Message(role="user", content=[ContentPart(type="file", data=b"%PDF")])])
        )
    assert len(server.requests) == 1


def test_key_from_environment(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "mistral-env-key")
    server.queue(WIRE.text("ok"))
    Mistral(server_url=server.url).complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert server.last.headers["authorization"] == "Bearer mistral-env-key"
