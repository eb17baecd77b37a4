"""AWS Bedrock engine: the Converse API through ``boto3`` (``airisk[bedrock]``).

``converse`` for whole answers and ``converse_stream`` (an AWS event stream) for streaming;
one request shape for every model on Bedrock. The system prompt goes in ``system`` blocks,
tools in ``toolConfig``, and an optional Bedrock guardrail in ``guardrailConfig``.
Credentials: explicit keys, a named profile, or boto3's usual chain (``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, instance roles); region from
the setting, ``AWS_REGION`` or ``AWS_DEFAULT_REGION``. boto3 has no async client, so the async
calls run the sync ones in a worker thread.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from airisk.errors import ConfigurationError
from airisk.providers._credentials import resolve_credential
from airisk.providers._messages import (
    alternating_turns,
    arguments_object,
    system_text,
    tool_result_value,
    unsupported_part,
)
from airisk.providers._remote import RemoteEngine, RemoteEngineSettings, StreamTranslator
from airisk.providers._sdk import import_sdk
from airisk.providers.base import EngineEvent, EngineRequest, EngineResponse
from airisk.types import ContentPart, Message, StopReason, ToolCall, Usage

STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_CALLS,
    "max_tokens": StopReason.MAX_TOKENS,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "guardrail_intervened": StopReason.CONTENT_FILTER,
    "content_filtered": StopReason.CONTENT_FILTER,
    "malformed_model_output": StopReason.ERROR,
    "malformed_tool_use": StopReason.ERROR,
}

_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}


class BedrockSettings(RemoteEngineSettings):
    """What an admin sets for a Bedrock agent."""

    model: str = Field(default="anthropic.claude-sonnet-5-5-v1:0", description="model id, inference profile or ARN")
    region: str | None = Field(default=None, description="else AWS_REGION / AWS_DEFAULT_REGION / the profile's")
    aws_access_key_id: str | None = Field(default=None, description="else the boto3 credential chain")
    aws_secret_access_key: SecretStr | None = Field(default=None, description="secret key, env:NAME or secret:NAME")
    aws_session_token: SecretStr | None = Field(default=None, description="for temporary credentials")
    profile: str | None = Field(default=None, description="named profile from ~/.aws (else AWS_PROFILE)")
    endpoint_url: str | None = Field(default=None, description="VPC endpoint or proxy")
    guardrail_id: str | None = Field(default=None, description="Bedrock guardrail identifier or ARN")
    guardrail_version: str = Field(default="DRAFT", description="guardrail version number or DRAFT")
    guardrail_trace: bool = Field(default=False, description="ask the guardrail for its trace")
    guardrail_stream_mode: Literal["sync", "async"] | None = Field(
        default=None, description="how the guardrail checks streamed output"
    )


def _stop(value: Any) -> StopReason:
    if value is None:
        return StopReason.END_TURN
    return STOP_REASONS.get(str(value), StopReason.OTHER)


def _usage(usage: dict[str, Any] | None) -> Usage:
    if not usage:
        return Usage()
    cache_read = usage.get("cacheReadInputTokens") or 0
    cache_write = usage.get("cacheWriteInputTokens") or 0
    return Usage(
        input_tokens=(usage.get("inputTokens") or 0) + cache_read + cache_write,
        output_tokens=usage.get("outputTokens") or 0,
        cached_tokens=cache_read,
    )


class BedrockStreamTranslator(StreamTranslator):
    """converse_stream events (one dict key per event) -> our events."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.stop = StopReason.END_TURN
        self.tool_blocks: dict[int, int] = {}

    def feed(self, chunk: Any) -> list[EngineEvent]:
        if "contentBlockStart" in chunk:
            event = chunk["contentBlockStart"]
            tool = event.get("start", {}).get("toolUse")
            if tool:
                index = self.tool_blocks.setdefault(event.get("contentBlockIndex", 0), len(self.tool_blocks))
                return [
                    EngineEvent(
                        type="tool_call",
                        tool_call_index=index,
                        tool_call_id=tool.get("toolUseId"),
                        tool_name=tool.get("name"),
                        raw=chunk,
                    )
                ]
        elif "contentBlockDelta" in chunk:
            event = chunk["contentBlockDelta"]
            delta = event.get("delta", {})
            if delta.get("text"):
                return [EngineEvent(type="text", text=delta["text"], raw=chunk)]
            block = event.get("contentBlockIndex", 0)
            if "toolUse" in delta and block in self.tool_blocks:
                return [
                    EngineEvent(
                        type="tool_call",
                        tool_call_index=self.tool_blocks[block],
                        arguments_delta=delta["toolUse"].get("input", ""),
                        raw=chunk,
                    )
                ]
        elif "messageStop" in chunk:
            self.stop = _stop(chunk["messageStop"].get("stopReason"))
        elif "metadata" in chunk:
            self.usage = _usage(chunk["metadata"].get("usage"))
        return []

    def finish(self) -> list[EngineEvent]:
        return [EngineEvent(type="usage", usage=self.usage), EngineEvent(type="done", stop_reason=self.stop)]


class Bedrock(RemoteEngine):
    """Chat with any Converse-capable model on AWS Bedrock."""

    name = "bedrock"
    settings_class: ClassVar[type[RemoteEngineSettings]] = BedrockSettings
    settings: BedrockSettings

    def _create_client(self) -> Any:
        boto3 = import_sdk("boto3", feature="The Bedrock engine", extra="bedrock", package="boto3")
        from botocore.config import Config
        from botocore.exceptions import NoRegionError, ProfileNotFound

        s = self.settings
        session_options: dict[str, Any] = {}
        if s.profile:
            session_options["profile_name"] = s.profile
        region = s.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            session_options["region_name"] = region
        if s.aws_access_key_id or s.aws_secret_access_key:
            session_options["aws_access_key_id"] = s.aws_access_key_id
            session_options["aws_secret_access_key"] = self._remember_secret(
                resolve_credential(s.aws_secret_access_key, setting="aws_secret_access_key")
            )
            if s.aws_session_token is not None:
                session_options["aws_session_token"] = self._remember_secret(
                    resolve_credential(s.aws_session_token, setting="aws_session_token")
                )
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=min(s.timeout_s, 10.0),
            read_timeout=s.timeout_s,
        )
        try:
            session = boto3.session.Session(**session_options)
            return session.client("bedrock-runtime", endpoint_url=s.endpoint_url, config=config)
        except (NoRegionError, ProfileNotFound) as exc:
            raise ConfigurationError(f"bedrock: {exc} (set region / profile in the engine settings)") from None

    # request mapping ----------------------------------------------------------------

    def _part(self, part: ContentPart) -> dict[str, Any]:
        if part.type == "text":
            return {"text": part.text or ""}
        if part.data is None:
            raise unsupported_part(part, engine=self.name, model=self.model, why="Bedrock needs the bytes, not a URL")
        media_type = (part.media_type or "").lower()
        if part.type == "image":
            image_format = _IMAGE_FORMATS.get(media_type)
            if image_format is None:
                raise unsupported_part(part, engine=self.name, model=self.model, why=f"image type {media_type!r}")
            return {"image": {"format": image_format, "source": {"bytes": part.data}}}
        document_format = _DOCUMENT_FORMATS.get(media_type)
        if document_format is None:
            raise unsupported_part(part, engine=self.name, model=self.model, why=f"document type {media_type!r}")
        name = "".join(c if c.isalnum() or c in " -()[]" else "-" for c in (part.name or "document"))[:200]
        return {"document": {"format": document_format, "name": name, "source": {"bytes": part.data}}}

    def _blocks(self, message: Message) -> list[dict[str, Any]]:
        if message.role == "tool":
            value = tool_result_value(message.text)
            content = [{"json": value}] if message.text.lstrip().startswith("{") else [{"text": message.text}]
            return [{"toolResult": {"toolUseId": message.tool_call_id or "", "content": content, "status": "success"}}]
        if isinstance(message.content, str):
            blocks: list[dict[str, Any]] = [{"text": message.content}] if message.content else []
        else:
            blocks = [self._part(part) for part in message.content]
        for call in message.tool_calls:
            arguments = arguments_object(call.arguments, engine=self.name, model=self.model)
            blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": arguments}})
        return blocks

    def _messages(self, request: EngineRequest) -> list[dict[str, Any]]:
        """Converse turns alternate user/assistant: tool results join the user turn around them."""
        return [
            {"role": role, "content": blocks} for role, _, blocks in alternating_turns(request.messages, self._blocks)
        ]

    def _guardrail(self, streaming: bool) -> dict[str, Any] | None:
        s = self.settings
        if not s.guardrail_id:
            return None
        config: dict[str, Any] = {
            "guardrailIdentifier": s.guardrail_id,
            "guardrailVersion": s.guardrail_version,
            "trace": "enabled" if s.guardrail_trace else "disabled",
        }
        if streaming and s.guardrail_stream_mode:
            config["streamProcessingMode"] = s.guardrail_stream_mode
        return config

    def _payload(self, request: EngineRequest) -> dict[str, Any]:
        s = self.settings
        payload: dict[str, Any] = {"modelId": s.model, "messages": self._messages(request)}
        system = system_text(request)
        if system:
            payload["system"] = [{"text": system}]
        inference: dict[str, Any] = {}
        max_tokens = request.max_tokens or s.max_tokens
        if max_tokens is not None:
            inference["maxTokens"] = max_tokens
        temperature = request.temperature if request.temperature is not None else s.temperature
        if temperature is not None:
            inference["temperature"] = temperature
        if request.stop:
            inference["stopSequences"] = list(request.stop)
        if inference:
            payload["inferenceConfig"] = inference
        if request.tools:
            payload["toolConfig"] = {
                "tools": [
                    {
                        "toolSpec": {
                            "name": tool.name,
                            **({"description": tool.description} if tool.description else {}),
                            "inputSchema": {"json": tool.parameters},
                        }
                    }
                    for tool in request.tools
                ]
            }
        return payload

    # calls --------------------------------------------------------------------------

    def _send(self, client: Any, payload: dict[str, Any]) -> Any:
        guardrail = self._guardrail(streaming=False)
        return client.converse(**payload, **({"guardrailConfig": guardrail} if guardrail else {}))

    def _open_stream(self, client: Any, payload: dict[str, Any]) -> Iterator[Any]:
        guardrail = self._guardrail(streaming=True)
        response = client.converse_stream(**payload, **({"guardrailConfig": guardrail} if guardrail else {}))
        return response["stream"]  # type: ignore[no-any-return]

    def _translator(self) -> StreamTranslator:
        return BedrockStreamTranslator()

    def _parse(self, raw: Any) -> EngineResponse:
        message = raw.get("output", {}).get("message", {})
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in message.get("content", []):
            if "text" in block:
                text.append(block["text"])
            elif "toolUse" in block:
                use = block["toolUse"]
                calls.append(
                    ToolCall(id=use["toolUseId"], name=use["name"], arguments=json.dumps(use.get("input", {})))
                )
        return EngineResponse(
            text="".join(text),
            tool_calls=calls,
            stop_reason=_stop(raw.get("stopReason")),
            usage=_usage(raw.get("usage")),
            engine=self.name,
            model=self.model,
            request_id=raw.get("ResponseMetadata", {}).get("RequestId"),
            raw=raw,
        )
