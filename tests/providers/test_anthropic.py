"""Exact Messages API requests the Anthropic engine sends, and how answers map back."""

from __future__ import annotations

import pytest

from airisk.errors import ContextTooLongError, UnavailableError
from airisk.providers import Anthropic
from airisk.providers.base import EngineRequest, collect_stream
from airisk.types import ContentPart, Message, StopReason, ToolCall, ToolSpec, Usage

from .fake_server import Answer, FakeServer
from .wires import AnthropicWire

WIRE = AnthropicWire()
WEATHER = ToolSpec(name="get_weather", description="Weather", parameters={"type": "object", "properties": {}})


def test_plain_request_shape_headers_and_default_max_tokens(server: FakeServer) -> None:
    server.queue(WIRE.text("Hi!", input_tokens=12, output_tokens=2, cached=10))
    response = WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content="Hello")]))
    sent = server.last
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {WIRE.key}"
    assert "anthropic-version" in sent.headers
    assert sent.json == {
        "model": "claude-sonnet-5-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    assert response.text == "Hi!"
    assert response.usage == Usage(input_tokens=12, output_tokens=2, cached_tokens=10)
    assert response.request_id == "req_ant_1"


def test_system_prompt_goes_to_system_and_history_alternates(server: FakeServer) -> None:
    server.queue(WIRE.text("ok"))
    request = EngineRequest(
        system="Be terse.",
        messages=[
            Message(role="system", content="Answer in English."),
            Message(role="user", content="One?"),
            Message(role="assistant", content="1"),
            Message(role="user", content="Two?"),
        ],
        temperature=1.5,
        max_tokens=200,
        stop=["END"],
    )
    WIRE.engine(server.url).complete(request)
    assert server.last.json == {
        "model": "claude-sonnet-5-5",
        "max_tokens": 200,
        "system": "Be terse.\n\nAnswer in English.",
        "messages": [
            {"role": "user", "content": "One?"},
            {"role": "assistant", "content": "1"},
            {"role": "user", "content": "Two?"},
        ],
        "stop_sequences": ["END"],
    }


def test_tool_call_round_trip(server: FakeServer) -> None:
    tool_use = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
    server.queue(
        Answer(json=WIRE.message([{"type": "text", "text": "Checking."}, tool_use], stop="tool_use")),
        WIRE.text("Sunny."),
    )
    engine = WIRE.engine(server.url)
    history = [Message(role="user", content="Weather in Oslo?")]
    first = engine.complete(EngineRequest(messages=history, tools=[WEATHER]))
    assert first.stop_reason is StopReason.TOOL_CALLS
    assert first.text == "Checking."
    assert first.tool_calls == [ToolCall(id="toolu_1", name="get_weather", arguments='{"city": "Oslo"}')]
    assert server.last.json["tools"] == [
        {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {}}}
    ]
    history += [first.message, Message(role="tool", tool_call_id="toolu_1", content="sunny, 21C")]
    engine.complete(EngineRequest(messages=history, tools=[WEATHER]))
    assert server.last.json["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny, 21C"}]},
    ]


def test_stream_tool_use_deltas_and_usage(server: FakeServer) -> None:
    blocks = [
        [{"type": "text", "text": ""}, {"type": "text_delta", "text": "Let me check."}],
        [
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
            {"type": "input_json_delta", "partial_json": '{"city": '},
            {"type": "input_json_delta", "partial_json": '"Rome"}'},
        ],
    ]
    server.queue(WIRE.stream_events(blocks, "tool_use", input_tokens=30, output_tokens=15))
    events = list(WIRE.engine(server.url).stream(EngineRequest(messages=[Message(role="user", content="Rome?")])))
    assert server.last.json["stream"] is True
    folded = collect_stream(events, engine="anthropic", model="m")
    assert folded.text == "Let me check."
    assert folded.tool_calls == [ToolCall(id="toolu_2", name="get_weather", arguments='{"city": "Rome"}')]
    assert folded.stop_reason is StopReason.TOOL_CALLS
    assert folded.usage == Usage(input_tokens=30, output_tokens=15)


def test_images_and_documents(server: FakeServer) -> None:
    server.queue(WIRE.text("ok"))
    parts = [
        ContentPart(text="Compare"),
        ContentPart(type="image", data=b"abc", media_type="image/jpeg"),
        ContentPart(type="file", url="https://example.com/a.pdf"),
    ]
    WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content=parts)]))
    assert server.last.json["messages"][0]["content"] == [
        {"type": "text", "text": "Compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "YWJj"}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
    ]


def test_overloaded_mid_stream_is_unavailable(server: FakeServer) -> None:
    answer = WIRE.stream(["partial"])
    assert answer.sse is not None
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "x"}}
    answer.sse = [*answer.sse[:4], ("error", overloaded)]
    server.queue(answer)
    events = []
    with pytest.raises(UnavailableError):
        for event in WIRE.engine(server.url).stream(EngineRequest(messages=[Message(role="user", content="x")])):
            events.append(event)
    assert len(server.requests) == 1  # text had started: never retried mid-stream


def test_prompt_too_long(server: FakeServer) -> None:
    server.queue(WIRE.error(400, "prompt is too long: 250000 tokens > 200000 maximum"))
    with pytest.raises(ContextTooLongError):
        WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content="x")]))


def test_key_from_environment(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env-key-999")
    server.queue(WIRE.text("ok"))
    Anthropic(base_url=server.url).complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert server.last.headers["authorization"] == "Bearer sk-ant-env-key-999"
