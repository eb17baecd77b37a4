"""Exact Converse requests the Bedrock engine sends through boto3, and the AWS event stream back."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airisk.errors import ContextTooLongError, RateLimitError
from airisk.providers import Bedrock
from airisk.providers.base import EngineRequest, collect_stream
from airisk.types import ContentPart, Message, StopReason, ToolCall, ToolSpec, Usage

from .aws_eventstream import encode_message, event, exception
from .fake_server import Answer, FakeServer
from .wires import BedrockWire

WIRE = BedrockWire()
SEARCH = ToolSpec(name="search_docs", description="Search", parameters={"type": "object", "properties": {}})

header_names = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)
header_values = st.text(max_size=60)


@given(headers=st.dictionaries(header_names, header_values, max_size=5), payload=st.binary(max_size=300))
def test_event_stream_encoder_round_trips_through_botocore(headers: dict[str, str], payload: bytes) -> None:
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(encode_message(headers, payload))
    (message,) = list(buffer)
    assert message.headers == headers
    assert message.payload == payload


def test_request_shape_signing_and_usage(server: FakeServer) -> None:
    server.queue(WIRE.text("Hello", input_tokens=20, output_tokens=2, cached=15))
    request = EngineRequest(
        system="Be brief.",
        messages=[
            Message(role="user", content="Hi"),
            Message(role="assistant", content="Hello."),
            Message(role="user", content="Again"),
        ],
        temperature=0.4,
        max_tokens=30,
        stop=["STOP"],
    )
    response = WIRE.engine(server.url).complete(request)
    sent = server.last
    assert unquote(sent.path) == f"/model/{WIRE.model}/converse"
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTESTEXAMPLE/")
    assert "/us-east-1/bedrock/aws4_request" in sent.headers["authorization"]
    assert sent.json == {
        "messages": [
            {"role": "user", "content": [{"text": "Hi"}]},
            {"role": "assistant", "content": [{"text": "Hello."}]},
            {"role": "user", "content": [{"text": "Again"}]},
        ],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 30, "temperature": 0.4, "stopSequences": ["STOP"]},
    }
    assert response.text == "Hello"
    assert response.usage == Usage(input_tokens=20, output_tokens=2, cached_tokens=15)
    assert response.request_id == "bedrock-req-1"
    assert response.raw["metrics"] == {"latencyMs": 12}


def test_tool_use_round_trip(server: FakeServer) -> None:
    use = {"toolUse": {"toolUseId": "tooluse_1", "name": "search_docs", "input": {"q": "refunds"}}}
    server.queue(Answer(json=WIRE.response([{"text": "Searching."}, use], "tool_use")), WIRE.text("Found it."))
    engine = WIRE.engine(server.url)
    history = [Message(role="user", content="Refund policy?")]
    first = engine.complete(EngineRequest(messages=history, tools=[SEARCH]))
    assert first.stop_reason is StopReason.TOOL_CALLS
    assert first.tool_calls == [ToolCall(id="tooluse_1", name="search_docs", arguments='{"q": "refunds"}')]
    assert server.last.json["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "search_docs",
                    "description": "Search",
                    "inputSchema": {"json": {"type": "object", "properties": {}}},
                }
            }
        ]
    }
    history += [
        first.message,
        Message(role="tool", tool_call_id="tooluse_1", content='{"hits": 2}'),
        Message(role="user", content="Summarise please"),
    ]
    engine.complete(EngineRequest(messages=history, tools=[SEARCH]))
    assert server.last.json["messages"][1:] == [
        {"role": "assistant", "content": [{"text": "Searching."}, use]},
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "tooluse_1", "content": [{"json": {"hits": 2}}], "status": "success"}},
                {"text": "Summarise please"},
            ],
        },
    ]


def test_stream_tool_use_and_metadata_usage(server: FakeServer) -> None:
    blocks = [
        [("contentBlockDelta", {"delta": {"text": "Looking"}})],
        [
            ("contentBlockStart", {"start": {"toolUse": {"toolUseId": "tu_2", "name": "search_docs"}}}),
            ("contentBlockDelta", {"delta": {"toolUse": {"input": '{"q":'}}}),
            ("contentBlockDelta", {"delta": {"toolUse": {"input": ' "x"}'}}}),
        ],
    ]
    server.queue(WIRE.stream_events(blocks, "tool_use", input_tokens=40, output_tokens=11))
    events = list(WIRE.engine(server.url).stream(EngineRequest(messages=[Message(role="user", content="x")])))
    assert unquote(server.last.path) == f"/model/{WIRE.model}/converse-stream"
    folded = collect_stream(events, engine="bedrock", model="m")
    assert folded.text == "Looking"
    assert folded.tool_calls == [ToolCall(id="tu_2", name="search_docs", arguments='{"q": "x"}')]
    assert folded.stop_reason is StopReason.TOOL_CALLS
    assert folded.usage == Usage(input_tokens=40, output_tokens=11)


def test_exception_inside_the_event_stream(server: FakeServer) -> None:
    answer = WIRE.stream(["partial"])
    assert answer.chunks is not None
    answer.chunks = [*answer.chunks[:2], exception("throttlingException", "Too many tokens, please wait.")]
    server.queue(answer)
    with pytest.raises(RateLimitError):
        list(WIRE.engine(server.url).stream(EngineRequest(messages=[Message(role="user", content="x")])))
    assert len(server.requests) == 1


def test_guardrail_config_and_intervention(server: FakeServer) -> None:
    server.queue(
        Answer(json=WIRE.response([{"text": "Sorry, I cannot."}], "guardrail_intervened")),
        WIRE.stream(["ok"]),
    )
    engine = WIRE.engine(server.url, guardrail_id="gr-abc123", guardrail_version="2", guardrail_stream_mode="async")
    response = engine.complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert response.stop_reason is StopReason.CONTENT_FILTER
    assert server.last.json["guardrailConfig"] == {
        "guardrailIdentifier": "gr-abc123",
        "guardrailVersion": "2",
        "trace": "disabled",
    }
    list(engine.stream(EngineRequest(messages=[Message(role="user", content="x")])))
    assert server.last.json["guardrailConfig"]["streamProcessingMode"] == "async"


def test_images_and_documents_as_bytes(server: FakeServer) -> None:
    server.queue(WIRE.text("ok"))
    parts = [
        ContentPart(text="Look"),
        ContentPart(type="image", data=b"img", media_type="image/png"),
        ContentPart(type="file", data=b"%PDF", media_type="application/pdf", name="q3 report.pdf"),
    ]
    WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content=parts)]))
    content = server.last.json["messages"][0]["content"]
    assert content[1] == {"image": {"format": "png", "source": {"bytes": base64.b64encode(b"img").decode()}}}
    assert content[2]["document"]["format"] == "pdf"
    assert content[2]["document"]["name"] == "q3 report-pdf"


def test_validation_error_about_length(server: FakeServer) -> None:
    server.queue(WIRE.error(400, "Input is too long for requested model."))
    with pytest.raises(ContextTooLongError) as caught:
        WIRE.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert caught.value.request_id == "bedrock-err-1"


def test_profile_credentials(server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[analytics]\naws_access_key_id = AKIDPROFILEKEY\naws_secret_access_key = profile-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    server.queue(WIRE.text("ok"))
    engine = Bedrock(model=WIRE.model, profile="analytics", region="eu-west-1", endpoint_url=server.url)
    engine.complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert server.last.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDPROFILEKEY/")
    assert "/eu-west-1/bedrock/" in server.last.headers["authorization"]


def test_environment_credentials(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENVKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    server.queue(WIRE.text("ok"))
    Bedrock(model=WIRE.model, endpoint_url=server.url).complete(
        EngineRequest(messages=[Message(role="user", content="x")])
    )
    assert "Credential=AKIDENVKEY/" in server.last.headers["authorization"]
    assert "/ap-southeast-2/" in server.last.headers["authorization"]


def test_stream_event_helper_matches_botocore_parser() -> None:
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(event("messageStop", {"stopReason": "end_turn"}))
    (message,) = list(buffer)
    assert message.headers[":event-type"] == "messageStop"
    assert message.payload == b'{"stopReason": "end_turn"}'
