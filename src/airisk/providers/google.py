"""Google engine: Gemini through the ``google-genai`` SDK (``airisk[google]``), on the Gemini
API (API key) or Vertex AI (project and location, Application Default Credentials).

The system prompt goes in ``system_instruction``; the model's role is ``model``; tool results
are ``function_response`` parts. Automatic function calling is always off, so every tool call
comes back to the caller and passes the scanners. Credentials: ``api_key`` setting, else
``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``; Vertex reads ``GOOGLE_CLOUD_PROJECT`` and
``GOOGLE_CLOUD_LOCATION`` when not set.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from airisk.errors import ConfigurationError
from airisk.providers._credentials import resolve_credential
from airisk.providers._messages import (
    arguments_object,
    system_text,
    tool_names_by_id,
    tool_result_value,
    unsupported_part,
)
from airisk.providers._remote import RemoteEngine, RemoteEngineSettings, StreamTranslator
from airisk.providers._sdk import import_sdk
from airisk.providers.base import EngineEvent, EngineRequest, EngineResponse
from airisk.types import ContentPart, Message, StopReason, ToolCall, Usage

FINISH_REASONS = {
    "STOP": StopReason.END_TURN,
    "MAX_TOKENS": StopReason.MAX_TOKENS,
    "SAFETY": StopReason.CONTENT_FILTER,
    "RECITATION": StopReason.CONTENT_FILTER,
    "BLOCKLIST": StopReason.CONTENT_FILTER,
    "PROHIBITED_CONTENT": StopReason.CONTENT_FILTER,
    "SPII": StopReason.CONTENT_FILTER,
    "IMAGE_SAFETY": StopReason.CONTENT_FILTER,
    "IMAGE_PROHIBITED_CONTENT": StopReason.CONTENT_FILTER,
    "MODEL_ARMOR": StopReason.CONTENT_FILTER,
    "MALFORMED_FUNCTION_CALL": StopReason.ERROR,
    "MALFORMED_RESPONSE": StopReason.ERROR,
}


# prefix of call ids made up here when the Gemini API gives none; never sent back
_LOCAL_ID = "airisk_call_"


class GoogleSettings(RemoteEngineSettings):
    """What an admin sets for a Gemini agent."""

    model: str = "gemini-3.5-flash"
    api_key: SecretStr | None = Field(
        default=None, description="key, env:NAME or secret:NAME; else GOOGLE_API_KEY / GEMINI_API_KEY"
    )
    vertexai: bool = Field(default=False, description="use Vertex AI (project, location, ADC) instead of an API key")
    project: str | None = Field(default=None, description="Vertex project; else GOOGLE_CLOUD_PROJECT")
    location: str | None = Field(default=None, description="Vertex location; else GOOGLE_CLOUD_LOCATION")
    base_url: str | None = Field(default=None, description="API endpoint override (proxies, tests)")


def _stop(value: Any, has_calls: bool) -> StopReason:
    if has_calls:
        return StopReason.TOOL_CALLS
    if value is None:
        return StopReason.END_TURN
    return FINISH_REASONS.get(str(getattr(value, "value", value)), StopReason.OTHER)


def _usage(meta: Any) -> Usage:
    if meta is None:
        return Usage()
    return Usage(
        input_tokens=(getattr(meta, "prompt_token_count", None) or 0)
        + (getattr(meta, "tool_use_prompt_token_count", None) or 0),
        output_tokens=(getattr(meta, "candidates_token_count", None) or 0)
        + (getattr(meta, "thoughts_token_count", None) or 0),
        cached_tokens=getattr(meta, "cached_content_token_count", None) or 0,
    )


class _Signatures:
    """Thought signatures Gemini attaches to function calls, keyed by call id.

    Gemini wants them back with the call in the next turn; our ToolCall has no field for
    them, so the engine remembers the most recent ones.
    """

    def __init__(self, size: int = 2048) -> None:
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, call_id: str, signature: bytes | None) -> None:
        if not signature:
            return
        with self._lock:
            self._items[call_id] = signature
            self._items.move_to_end(call_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, call_id: str) -> bytes | None:
        with self._lock:
            return self._items.get(call_id)


def _call_from(part: Any, signatures: _Signatures) -> ToolCall:
    call = part.function_call
    call_id = call.id or f"{_LOCAL_ID}{uuid.uuid4().hex[:24]}"
    signatures.put(call_id, getattr(part, "thought_signature", None))
    return ToolCall(id=call_id, name=call.name or "", arguments=json.dumps(call.args or {}))


def _visible_text(part: Any) -> str:
    if getattr(part, "thought", None):
        return ""
    return getattr(part, "text", None) or ""


class GoogleStreamTranslator(StreamTranslator):
    """Each Gemini stream chunk is a partial response; function calls arrive whole."""

    def __init__(self, signatures: _Signatures) -> None:
        self.signatures = signatures
        self.usage = Usage()
        self.finish_reason: Any = None
        self.calls = 0
        self.blocked = False

    def feed(self, chunk: Any) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        if getattr(chunk, "usage_metadata", None) is not None:
            self.usage = _usage(chunk.usage_metadata)
        feedback = getattr(chunk, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None):
            self.blocked = True
        for candidate in (getattr(chunk, "candidates", None) or [])[:1]:
            if candidate.finish_reason is not None:
                self.finish_reason = candidate.finish_reason
            content = candidate.content
            for part in (getattr(content, "parts", None) or []) if content is not None else []:
                if getattr(part, "function_call", None) is not None:
                    call = _call_from(part, self.signatures)
                    events.append(
                        EngineEvent(
                            type="tool_call",
                            tool_call_index=self.calls,
                            tool_call_id=call.id,
                            tool_name=call.name,
                            arguments_delta=call.arguments,
                            raw=chunk,
                        )
                    )
                    self.calls += 1
                elif _visible_text(part):
                    events.append(EngineEvent(type="text", text=_visible_text(part), raw=chunk))
        return events

    def finish(self) -> list[EngineEvent]:
        stop = StopReason.CONTENT_FILTER if self.blocked else _stop(self.finish_reason, self.calls > 0)
        return [EngineEvent(type="usage", usage=self.usage), EngineEvent(type="done", stop_reason=stop)]


class Google(RemoteEngine):
    """Chat with Gemini models (``Google(model="gemini-3.5-flash")``)."""

    name = "google"
    settings_class: ClassVar[type[RemoteEngineSettings]] = GoogleSettings
    settings: GoogleSettings

    def __init__(self, settings: Any = None, /, **options: Any) -> None:
        super().__init__(settings, **options)
        self._signatures = _Signatures()

    def _sdk(self) -> Any:
        return import_sdk("google.genai", feature="The Google engine", extra="google", package="google-genai")

    def _create_client(self) -> Any:
        genai = self._sdk()
        s = self.settings
        http_options: dict[str, Any] = {
            "timeout": int(s.timeout_s * 1000),
            "retry_options": {"attempts": 1},
        }
        if s.base_url:
            http_options["base_url"] = s.base_url
        if s.vertexai:
            project = s.project or os.environ.get("GOOGLE_CLOUD_PROJECT")
            location = s.location or os.environ.get("GOOGLE_CLOUD_LOCATION")
            if not project or not location:
                raise ConfigurationError(
                    "google on Vertex AI needs project and location (or GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION)"
                )
            return genai.Client(vertexai=True, project=project, location=location, http_options=http_options)
        key = resolve_credential(
            s.api_key, ["GOOGLE_API_KEY", "GEMINI_API_KEY"], setting="api_key", required=True, engine=self.name
        )
        return genai.Client(api_key=self._remember_secret(key), http_options=http_options)

    def _create_async_client(self) -> Any:
        return self._create_client().aio  # one per event loop: its connection pool belongs to that loop

    # request mapping ----------------------------------------------------------------

    def _part(self, part: ContentPart) -> dict[str, Any]:
        if part.type == "text":
            return {"text": part.text or ""}
        default_type = "image/png" if part.type == "image" else "application/pdf"
        if part.data is not None:
            return {"inline_data": {"mime_type": part.media_type or default_type, "data": part.data}}
        if part.url:
            return {"file_data": {"file_uri": part.url, "mime_type": part.media_type or default_type}}
        raise unsupported_part(part, engine=self.name, model=self.model, why="no data or url")

    def _parts(self, message: Message, names: dict[str, str]) -> list[dict[str, Any]]:
        if message.role == "tool":
            call_id = message.tool_call_id or ""
            response: dict[str, Any] = {
                "name": message.name or names.get(call_id, ""),
                "response": tool_result_value(message.text),
            }
            if call_id and not call_id.startswith(_LOCAL_ID):
                response["id"] = call_id
            return [{"function_response": response}]
        if isinstance(message.content, str):
            parts = [{"text": message.content}] if message.content else []
        else:
            parts = [self._part(part) for part in message.content]
        for call in message.tool_calls:
            args = arguments_object(call.arguments, engine=self.name, model=self.model)
            function_call: dict[str, Any] = {"name": call.name, "args": args}
            if not call.id.startswith(_LOCAL_ID):
                function_call["id"] = call.id
            item: dict[str, Any] = {"function_call": function_call}
            signature = self._signatures.get(call.id)
            if signature:
                item["thought_signature"] = signature
            parts.append(item)
        return parts

    def _contents(self, request: EngineRequest) -> list[dict[str, Any]]:
        names = tool_names_by_id(request.messages)
        contents: list[dict[str, Any]] = []
        for message in request.messages:
            if message.role == "system":
                continue
            role = "model" if message.role == "assistant" else "user"
            parts = self._parts(message, names)
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].extend(parts)
            else:
                contents.append({"role": role, "parts": parts})
        return contents

    def _payload(self, request: EngineRequest) -> dict[str, Any]:
        s = self.settings
        config: dict[str, Any] = {"automatic_function_calling": {"disable": True}}
        system = system_text(request)
        if system:
            config["system_instruction"] = system
        temperature = request.temperature if request.temperature is not None else s.temperature
        if temperature is not None:
            config["temperature"] = temperature
        max_tokens = request.max_tokens or s.max_tokens
        if max_tokens is not None:
            config["max_output_tokens"] = max_tokens
        if request.stop:
            config["stop_sequences"] = list(request.stop)
        if request.tools:
            config["tools"] = [
                {
                    "function_declarations": [
                        {"name": t.name, "description": t.description, "parameters_json_schema": t.parameters}
                        for t in request.tools
                    ]
                }
            ]
        return {"model": s.model, "contents": self._contents(request), "config": config}

    # calls --------------------------------------------------------------------------

    def _send(self, client: Any, payload: dict[str, Any]) -> Any:
        return client.models.generate_content(**payload)

    async def _asend(self, client: Any, payload: dict[str, Any]) -> Any:
        return await client.models.generate_content(**payload)

    def _open_stream(self, client: Any, payload: dict[str, Any]) -> Iterator[Any]:
        return client.models.generate_content_stream(**payload)  # type: ignore[no-any-return]

    async def _aopen_stream(self, client: Any, payload: dict[str, Any]) -> AsyncIterator[Any]:
        return await client.models.generate_content_stream(**payload)  # type: ignore[no-any-return]

    def _translator(self) -> StreamTranslator:
        return GoogleStreamTranslator(self._signatures)

    def _parse(self, raw: Any) -> EngineResponse:
        candidate = (getattr(raw, "candidates", None) or [None])[0]
        text: list[str] = []
        calls: list[ToolCall] = []
        content = getattr(candidate, "content", None)
        for part in (getattr(content, "parts", None) or []) if content is not None else []:
            if getattr(part, "function_call", None) is not None:
                calls.append(_call_from(part, self._signatures))
            else:
                text.append(_visible_text(part))
        feedback = getattr(raw, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None):
            stop = StopReason.CONTENT_FILTER
        else:
            stop = _stop(getattr(candidate, "finish_reason", None), bool(calls))
        return EngineResponse(
            text="".join(text),
            tool_calls=calls,
            stop_reason=stop,
            usage=_usage(getattr(raw, "usage_metadata", None)),
            engine=self.name,
            model=getattr(raw, "model_version", None) or self.model,
            request_id=getattr(raw, "response_id", None),
            raw=raw,
        )
