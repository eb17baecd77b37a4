"""The engine protocol every LLM vendor adapter implements.

An engine takes messages in one format (OpenAI chat shape) and returns an
:class:`EngineResponse`, or a stream of :class:`EngineEvent`. Adapters map system prompt
placement, roles, tools, stop reasons and usage to and from their vendor's SDK.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from airisk.types import Message, StopReason, ToolCall, ToolSpec, Usage


class EngineSettings(BaseModel):
    """Settings every engine shares; each vendor module adds its own (keys, endpoints…)."""

    model_config = ConfigDict(extra="forbid")

    model: str
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)


class EngineRequest(BaseModel):
    """One call to an engine: the conversation plus per-call options."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message]
    system: str | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] = Field(default_factory=list)


class EngineResponse(BaseModel):
    """An engine's answer, the same for every vendor; ``raw`` keeps the vendor's object."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: StopReason = StopReason.END_TURN
    usage: Usage = Field(default_factory=Usage)
    engine: str
    model: str
    request_id: str | None = None
    raw: Any = Field(default=None, exclude=True, repr=False)

    @property
    def message(self) -> Message:
        return Message(role="assistant", content=self.text, tool_calls=self.tool_calls)


class EngineEvent(BaseModel):
    """One streaming event: a text delta, a tool-call delta, usage, or the end."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    type: Literal["text", "tool_call", "usage", "done"]
    text: str = ""
    tool_call_index: int | None = None
    tool_call_id: str | None = None
    tool_name: str | None = None
    arguments_delta: str = ""
    usage: Usage | None = None
    stop_reason: StopReason | None = None
    raw: Any = Field(default=None, exclude=True, repr=False)


class Engine(ABC):
    """Base of every engine adapter: sync, async and streaming calls with one shape.

    Subclasses implement :meth:`complete` and :meth:`stream`; the async twins default to
    running those in a worker thread, and vendors with async SDKs override them.
    """

    name: ClassVar[str] = "engine"
    offline: ClassVar[bool] = False

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings

    @property
    def model(self) -> str:
        return self.settings.model

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"

    @abstractmethod
    def complete(self, request: EngineRequest) -> EngineResponse:
        """One full answer."""

    @abstractmethod
    def stream(self, request: EngineRequest) -> Iterator[EngineEvent]:
        """The answer as events; the last two are ``usage`` and ``done``."""

    async def acomplete(self, request: EngineRequest) -> EngineResponse:
        return await asyncio.to_thread(self.complete, request)

    async def astream(self, request: EngineRequest) -> AsyncIterator[EngineEvent]:
        """Async stream; by default a worker thread drives the sync stream."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        done = object()
        cancelled = threading.Event()

        def pump() -> None:
            try:
                for event in self.stream(request):
                    if cancelled.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, event)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer below
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, done)

        worker = asyncio.ensure_future(asyncio.to_thread(pump))
        try:
            while True:
                item = await queue.get()
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancelled.set()
            await worker


def collect_stream(
    events: Sequence[EngineEvent] | Iterator[EngineEvent], *, engine: str, model: str
) -> EngineResponse:
    """Fold a stream of events into one response (text, tool calls, usage, stop reason)."""
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    usage = Usage()
    stop = StopReason.END_TURN
    for event in events:
        if event.type == "text":
            text.append(event.text)
        elif event.type == "tool_call":
            index = event.tool_call_index or 0
            call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
            call["id"] = event.tool_call_id or call["id"]
            call["name"] = event.tool_name or call["name"]
            call["arguments"] += event.arguments_delta
        elif event.type == "usage" and event.usage is not None:
            usage = event.usage
        elif event.type == "done" and event.stop_reason is not None:
            stop = event.stop_reason
    tool_calls = [
        ToolCall(id=c["id"], name=c["name"], arguments=c["arguments"] or "{}") for _, c in sorted(calls.items())
    ]
    return EngineResponse(
        text="".join(text), tool_calls=tool_calls, stop_reason=stop, usage=usage, engine=engine, model=model
    )
