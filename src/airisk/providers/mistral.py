"""Mistral engine: chat completions through the official ``mistralai`` SDK (``airisk[mistral]``).

The wire shape is OpenAI-like, so messages map the same way; tool results also carry the
function name, and documents go by URL. Credentials: ``api_key`` setting or
``MISTRAL_API_KEY``; ``server_url`` points at another deployment (self-hosted, Azure, GCP).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from airisk.providers._credentials import resolve_credential
from airisk.providers._messages import data_url, tool_names_by_id, unsupported_part
from airisk.providers._openai_chat import ChatStreamTranslator, chat_tools, finish_reason, text_of, usage_from
from airisk.providers._remote import RemoteEngine, RemoteEngineSettings, StreamTranslator
from airisk.providers._sdk import import_sdk
from airisk.providers.base import EngineEvent, EngineRequest, EngineResponse
from airisk.types import ContentPart, Message, ToolCall


class MistralSettings(RemoteEngineSettings):
    """What an admin sets for a Mistral agent."""

    model: str = "mistral-small-latest"
    api_key: SecretStr | None = Field(default=None, description="key, env:NAME or secret:NAME; else MISTRAL_API_KEY")
    server_url: str | None = Field(default=None, description="else https://api.mistral.ai")
    safe_prompt: bool = Field(default=False, description="ask Mistral to prepend its own safety prompt")


class MistralStreamTranslator(ChatStreamTranslator):
    """Mistral wraps each chunk in an event (``.data``) and fills missing tool-call ids with "null"."""

    def feed(self, chunk: Any) -> list[EngineEvent]:
        events = super().feed(getattr(chunk, "data", chunk))
        for event in events:
            if event.tool_call_id == "null":
                event.tool_call_id = None
        return events


class Mistral(RemoteEngine):
    """Chat with Mistral models (``Mistral(model="mistral-small-latest")``)."""

    name = "mistral"
    settings_class: ClassVar[type[RemoteEngineSettings]] = MistralSettings
    settings: MistralSettings

    def _create_client(self) -> Any:
        sdk = import_sdk("mistralai.client", feature="The Mistral engine", extra="mistral", package="mistralai")
        s = self.settings
        key = resolve_credential(s.api_key, ["MISTRAL_API_KEY"], setting="api_key", required=True, engine=self.name)
        return sdk.Mistral(
            api_key=self._remember_secret(key),
            server_url=s.server_url,
            timeout_ms=int(s.timeout_s * 1000),
            retry_config=None,
        )

    def _create_async_client(self) -> Any:
        return self._create_client()  # one per event loop: its async connection pool belongs to that loop

    # request mapping ----------------------------------------------------------------

    def _part(self, part: ContentPart) -> dict[str, Any]:
        if part.type == "text":
            return {"type": "text", "text": part.text or ""}
        if part.type == "image":
            return {"type": "image_url", "image_url": {"url": data_url(part)}}
        if part.url:
            document: dict[str, Any] = {"type": "document_url", "document_url": part.url}
            if part.name:
                document["document_name"] = part.name
            return document
        raise unsupported_part(part, engine=self.name, model=self.model, why="documents must be given by URL")

    def _message(self, message: Message, names: dict[str, str]) -> dict[str, Any]:
        item: dict[str, Any] = {"role": message.role}
        if isinstance(message.content, str):
            item["content"] = message.content
        else:
            item["content"] = [self._part(part) for part in message.content]
        if message.role == "assistant" and message.tool_calls:
            item["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                for call in message.tool_calls
            ]
        if message.role == "tool":
            item["tool_call_id"] = message.tool_call_id or ""
            name = message.name or names.get(message.tool_call_id or "")
            if name:
                item["name"] = name
        return item

    def _payload(self, request: EngineRequest) -> dict[str, Any]:
        s = self.settings
        names = tool_names_by_id(request.messages)
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [self._message(message, names) for message in request.messages]
        payload: dict[str, Any] = {"model": s.model, "messages": messages}
        temperature = request.temperature if request.temperature is not None else s.temperature
        if temperature is not None:
            payload["temperature"] = temperature
        max_tokens = request.max_tokens or s.max_tokens
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        if request.stop:
            payload["stop"] = list(request.stop)
        if request.tools:
            payload["tools"] = chat_tools(request.tools)
        if s.safe_prompt:
            payload["safe_prompt"] = True
        return payload

    # calls --------------------------------------------------------------------------

    def _send(self, client: Any, payload: dict[str, Any]) -> Any:
        return client.chat.complete(**payload)

    async def _asend(self, client: Any, payload: dict[str, Any]) -> Any:
        return await client.chat.complete_async(**payload)

    def _open_stream(self, client: Any, payload: dict[str, Any]) -> Iterator[Any]:
        return client.chat.stream(**payload)  # type: ignore[no-any-return]

    async def _aopen_stream(self, client: Any, payload: dict[str, Any]) -> AsyncIterator[Any]:
        return await client.chat.stream_async(**payload)  # type: ignore[no-any-return]

    def _translator(self) -> StreamTranslator:
        return MistralStreamTranslator()

    def _parse(self, raw: Any) -> EngineResponse:
        choice = raw.choices[0] if raw.choices else None
        message = choice.message if choice is not None else None
        calls = []
        for call in (getattr(message, "tool_calls", None) or []) if message is not None else []:
            arguments = call.function.arguments
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            calls.append(ToolCall(id=call.id, name=call.function.name, arguments=text or "{}"))
        return EngineResponse(
            text=text_of(getattr(message, "content", None)) if message is not None else "",
            tool_calls=calls,
            stop_reason=finish_reason(choice.finish_reason if choice is not None else None),
            usage=usage_from(getattr(raw, "usage", None)),
            engine=self.name,
            model=getattr(raw, "model", None) or self.model,
            request_id=getattr(raw, "id", None),
            raw=raw,
        )
