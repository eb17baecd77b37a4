"""Anthropic engine: the Messages API through the official ``anthropic`` SDK (``airisk[anthropic]``).

The system prompt goes in ``system=``; tool results travel as ``tool_result`` blocks in a
user turn; ``max_tokens`` is required by the API, so it defaults to 1024. Sampling temperature is not
sent: API version 2026-10-21 (what SDK 2.x speaks) rejects it on every model. Credentials:
``api_key`` setting or ``ANTHROPIC_API_KEY``; base URL from ``ANTHROPIC_BASE_URL``.
Input tokens reported include cache reads and writes; cache reads are ``cached_tokens``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from airisk.providers._credentials import resolve_credential
from airisk.providers._messages import alternating_turns, arguments_object, system_text, unsupported_part
from airisk.providers._remote import RemoteEngine, RemoteEngineSettings, StreamTranslator
from airisk.providers._sdk import import_sdk
from airisk.providers.base import EngineEvent, EngineRequest, EngineResponse
from airisk.types import ContentPart, Message, StopReason, ToolCall, Usage

logger = logging.getLogger("airisk.providers")

STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "max_tokens": StopReason.MAX_TOKENS,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "tool_use": StopReason.TOOL_CALLS,
    "refusal": StopReason.CONTENT_FILTER,
}


class AnthropicSettings(RemoteEngineSettings):
    """What an admin sets for an Anthropic agent."""

    model: str = "claude-sonnet-5-5"
    max_tokens: int | None = Field(default=1024, gt=0, description="required by the API; the answer's token limit")
    api_key: SecretStr | None = Field(default=None, description="key, env:NAME or secret:NAME; else ANTHROPIC_API_KEY")
    base_url: str | None = Field(default=None, description="else ANTHROPIC_BASE_URL, else api.anthropic.com")


def _stop(value: Any) -> StopReason:
    if value is None:
        return StopReason.END_TURN
    return STOP_REASONS.get(str(value), StopReason.OTHER)


def _usage(usage: Any, *, input_tokens: int | None = None) -> Usage:
    if usage is None:
        return Usage()
    cache_read = getattr(usage, "cache_read_input_tokens", None) or 0
    cache_write = getattr(usage, "cache_creation_input_tokens", None) or 0
    prompt = input_tokens if input_tokens is not None else (getattr(usage, "input_tokens", None) or 0)
    return Usage(
        input_tokens=prompt + cache_read + cache_write,
        output_tokens=getattr(usage, "output_tokens", None) or 0,
        cached_tokens=cache_read,
    )


class AnthropicStreamTranslator(StreamTranslator):
    """Messages API stream events -> our events; usage is split over message_start and message_delta."""

    def __init__(self) -> None:
        self.input_tokens = 0
        self.cache_read = 0
        self.cache_write = 0
        self.output_tokens = 0
        self.stop = StopReason.END_TURN
        self.tool_blocks: dict[int, int] = {}

    def _absorb(self, usage: Any) -> None:
        if usage is None:
            return
        self.input_tokens = getattr(usage, "input_tokens", None) or self.input_tokens
        self.cache_read = getattr(usage, "cache_read_input_tokens", None) or self.cache_read
        self.cache_write = getattr(usage, "cache_creation_input_tokens", None) or self.cache_write
        self.output_tokens = getattr(usage, "output_tokens", None) or self.output_tokens

    def feed(self, chunk: Any) -> list[EngineEvent]:
        kind = getattr(chunk, "type", None)
        if kind == "message_start":
            self._absorb(chunk.message.usage)
        elif kind == "content_block_start":
            block = chunk.content_block
            if block.type == "tool_use":
                index = self.tool_blocks.setdefault(chunk.index, len(self.tool_blocks))
                return [
                    EngineEvent(
                        type="tool_call", tool_call_index=index, tool_call_id=block.id, tool_name=block.name, raw=chunk
                    )
                ]
            if block.type == "text" and block.text:
                return [EngineEvent(type="text", text=block.text, raw=chunk)]
        elif kind == "content_block_delta":
            delta = chunk.delta
            if delta.type == "text_delta":
                return [EngineEvent(type="text", text=delta.text, raw=chunk)]
            if delta.type == "input_json_delta" and chunk.index in self.tool_blocks:
                index = self.tool_blocks[chunk.index]
                return [
                    EngineEvent(type="tool_call", tool_call_index=index, arguments_delta=delta.partial_json, raw=chunk)
                ]
        elif kind == "message_delta":
            self._absorb(chunk.usage)
            self.stop = _stop(chunk.delta.stop_reason)
        return []

    def finish(self) -> list[EngineEvent]:
        usage = Usage(
            input_tokens=self.input_tokens + self.cache_read + self.cache_write,
            output_tokens=self.output_tokens,
            cached_tokens=self.cache_read,
        )
        return [EngineEvent(type="usage", usage=usage), EngineEvent(type="done", stop_reason=self.stop)]


class Anthropic(RemoteEngine):
    """Chat with Claude models (``Anthropic(model="claude-sonnet-5-5")``)."""

    name = "anthropic"
    settings_class: ClassVar[type[RemoteEngineSettings]] = AnthropicSettings
    settings: AnthropicSettings

    _warned_temperature = False

    def _sdk(self) -> Any:
        return import_sdk("anthropic", feature="The Anthropic engine", extra="anthropic", package="anthropic")

    def _client_options(self) -> dict[str, Any]:
        s = self.settings
        key = resolve_credential(s.api_key, ["ANTHROPIC_API_KEY"], setting="api_key", required=True, engine=self.name)
        return {
            "api_key": self._remember_secret(key),
            "base_url": s.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
            "timeout": s.timeout_s,
            "max_retries": 0,
        }

    def _create_client(self) -> Any:
        return self._sdk().Anthropic(**self._client_options())

    def _create_async_client(self) -> Any:
        return self._sdk().AsyncAnthropic(**self._client_options())

    # request mapping ----------------------------------------------------------------

    def _part(self, part: ContentPart) -> dict[str, Any]:
        if part.type == "text":
            return {"type": "text", "text": part.text or ""}
        block = "image" if part.type == "image" else "document"
        if part.data is not None:
            media_type = part.media_type or ("image/png" if part.type == "image" else "application/pdf")
            data = base64.b64encode(part.data).decode("ascii")
            return {"type": block, "source": {"type": "base64", "media_type": media_type, "data": data}}
        if part.url:
            return {"type": block, "source": {"type": "url", "url": part.url}}
        raise unsupported_part(part, engine=self.name, model=self.model, why="no data or url")

    def _blocks(self, message: Message) -> list[dict[str, Any]]:
        if message.role == "tool":
            return [{"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.text}]
        blocks: list[dict[str, Any]]
        if isinstance(message.content, str):
            blocks = [{"type": "text", "text": message.content}] if message.content else []
        else:
            blocks = [self._part(part) for part in message.content]
        for call in message.tool_calls:
            arguments = arguments_object(call.arguments, engine=self.name, model=self.model)
            blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
        return blocks

    def _messages(self, request: EngineRequest) -> list[dict[str, Any]]:
        """Anthropic turns alternate user/assistant: tool results join the user turn around them.
        A turn of one plain-text message is sent as a string, the rest as content blocks."""
        return [
            {"role": role, "content": blocks if (text := _plain_text(messages)) is None else text}
            for role, messages, blocks in alternating_turns(request.messages, self._blocks)
        ]

    def _payload(self, request: EngineRequest) -> dict[str, Any]:
        s = self.settings
        payload: dict[str, Any] = {
            "model": s.model,
            "max_tokens": request.max_tokens or s.max_tokens or 1024,
            "messages": self._messages(request),
        }
        system = system_text(request)
        if system:
            payload["system"] = system
        if (request.temperature is not None or s.temperature is not None) and not self._warned_temperature:
            self._warned_temperature = True
            logger.warning("anthropic: temperature is not sent; the Messages API (2026-10-21) rejects it")
        if request.stop:
            payload["stop_sequences"] = list(request.stop)
        if request.tools:
            payload["tools"] = [
                {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
                for tool in request.tools
            ]
        return payload

    # calls --------------------------------------------------------------------------

    def _send(self, client: Any, payload: dict[str, Any]) -> Any:
        return client.messages.create(**payload)

    async def _asend(self, client: Any, payload: dict[str, Any]) -> Any:
        return await client.messages.create(**payload)

    def _open_stream(self, client: Any, payload: dict[str, Any]) -> Iterator[Any]:
        return client.messages.create(**payload, stream=True)  # type: ignore[no-any-return]

    async def _aopen_stream(self, client: Any, payload: dict[str, Any]) -> AsyncIterator[Any]:
        return await client.messages.create(**payload, stream=True)  # type: ignore[no-any-return]

    def _translator(self) -> StreamTranslator:
        return AnthropicStreamTranslator()

    def _parse(self, raw: Any) -> EngineResponse:
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in raw.content:
            if block.type == "text":
                text.append(block.text)
            elif block.type == "tool_use":
                calls.append(ToolCall(id=block.id, name=block.name, arguments=json.dumps(block.input)))
        return EngineResponse(
            text="".join(text),
            tool_calls=calls,
            stop_reason=_stop(raw.stop_reason),
            usage=_usage(raw.usage),
            engine=self.name,
            model=getattr(raw, "model", None) or self.model,
            request_id=getattr(raw, "_request_id", None) or getattr(raw, "id", None),
            raw=raw,
        )


def _plain_text(messages: list[Message]) -> str | None:
    """The text of a turn made of one plain user or assistant message, else None."""
    if len(messages) != 1:
        return None
    message = messages[0]
    if message.role in ("user", "assistant") and isinstance(message.content, str) and not message.tool_calls:
        return message.content
    return None
