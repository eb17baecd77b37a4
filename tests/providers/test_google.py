"""Exact Gemini requests the Google engine sends through google-genai, and how answers map back."""

from __future__ import annotations

import base64

import pytest

from airisk.errors import ConfigurationError, PermissionDeniedError
from airisk.providers import Google
from airisk.providers.base import EngineRequest, collect_stream
from airisk.types import ContentPart, Message, StopReason, ToolSpec, Usage

from .fake_server import Answer, FakeServer
from .wires import GoogleWire

genai = pytest.importorskip("google.genai")
WIRE = GoogleWire()
# the API version google-genai calls by default: v1 from release 3, v1beta before (2.x is the
# last release for Python 3.10)
API_VERSION = "v1" if int(genai.__version__.split(".")[0]) >= 3 else "v1beta"
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def test_request_shape_system_instruction_and_generation_config(server: FakeServer) -> None:
    server.queue(WIRE.text("Short.", cached=5))
    request = EngineRequest(
        system="Be brief.",
        messages=[
            Message(role="user", content="Hi"),
            Message(role="assistant", content="Hello."),
            Message(role="user", content="Again"),
        ],
        temperature=0.2,
        max_tokens=10,
        stop=["Z"],
    )
    response = WIRE.engine(server.url).complete(request)
    sent = server.last
    assert sent.path == f"/{API_VERSION}/models/gemini-3.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == WIRE.key
    assert sent.json == {
        "contents": [
            {"parts": [{"text": "Hi"}], "role": "user"},
            {"parts": [{"text": "Hello."}], "role": "model"},
            {"parts": [{"text": "Again"}], "role": "user"},
        ],
        "systemInstruction": {"parts": [{"text": "Be brief."}], "role": "user"},
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 10, "stopSequences": ["Z"]},
    }
    assert response.text == "Short."
    assert response.usage == Usage(input_tokens=7, output_tokens=3, cached_tokens=5)
    assert response.model == "gemini-3.5-flash-001"
    assert response.request_id == "resp-g-1"


def test_tool_call_round_trip_without_automatic_calling(server: FakeServer) -> None:
    call_part = {
        "functionCall": {"id": "fc-1", "name": "get_weather", "args": {"city": "Oslo"}},
        "thoughtSignature": "c2ln",
    }
    server.queue(Answer(json=WIRE.response([call_part])), WIRE.text("Sunny."))
    engine = WIRE.engine(server.url)
    history = [Message(role="user", content="Weather in Oslo?")]
    first = engine.complete(EngineRequest(messages=history, tools=[WEATHER]))
    # the SDK did not run anything itself: one request, and the call comes back to us
    assert len(server.requests) == 1
    assert first.stop_reason is StopReason.TOOL_CALLS
    assert [(c.id, c.name, c.parsed_arguments()) for c in first.tool_calls] == [
        ("fc-1", "get_weather", {"city": "Oslo"})
    ]
    declaration = server.last.json["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "get_weather"
    assert declaration["description"] == "Weather for a city"
    assert (declaration.get("parametersJsonSchema") or declaration.get("parameters_json_schema")) == WEATHER.parameters

    history += [first.message, Message(role="tool", tool_call_id="fc-1", content="sunny")]
    assert engine.complete(EngineRequest(messages=history, tools=[WEATHER])).text == "Sunny."
    assert server.last.json["contents"][1:] == [
        {
            "parts": [
                {
                    "functionCall": {"id": "fc-1", "args": {"city": "Oslo"}, "name": "get_weather"},
                    "thoughtSignature": "c2ln",
                }
            ],
            "role": "model",
        },
        {
            "parts": [{"functionResponse": {"id": "fc-1", "name": "get_weather", "response": {"result": "sunny"}}}],
            "role": "user",
        },
    ]


def test_calls_without_ids_get_local_ids_that_are_never_sent(server: FakeServer) -> None:
    server.queue(Answer(json=WIRE.response([{"functionCall": {"name": "get_weather", "args": {}}}])), WIRE.text("ok"))
    engine = WIRE.engine(server.url)
    history = [Message(role="user", content="?")]
    first = engine.complete(EngineRequest(messages=history, tools=[WEATHER]))
    call_id = first.tool_calls[0].id
    history += [first.message, Message(role="tool", tool_call_id=call_id, content='{"temp": 3}')]
    engine.complete(EngineRequest(messages=history))
    assert call_id not in server.last.body.decode()
    assert server.last.json["contents"][2]["parts"][0]["functionResponse"] == {
        "name": "get_weather",
        "response": {"temp": 3},
    }


def test_stream_uses_sse_and_reports_usage_and_tool_calls(server: FakeServer) -> None:
    chunks = [
        [{"text": "Let me see. "}],
        [{"functionCall": {"id": "fc-2", "name": "get_weather", "args": {"city": "Rome"}}}],
    ]
    server.queue(WIRE.stream_chunks(chunks, input_tokens=21, output_tokens=9))
    events = list(WIRE.engine(server.url).stream(EngineRequest(messages=[Message(role="user", content="Rome")])))
    assert server.last.path == f"/{API_VERSION}/models/gemini-3.5-flash:streamGenerateContent"
    assert server.last.query == {"alt": ["sse"]}
    folded = collect_stream(events, engine="google", model="m")
    assert folded.text == "Let me see. "
    assert [(c.id, c.name) for c in folded.tool_calls] == [("fc-2", "get_weather")]
    assert folded.stop_reason is StopReason.TOOL_CALLS
    assert folded.usage == Usage(input_tokens=21, output_tokens=9)


def test_safety_stop_and_blocked_prompt(server: FakeServer) -> None:
    server.queue(
        Answer(json=WIRE.response([{"text": ""}], "SAFETY")),
        Answer(json={"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}),
    )
    engine = WIRE.engine(server.url)
    request = EngineRequest(messages=[Message(role="user", content="x")])
    assert engine.complete(request).stop_reason is StopReason.CONTENT_FILTER
    blocked = engine.complete(request)
    assert blocked.stop_reason is StopReason.CONTENT_FILTER
    assert blocked.text == ""


def test_inline_images(server: FakeServer) -> None:
    server.queue(WIRE.text("a cat"))
    parts = [ContentPart(text="What?"), ContentPart(type="image", data=b"\x89PNG", media_type="image/png")]
    WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content=parts)]))
    sent_parts = server.last.json["contents"][0]["parts"]
    assert sent_parts[0] == {"text": "What?"}
    inline = sent_parts[1].get("inlineData") or sent_parts[1].get("inline_data")
    assert (inline.get("mimeType") or inline.get("mime_type")) == "image/png"
    assert base64.b64decode(inline["data"]) == b"\x89PNG"


def test_permission_denied(server: FakeServer) -> None:
    server.queue(WIRE.error(403, "API key not valid for this project"))
    with pytest.raises(PermissionDeniedError) as caught:
        WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert caught.value.status == 403


def test_key_from_either_environment_variable(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-env-key")
    server.queue(WIRE.text("ok"))
    Google(base_url=server.url).complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert server.last.headers["x-goog-api-key"] == "gemini-env-key"


def test_vertex_needs_project_and_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_LOCATION", raising=False)
    with pytest.raises(ConfigurationError, match="project and location"):
        Google(vertexai=True).complete(EngineRequest(messages=[Message(role="user", content="x")]))
