"""Exact wire requests of the chat-completions engines: OpenAI, Azure OpenAI and Llama hosts."""

from __future__ import annotations

import pytest

from airisk import Agent, ScannerPipeline, ToolResult
from airisk.errors import ConfigurationError, ContentFilteredError, ContextTooLongError
from airisk.providers import AzureOpenAI, Llama, OpenAI
from airisk.providers.base import EngineRequest, collect_stream
from airisk.types import ContentPart, Message, StopReason, ToolCall, ToolSpec, Usage

from .fake_server import Answer, FakeServer
from .guards import BlockWord, RedactCode
from .wires import AzureWire, LlamaWire, OpenAIWire

WIRE = OpenAIWire()
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def test_plain_request_shape_and_headers(server: FakeServer) -> None:
    server.queue(WIRE.text("Hi!"))
    response = WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content="Hello")]))
    sent = server.last
    assert sent.method == "POST" and sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {WIRE.key}"
    assert sent.json == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}
    assert "x-stainless-retry-count" not in sent.headers or sent.headers["x-stainless-retry-count"] == "0"
    assert response.request_id == "req_123"
    assert response.model == "gpt-4o-mini-2024-07-18"


def test_system_prompt_history_and_options(server: FakeServer) -> None:
    server.queue(WIRE.text("Paris again.", cached=4))
    request = EngineRequest(
        system="You are terse.",
        messages=[
            Message(role="user", content="Capital of France?"),
            Message(role="assistant", content="Paris."),
            Message(role="user", content="And again?"),
        ],
        temperature=0.2,
        max_tokens=50,
        stop=["\n\n"],
    )
    response = WIRE.engine(server.url).complete(request)
    assert server.last.json == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "And again?"},
        ],
        "temperature": 0.2,
        "max_completion_tokens": 50,
        "stop": ["\n\n"],
    }
    assert response.usage == Usage(input_tokens=7, output_tokens=3, cached_tokens=4)


def test_settings_defaults_apply_when_request_is_silent(server: FakeServer) -> None:
    server.queue(WIRE.text("ok"))
    WIRE.engine(server.url, temperature=0.7, max_tokens=99).complete(EngineRequest(messages=[Message(role="user")]))
    assert server.last.json["temperature"] == 0.7
    assert server.last.json["max_completion_tokens"] == 99


def test_image_content_part(server: FakeServer) -> None:
    server.queue(WIRE.text("a cat"))
    parts = [ContentPart(text="What is this?"), ContentPart(type="image", data=b"\x89PNG", media_type="image/png")]
    WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content=parts)]))
    assert server.last.json["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
    ]


def test_tool_call_round_trip(server: FakeServer) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
    server.queue(
        Answer(json=WIRE.completion({"content": None, "tool_calls": [call]}, "tool_calls")),
        WIRE.text("It is sunny in Oslo."),
    )
    engine = WIRE.engine(server.url)
    history = [Message(role="user", content="Weather in Oslo?")]
    first = engine.complete(EngineRequest(messages=history, tools=[WEATHER]))
    assert first.stop_reason is StopReason.TOOL_CALLS
    assert first.tool_calls == [ToolCall(id="call_1", name="get_weather", arguments='{"city":"Oslo"}')]
    assert server.last.json["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Weather for a city", "parameters": WEATHER.parameters},
        }
    ]
    history += [first.message, Message(role="tool", tool_call_id="call_1", content='{"sky":"sunny"}')]
    second = engine.complete(EngineRequest(messages=history, tools=[WEATHER]))
    assert second.text == "It is sunny in Oslo."
    assert server.last.json["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "content": '{"sky":"sunny"}', "tool_call_id": "call_1"},
    ]


def test_stream_request_and_tool_call_deltas(server: FakeServer) -> None:
    deltas = [
        {"tool_calls": [{"index": 0, "id": "call_9", "type": "function", "function": {"name": "get_weather"}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Rome"}'}}]},
    ]
    server.queue(WIRE.stream_events(deltas, "tool_calls", input_tokens=20, output_tokens=8))
    engine = WIRE.engine(server.url)
    events = list(engine.stream(EngineRequest(messages=[Message(role="user", content="Rome?")], tools=[WEATHER])))
    assert server.last.json["stream"] is True
    assert server.last.json["stream_options"] == {"include_usage": True}
    tool_events = [e for e in events if e.type == "tool_call"]
    assert [e.arguments_delta for e in tool_events] == ["", '{"city":', '"Rome"}']
    folded = collect_stream(events, engine="openai", model="gpt-4o-mini")
    assert folded.tool_calls == [ToolCall(id="call_9", name="get_weather", arguments='{"city":"Rome"}')]
    assert folded.stop_reason is StopReason.TOOL_CALLS
    assert folded.usage == Usage(input_tokens=20, output_tokens=8)


def test_finish_reasons_map(server: FakeServer) -> None:
    server.queue(
        Answer(json=WIRE.completion({"content": "cut"}, "length")),
        Answer(json=WIRE.completion({"content": ""}, "content_filter")),
    )
    engine = WIRE.engine(server.url)
    request = EngineRequest(messages=[Message(role="user", content="x")])
    assert engine.complete(request).stop_reason is StopReason.MAX_TOKENS
    assert engine.complete(request).stop_reason is StopReason.CONTENT_FILTER


def test_context_too_long_and_content_filter_errors(server: FakeServer) -> None:
    too_long = WIRE.error(400, "This model's maximum context length is 128000 tokens.")
    too_long.json["error"]["code"] = "context_length_exceeded"
    filtered = WIRE.error(400, "The response was filtered due to the prompt triggering content management policy.")
    filtered.json["error"]["code"] = "content_filter"
    server.queue(too_long, filtered)
    engine = WIRE.engine(server.url)
    request = EngineRequest(messages=[Message(role="user", content="x")])
    with pytest.raises(ContextTooLongError):
        engine.complete(request)
    with pytest.raises(ContentFilteredError):
        engine.complete(request)


def test_api_key_from_environment_and_secret_reference(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from airisk.providers import set_secret_resolver

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-000000")
    server.queue(WIRE.text("a"), WIRE.text("b"))
    OpenAI(base_url=f"{server.url}/v1").complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert server.last.headers["authorization"] == "Bearer sk-from-env-000000"

    previous = set_secret_resolver({"openai-prod": "sk-from-store-111111"}.get)
    try:
        engine = OpenAI(api_key="secret:openai-prod", base_url=f"{server.url}/v1")
        engine.complete(EngineRequest(messages=[Message(role="user", content="x")]))
    finally:
        set_secret_resolver(previous)
    assert server.last.headers["authorization"] == "Bearer sk-from-store-111111"
    assert "sk-from-store" not in repr(engine.settings)


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAI(model="gpt-4o-mini").complete(EngineRequest(messages=[Message(role="user", content="x")]))


def test_azure_deployment_route(server: FakeServer) -> None:
    wire = AzureWire()
    server.queue(wire.text("hi"))
    wire.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content="x")]))
    sent = server.last
    assert sent.path == "/openai/deployments/chat-prod/chat/completions"
    assert sent.query == {"api-version": ["2024-10-21"]}
    assert sent.headers["api-key"] == wire.key
    assert "authorization" not in sent.headers
    assert sent.json["model"] == "chat-prod"


def test_azure_v1_route_with_entra_token_provider(server: FakeServer) -> None:
    wire = AzureWire()
    server.queue(wire.text("hi"))
    engine = AzureOpenAI(
        endpoint=server.url, deployment="chat-prod", route="v1", token_provider=lambda: "entra-token-abc"
    )
    engine.complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert server.last.path == "/openai/v1/chat/completions"
    assert server.last.headers["authorization"] == "Bearer entra-token-abc"
    assert server.last.json["model"] == "chat-prod"


def test_azure_environment(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-from-env")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01-preview")
    server.queue(AzureWire().text("hi"))
    AzureOpenAI(deployment="d1").complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert server.last.path == "/openai/deployments/d1/chat/completions"
    assert server.last.query == {"api-version": ["2025-01-01-preview"]}
    assert server.last.headers["api-key"] == "azure-key-from-env"


def test_llama_meta_compat_route(server: FakeServer) -> None:
    wire = LlamaWire()
    server.queue(wire.text("hi"))
    wire.engine(server.url, max_tokens=64).complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert server.last.path == "/compat/v1/chat/completions"
    assert server.last.headers["authorization"] == f"Bearer {wire.key}"
    assert server.last.json["max_tokens"] == 64


def test_llama_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLAMA_API_KEY", raising=False)
    monkeypatch.delenv("LLAMA_BASE_URL", raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert Llama(preset="meta").base_url() == "https://api.llama.com/compat/v1/"
    assert Llama(preset="ollama", model="llama3.2").base_url() == "http://localhost:11434/v1/"
    assert Llama(preset="vllm").base_url() == "http://localhost:8000/v1/"
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.5:11434")
    assert Llama(preset="ollama").base_url() == "http://10.0.0.5:11434/v1/"
    with pytest.raises(ConfigurationError, match="LLAMA_API_KEY"):
        Llama(preset="meta").complete(EngineRequest(messages=[Message(role="user", content="x")]))


def test_ollama_needs_no_key(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    server.queue(LlamaWire().text("hi"))
    engine = Llama(preset="ollama", model="llama3.2", base_url=f"{server.url}/v1/")
    assert engine.complete(EngineRequest(messages=[Message(role="user", content="x")])).text == "hi"
    assert server.last.path == "/v1/chat/completions"
    assert server.last.json["model"] == "llama3.2"


def test_settings_object_and_keywords_are_equivalent() -> None:
    from airisk.providers.openai import OpenAISettings

    settings = OpenAISettings(model="gpt-4o", api_key="sk-abcdefabcdef")
    assert OpenAI(settings).settings == settings
    assert OpenAI(settings, temperature=0.1).settings.temperature == 0.1
    assert OpenAI(model="gpt-4o", api_key="sk-abcdefabcdef").settings == settings
    assert "sk-abcdef" not in repr(OpenAI(settings).settings)
    with pytest.raises(ConfigurationError):
        OpenAI(object())  # type: ignore[arg-type]


async def test_azure_v1_route_async_with_token_provider(server: FakeServer) -> None:
    server.queue(AzureWire().stream(["to", "ken"]))
    engine = AzureOpenAI(endpoint=server.url, deployment="chat-prod", route="v1", token_provider=lambda: "entra-async")
    events = [e async for e in engine.astream(EngineRequest(messages=[Message(role="user", content="x")]))]
    assert "".join(e.text for e in events if e.type == "text") == "token"
    assert server.last.headers["authorization"] == "Bearer entra-async"
    assert server.last.path == "/openai/v1/chat/completions"


def test_guarded_tool_turn_over_the_real_sdk(server: FakeServer) -> None:
    arguments = '{"ref":"ACME-123456"}'
    call = {"id": "call_7", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    server.queue(
        Answer(json=WIRE.completion({"content": None, "tool_calls": [call]}, "tool_calls")),
        WIRE.text("Sunny."),
    )
    pipeline = ScannerPipeline(input=[BlockWord()], output=[RedactCode(action="redact")])
    conversation = Agent("weather", WIRE.engine(server.url), pipeline=pipeline, tools=[WEATHER]).conversation()
    first = conversation.ask("Weather in Oslo?")
    assert first.tool_calls == [ToolCall(id="call_7", name="get_weather", arguments='{"ref":"[CODE]"}')]

    refused = conversation.submit_tool_results([ToolResult(tool_call_id="call_7", content="the forbidden page")])
    assert refused.blocked and len(server.requests) == 1  # the poisoned result never reached the vendor

    second = conversation.ask("So, the weather?")
    assert second.text == "Sunny."
    sent = server.last.json["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == '{"ref":"[CODE]"}'
    assert sent[2]["role"] == "tool" and sent[2]["tool_call_id"] == "call_7" and "forbidden" not in sent[2]["content"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
