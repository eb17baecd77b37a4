"""The OpenAI chat-completions wire shape, shared by OpenAI, Azure OpenAI and Llama hosts.

Our message format already is the OpenAI chat shape, so mapping is mostly renaming: content
parts become ``text``/``image_url``/``file`` parts, tool calls become ``function`` calls.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar, Literal

from pydantic import Field

from airisk.providers._messages import data_url, unsupported_part
from airisk.providers._remote import RemoteEngine, RemoteEngineSettings, StreamTranslator
from airisk.providers.base import EngineEvent, EngineRequest, EngineResponse
from airisk.types import ContentPart, Message, StopReason, ToolCall, ToolSpec, Usage

FINISH_REASONS = {
    "stop": StopReason.END_TURN,
    "length": StopReason.MAX_TOKENS,
    "model_length": StopReason.MAX_TOKENS,
    "tool_calls": StopReason.TOOL_CALLS,
    "function_call": StopReason.TOOL_CALLS,
    "content_filter": StopReason.CONTENT_FILTER,
    "error": StopReason.ERROR,
}


def finish_reason(value: Any) -> StopReason:
    if value is None:
        return StopReason.END_TURN
    return FINISH_REASONS.get(str(getattr(value, "value", value)), StopReason.OTHER)


def content_part(part: ContentPart, *, engine: str, model: str) -> dict[str, Any]:
    if part.type == "text":
        return {"type": "text", "text": part.text or ""}
    if part.type == "image":
        return {"type": "image_url", "image_url": {"url": data_url(part)}}
    if part.data is not None:
        file: dict[str, Any] = {"file_data": data_url(part)}
        if part.name:
            file["filename"] = part.name
        return {"type": "file", "file": file}
    raise unsupported_part(part, engine=engine, model=model, why="files must be given as bytes")


def chat_messages(
    request: EngineRequest, *, engine: str, model: str, system_role: str = "system"
) -> list[dict[str, Any]]:
    """Messages in the chat-completions shape; the system prompt goes first as a system message."""
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": system_role, "content": request.system})
    for message in request.messages:
        out.append(chat_message(message, engine=engine, model=model, system_role=system_role))
    return out


def chat_message(message: Message, *, engine: str, model: str, system_role: str = "system") -> dict[str, Any]:
    role = system_role if message.role == "system" else message.role
    item: dict[str, Any] = {"role": role}
    if isinstance(message.content, str):
        item["content"] = message.content
    else:
        item["content"] = [content_part(part, engine=engine, model=model) for part in message.content]
    if message.role == "assistant" and message.tool_calls:
        item["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in message.tool_calls
        ]
        if not message.content:
            item["content"] = None
    if message.role == "tool":
        item["tool_call_id"] = message.tool_call_id or ""
    if message.name and message.role in ("user", "assistant"):
        item["name"] = message.name
    return item


def chat_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
        }
        for tool in tools
    ]


def text_of(content: Any) -> str:
    """Text from a message content that is a string or a list of typed chunks (Mistral)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            piece if isinstance(piece, str) else (getattr(piece, "text", None) or "")
            for piece in content
            if isinstance(piece, str) or getattr(piece, "type", "text") == "text"
        )
    return ""


def usage_from(usage: Any) -> Usage:
    """Usage from an OpenAI-shaped usage object (cached tokens under prompt_tokens_details)."""
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    if isinstance(details, dict):
        cached = details.get("cached_tokens")
    else:
        cached = getattr(details, "cached_tokens", None) if details is not None else None
    return Usage(
        input_tokens=getattr(usage, "prompt_tokens", None) or 0,
        output_tokens=getattr(usage, "completion_tokens", None) or 0,
        cached_tokens=cached or 0,
    )


class ChatStreamTranslator(StreamTranslator):
    """Chat-completion chunks -> events; usage comes on the last chunk (stream_options)."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.stop = StopReason.END_TURN
        self.saw_tool_call = False

    def feed(self, chunk: Any) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        if getattr(chunk, "usage", None) is not None:
            self.usage = usage_from(chunk.usage)
        for choice in getattr(chunk, "choices", None) or []:
            if getattr(choice, "index", 0) not in (0, None):
                continue
            delta = choice.delta
            if delta is not None:
                text = text_of(getattr(delta, "content", None))
                if text:
                    events.append(EngineEvent(type="text", text=text, raw=chunk))
                for call in getattr(delta, "tool_calls", None) or []:
                    self.saw_tool_call = True
                    function = getattr(call, "function", None)
                    arguments = getattr(function, "arguments", None) if function is not None else None
                    if arguments is not None and not isinstance(arguments, str):
                        arguments = json.dumps(arguments)
                    events.append(
                        EngineEvent(
                            type="tool_call",
                            tool_call_index=getattr(call, "index", None) or 0,
                            tool_call_id=getattr(call, "id", None),
                            tool_name=getattr(function, "name", None) if function is not None else None,
                            arguments_delta=arguments or "",
                            raw=chunk,
                        )
                    )
            if choice.finish_reason is not None:
                self.stop = finish_reason(choice.finish_reason)
        return events

    def finish(self) -> list[EngineEvent]:
        return [EngineEvent(type="usage", usage=self.usage), EngineEvent(type="done", stop_reason=self.stop)]


class OpenAIChatSettings(RemoteEngineSettings):
    """Settings shared by every engine speaking chat completions."""

    max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = Field(
        default="max_completion_tokens", description="name of the output-token limit the server expects"
    )
    stream_usage: bool = Field(default=True, description="ask for usage on the last stream chunk")


class OpenAIChatEngine(RemoteEngine):
    """An engine whose vendor client exposes ``chat.completions.create`` (the openai SDK)."""

    settings_class: ClassVar[type[RemoteEngineSettings]] = OpenAIChatSettings
    settings: OpenAIChatSettings

    def _model_name(self) -> str:
        return self.settings.model

    def _payload(self, request: EngineRequest) -> dict[str, Any]:
        s = self.settings
        payload: dict[str, Any] = {
            "model": self._model_name(),
            "messages": chat_messages(request, engine=self.name, model=self.model),
        }
        temperature = request.temperature if request.temperature is not None else s.temperature
        if temperature is not None:
            payload["temperature"] = temperature
        max_tokens = request.max_tokens or s.max_tokens
        if max_tokens is not None:
            payload[s.max_tokens_field] = max_tokens
        if request.stop:
            payload["stop"] = list(request.stop)
        if request.tools:
            payload["tools"] = chat_tools(request.tools)
        return payload

    def _send(self, client: Any, payload: dict[str, Any]) -> Any:
        return client.chat.completions.create(**payload)

    async def _asend(self, client: Any, payload: dict[str, Any]) -> Any:
        return await client.chat.completions.create(**payload)

    def _stream_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {"stream": True}
        if self.settings.stream_usage:
            extra["stream_options"] = {"include_usage": True}
        return {**payload, **extra}

    def _open_stream(self, client: Any, payload: dict[str, Any]) -> Iterator[Any]:
        return client.chat.completions.create(**self._stream_payload(payload))  # type: ignore[no-any-return]

    async def _aopen_stream(self, client: Any, payload: dict[str, Any]) -> AsyncIterator[Any]:
        return await client.chat.completions.create(**self._stream_payload(payload))  # type: ignore[no-any-return]

    def _translator(self) -> StreamTranslator:
        return ChatStreamTranslator()

    def _parse(self, raw: Any) -> EngineResponse:
        choice = raw.choices[0] if raw.choices else None
        message = choice.message if choice is not None else None
        text = (getattr(message, "content", None) or "") if message is not None else ""
        calls = [
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments or "{}")
            for call in (getattr(message, "tool_calls", None) or [])
            if getattr(call, "function", None) is not None
        ]
        return EngineResponse(
            text=text,
            tool_calls=calls,
            stop_reason=finish_reason(choice.finish_reason if choice is not None else None),
            usage=usage_from(getattr(raw, "usage", None)),
            engine=self.name,
            model=getattr(raw, "model", None) or self.model,
            request_id=getattr(raw, "_request_id", None) or getattr(raw, "id", None),
            raw=raw,
        )
