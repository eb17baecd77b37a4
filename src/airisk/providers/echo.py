"""The offline echo engine: no model, no network, deterministic answers.

For the demo, tests and benchmarks only. It answers from a script of replies when given
one (a scripted reply may be a list of tool calls), otherwise by echoing the last user
message or tool result; usage counts whitespace-separated words so accounting code paths
are exercised too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from pydantic import Field

from airisk.providers.base import Engine, EngineEvent, EngineRequest, EngineResponse, EngineSettings
from airisk.types import StopReason, ToolCall, Usage


class EchoSettings(EngineSettings):
    model: str = "echo-1"
    replies: list[str | list[ToolCall]] = Field(
        default_factory=list, description="answers given in turn (text, or tool calls to ask for), then echo"
    )
    prefix: str = "You said: "
    chunk_size: int = Field(default=8, gt=0, description="characters per streamed delta")


class Echo(Engine):
    """Offline engine that echoes (clearly not a language model)."""

    name = "echo"
    offline = True

    def __init__(
        self, settings: EchoSettings | None = None, *, replies: Sequence[str | list[ToolCall]] = (), **options: object
    ) -> None:
        if settings is None:
            settings = EchoSettings(replies=list(replies), **options)  # type: ignore[arg-type]
        super().__init__(settings)
        self.settings: EchoSettings = settings
        self._turn = 0
        self._lock = threading.Lock()
        self.requests: list[EngineRequest] = []

    def _answer(self, request: EngineRequest) -> str | list[ToolCall]:
        with self._lock:
            self.requests.append(request)
            turn = self._turn
            self._turn += 1
        if turn < len(self.settings.replies):
            return self.settings.replies[turn]
        last = next((m.text for m in reversed(request.messages) if m.role in ("user", "tool")), "")
        return f"{self.settings.prefix}{last}"

    @staticmethod
    def _usage(request: EngineRequest, answer: str | list[ToolCall]) -> Usage:
        if isinstance(answer, list):  # tool calls: their argument text is the output
            answer = " ".join(call.arguments for call in answer)
        prompt = " ".join([request.system or "", *(m.text for m in request.messages)])
        return Usage(input_tokens=len(prompt.split()), output_tokens=len(answer.split()))

    def complete(self, request: EngineRequest) -> EngineResponse:
        answer = self._answer(request)
        if isinstance(answer, list):
            return EngineResponse(
                tool_calls=answer,
                stop_reason=StopReason.TOOL_CALLS,
                usage=self._usage(request, answer),
                engine=self.name,
                model=self.model,
            )
        return EngineResponse(
            text=answer,
            stop_reason=StopReason.END_TURN,
            usage=self._usage(request, answer),
            engine=self.name,
            model=self.model,
        )

    def stream(self, request: EngineRequest) -> Iterator[EngineEvent]:
        answer = self._answer(request)
        if isinstance(answer, list):
            for index, call in enumerate(answer):
                yield EngineEvent(type="tool_call", tool_call_index=index, tool_call_id=call.id, tool_name=call.name)
                yield EngineEvent(type="tool_call", tool_call_index=index, arguments_delta=call.arguments)
            yield EngineEvent(type="usage", usage=self._usage(request, answer))
            yield EngineEvent(type="done", stop_reason=StopReason.TOOL_CALLS)
            return
        size = self.settings.chunk_size
        for start in range(0, len(answer), size):
            yield EngineEvent(type="text", text=answer[start : start + size])
        yield EngineEvent(type="usage", usage=self._usage(request, answer))
        yield EngineEvent(type="done", stop_reason=StopReason.END_TURN)
