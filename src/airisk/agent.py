"""Agent (what an admin configures) and Conversation (a guarded chat with it).

A turn is: scan the input; if blocked, answer with a polite refusal and never call the
engine; otherwise send the sanitised text to the engine, scan its answer, and return a
:class:`Reply` carrying both reports. Streaming releases output only after scanning.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from airisk.errors import ConfigurationError, ConversationLimitReached, InputError
from airisk.pipeline import ScannerPipeline
from airisk.providers.base import Engine, EngineEvent, EngineRequest, EngineResponse
from airisk.types import (
    Direction,
    FileAttachment,
    Message,
    Reply,
    ScanContext,
    ScanReport,
    ScanResult,
    StopReason,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
    Verdict,
)
from airisk.vault import Vault

ToolResults = Sequence[ToolResult | Mapping[str, Any]] | Mapping[str, str]
DEFAULT_REFUSAL = "Sorry, I can't help with that: the message breaks this agent's usage policy."


class ConversationObserver(Protocol):
    """Hooks a persistence layer implements; the user message is recorded before the engine runs.

    An observer may also define ``on_tool_result(conversation, result, report)``: it is called
    for each tool result, after its scan and before the engine reads it.
    """

    def on_user_message(self, conversation: Conversation, text: str, report: ScanReport) -> None: ...

    def on_reply(self, conversation: Conversation, reply: Reply) -> None: ...


class ChatEvent(BaseModel):
    """One event of a streamed turn: released text, a block, or the final reply."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text", "blocked", "done"]
    text: str = ""
    report: ScanReport | None = None
    reply: Reply | None = None


class Agent:
    """An AI agent: an engine, its instructions and limits, and the scanners guarding it."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        *,
        description: str = "",
        system_prompt: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        max_messages: int | None = None,
        pipeline: ScannerPipeline | None = None,
        policy: Any = None,
        tools: Sequence[ToolSpec] = (),
        refusal: str = DEFAULT_REFUSAL,
    ) -> None:
        if pipeline is not None and policy is not None:
            raise ConfigurationError("give an agent a pipeline or a policy, not both")
        if temperature is not None and not 0.0 <= temperature <= 2.0:
            raise ConfigurationError(f"temperature must be between 0 and 2, got {temperature}")
        if max_messages is not None and max_messages < 2:
            raise ConfigurationError("max_messages must allow at least one question and one answer (2)")
        self.name = name
        self.engine = engine
        self.description = description
        self.system_prompt = system_prompt
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_messages = max_messages
        self.pipeline = pipeline if pipeline is not None else (
            ScannerPipeline.from_policy(policy) if policy is not None else ScannerPipeline()
        )
        self.tools = list(tools)
        self.refusal = refusal

    def __repr__(self) -> str:
        return f"Agent(name={self.name!r}, engine={self.engine!r}, pipeline={self.pipeline!r})"

    def conversation(
        self,
        *,
        user: str | None = None,
        client_ip: str | None = None,
        id: str | None = None,
        history: Sequence[Message] = (),
        files: Sequence[FileAttachment] = (),
        vault: Vault | None = None,
        observers: Sequence[ConversationObserver] = (),
    ) -> Conversation:
        """Start (or, given ``id`` and ``history``, resume) a conversation."""
        return Conversation(
            self, user=user, client_ip=client_ip, id=id, history=history, files=files, vault=vault, observers=observers
        )

    def ask(self, text: str, **conversation: Any) -> Reply:
        """A single guarded question with no history."""
        return self.conversation(**conversation).ask(text)

    async def aask(self, text: str, **conversation: Any) -> Reply:
        return await self.conversation(**conversation).aask(text)


class Conversation:
    """A guarded chat with an agent: history, files, a private vault, and turn-by-turn scanning.

    Turns on one conversation are serialised; different conversations run in parallel.
    """

    def __init__(
        self,
        agent: Agent,
        *,
        user: str | None = None,
        client_ip: str | None = None,
        id: str | None = None,
        history: Sequence[Message] = (),
        files: Sequence[FileAttachment] = (),
        vault: Vault | None = None,
        observers: Sequence[ConversationObserver] = (),
    ) -> None:
        self.agent = agent
        self.id = id or uuid.uuid4().hex
        self.user = user
        self.client_ip = client_ip
        self.history: list[Message] = list(history)
        self.files: list[FileAttachment] = list(files)
        self.vault = vault if vault is not None else Vault()
        self.observers = list(observers)
        self.usage = Usage()
        self._lock = threading.Lock()
        self._alock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"Conversation(id={self.id!r}, agent={self.agent.name!r}, messages={len(self.history)})"

    # files -------------------------------------------------------------------------

    def add_file(self, file: FileAttachment | str | Path, *, name: str | None = None) -> ScanReport:
        """Attach a file after the input scanners accept it (file types, size); raises if blocked."""
        from airisk.errors import GuardrailBlocked

        attachment = file if isinstance(file, FileAttachment) else FileAttachment.from_path(str(file), name=name)
        report = self.agent.pipeline.scan_input("", self._context(Direction.INPUT, [attachment]))
        if report.blocked:
            raise GuardrailBlocked(report, f"file {attachment.name!r} refused: {'; '.join(report.reasons)}")
        self.files.append(attachment)
        return report

    # turns -------------------------------------------------------------------------
    #
    # A turn has an input side (a user message, or the results of the tools the model
    # called) and an output side (the engine's answer: text and tool calls). Both sides of
    # every kind of turn go through the same helpers, sync and async.

    def _context(
        self, direction: Direction, files: Sequence[FileAttachment] = (), pending: Sequence[Message] = ()
    ) -> ScanContext:
        return ScanContext(
            direction=direction,
            user=self.user,
            agent=self.agent.name,
            conversation_id=self.id,
            client_ip=self.client_ip,
            files=[*self.files, *files] if direction is Direction.INPUT else [],
            history=[*self.history, *pending],
            vault=self.vault,
        )

    def _check_limit(self, adding: int = 2) -> None:
        limit = self.agent.max_messages
        if limit is not None and len(self.history) + adding > limit:
            raise ConversationLimitReached(
                f"conversation {self.id} has {len(self.history)} messages; agent {self.agent.name!r} allows {limit}"
            )

    def _request(self, new_messages: Sequence[Message]) -> EngineRequest:
        agent = self.agent
        return EngineRequest(
            messages=[*self.history, *new_messages],
            system=agent.system_prompt,
            tools=agent.tools,
            temperature=agent.temperature,
            max_tokens=agent.max_tokens,
        )

    def pending_tool_calls(self) -> list[ToolCall]:
        """The tool calls of the last answer that still wait for results (model-side arguments)."""
        if self.history and self.history[-1].role == "assistant":
            return list(self.history[-1].tool_calls)
        return []

    def _tool_results(self, results: ToolResults) -> list[ToolResult]:
        """Validate results against the pending calls: each answered once, none unknown, none missing."""
        if isinstance(results, Mapping):
            items = [ToolResult(tool_call_id=str(key), content=value) for key, value in results.items()]
        else:
            items = [r if isinstance(r, ToolResult) else ToolResult.model_validate(r) for r in results]
        pending = {call.id: call for call in self.pending_tool_calls()}
        if not pending:
            raise InputError(f"conversation {self.id} has no tool calls waiting for results")
        ids = [item.tool_call_id for item in items]
        problems = []
        if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(f"answered twice: {', '.join(duplicated)}")
        if unknown := [i for i in ids if i not in pending]:
            problems.append(f"not asked for: {', '.join(unknown)}")
        if missing := [i for i in pending if i not in ids]:
            problems.append(f"missing results for: {', '.join(missing)}")
        if problems:
            raise InputError("tool results do not match the pending tool calls; " + "; ".join(problems))
        by_id = {item.tool_call_id: item for item in items}
        return [
            by_id[i] if by_id[i].name else by_id[i].model_copy(update={"name": pending[i].name}) for i in pending
        ]

    def _record_input(self, text: str, report: ScanReport) -> None:
        for observer in self.observers:
            observer.on_user_message(self, text, report)

    def _record_tool_result(self, result: ToolResult, report: ScanReport) -> None:
        for observer in self.observers:
            hook = getattr(observer, "on_tool_result", None)
            if hook is not None:
                hook(self, result, report)

    def _user_turn(self, report: ScanReport, files: Sequence[FileAttachment]) -> _TurnInput:
        if report.blocked:
            return _TurnInput(report=report, refused_by=report)
        return _TurnInput(report=report, messages=[Message(role="user", content=report.sanitized_text)], files=files)

    def _scan_user(self, text: str, files: Sequence[FileAttachment]) -> _TurnInput:
        report = self.agent.pipeline.scan_input(text, self._context(Direction.INPUT, files))
        self._record_input(text, report)
        return self._user_turn(report, files)

    async def _ascan_user(self, text: str, files: Sequence[FileAttachment]) -> _TurnInput:
        report = await self.agent.pipeline.ascan_input(text, self._context(Direction.INPUT, files))
        self._record_input(text, report)
        return self._user_turn(report, files)

    def _scan_tools(self, results: ToolResults) -> _TurnInput:
        turn = _TurnInput(keep_on_refusal=True)
        for result in self._tool_results(results):
            report = self.agent.pipeline.scan_input(result.content, self._context(Direction.INPUT, (), turn.messages))
            self._record_tool_result(result, report)
            turn.add_tool_result(result, report)
        return turn

    async def _ascan_tools(self, results: ToolResults) -> _TurnInput:
        turn = _TurnInput(keep_on_refusal=True)
        for result in self._tool_results(results):
            context = self._context(Direction.INPUT, (), turn.messages)
            report = await self.agent.pipeline.ascan_input(result.content, context)
            self._record_tool_result(result, report)
            turn.add_tool_result(result, report)
        return turn

    def _refuse(self, turn: _TurnInput, report: ScanReport, started: float, **extra: Any) -> Reply:
        extra.setdefault("tool_reports", list(turn.tool_reports))
        return Reply(
            text=self.agent.refusal,
            blocked=True,
            blocked_by=report.direction,
            input_report=turn.report,
            output_report=report if report.direction is Direction.OUTPUT else None,
            engine=self.agent.engine.name,
            model=self.agent.engine.model,
            latency_ms=(time.perf_counter() - started) * 1000,
            **extra,
        )

    def _finish(self, reply: Reply, turn: _TurnInput, model_text: str, model_calls: Sequence[ToolCall] = ()) -> Reply:
        """Append the turn to history (model-side text, with placeholders), keep its files, notify."""
        if turn.refused_by is None or turn.keep_on_refusal:
            # a refused tool turn still answers every call, so the history stays valid for every vendor
            self.history.extend(turn.messages)
            self.history.append(Message(role="assistant", content=model_text, tool_calls=list(model_calls)))
        if turn.refused_by is None:
            self.files.extend(turn.files)
        self.usage = self.usage + reply.usage
        for observer in self.observers:
            observer.on_reply(self, reply)
        return reply

    def _refused(self, turn: _TurnInput, started: float) -> Reply:
        assert turn.refused_by is not None
        return self._finish(self._refuse(turn, turn.refused_by, started), turn, self.agent.refusal)

    def _answer(self, turn: _TurnInput, response: EngineResponse, text_report: ScanReport, started: float) -> Reply:
        """The reply to an engine answer whose text was scanned; its tool-call arguments are scanned here."""
        context = self._context(Direction.OUTPUT)
        call_reports = [
            _checked_arguments(call, self.agent.pipeline.scan_output(call.arguments, context))
            for call in response.tool_calls
        ]
        return self._reply(turn, response, text_report, call_reports, started)

    async def _aanswer(
        self, turn: _TurnInput, response: EngineResponse, text_report: ScanReport, started: float
    ) -> Reply:
        context = self._context(Direction.OUTPUT)
        call_reports = [
            _checked_arguments(call, await self.agent.pipeline.ascan_output(call.arguments, context))
            for call in response.tool_calls
        ]
        return self._reply(turn, response, text_report, call_reports, started)

    def _reply(
        self,
        turn: _TurnInput,
        response: EngineResponse,
        text_report: ScanReport,
        call_reports: list[ScanReport],
        started: float,
    ) -> Reply:
        tool_reports = [*turn.tool_reports, *call_reports]
        refusing = text_report if text_report.blocked else next((r for r in call_reports if r.blocked), None)
        if refusing is not None:
            usage, stop = response.usage, response.stop_reason
            reply = self._refuse(turn, refusing, started, usage=usage, stop_reason=stop, tool_reports=tool_reports)
            return self._finish(reply, turn, self.agent.refusal)
        model_calls = [
            call.model_copy(update={"arguments": report.sanitized_text})
            for call, report in zip(response.tool_calls, call_reports, strict=True)
        ]
        reply = Reply(
            text=self.vault.restore(text_report.sanitized_text),
            input_report=turn.report,
            output_report=text_report,
            tool_reports=tool_reports,
            usage=response.usage,
            stop_reason=response.stop_reason,
            tool_calls=[
                call.model_copy(update={"arguments": self.vault.restore(call.arguments)}) for call in model_calls
            ],
            engine=response.engine,
            model=response.model,
            latency_ms=(time.perf_counter() - started) * 1000,
            raw=response.raw,
        )
        return self._finish(reply, turn, text_report.sanitized_text, model_calls)

    def _complete(self, turn: _TurnInput, started: float) -> Reply:
        if turn.refused_by is not None:
            return self._refused(turn, started)
        response = self.agent.engine.complete(self._request(turn.messages))
        text_report = self.agent.pipeline.scan_output(response.text, self._context(Direction.OUTPUT))
        return self._answer(turn, response, text_report, started)

    async def _acomplete(self, turn: _TurnInput, started: float) -> Reply:
        if turn.refused_by is not None:
            return self._refused(turn, started)
        response = await self.agent.engine.acomplete(self._request(turn.messages))
        text_report = await self.agent.pipeline.ascan_output(response.text, self._context(Direction.OUTPUT))
        return await self._aanswer(turn, response, text_report, started)

    def _stream(self, turn: _TurnInput, started: float) -> Iterator[ChatEvent]:
        if turn.refused_by is not None:
            reply = self._refused(turn, started)
            yield ChatEvent(type="blocked", text=reply.text, report=turn.refused_by)
            yield ChatEvent(type="done", reply=reply)
            return
        collector = _StreamCollector()
        scan = self.agent.pipeline.scan_stream(
            collector.texts(self.agent.engine.stream(self._request(turn.messages))), self._context(Direction.OUTPUT)
        )
        restorer = self.vault.restorer()
        for piece in scan:
            visible = restorer.feed(piece)
            if visible:
                yield ChatEvent(type="text", text=visible)
        tail = restorer.flush()
        if tail and not scan.blocked:
            yield ChatEvent(type="text", text=tail)
        reply = self._answer(turn, collector.response(self.agent.engine), scan.report, started)
        if reply.blocked:
            yield ChatEvent(type="blocked", text=reply.text, report=reply.output_report)
        yield ChatEvent(type="done", reply=reply)

    async def _astream(self, turn: _TurnInput, started: float) -> AsyncIterator[ChatEvent]:
        if turn.refused_by is not None:
            reply = self._refused(turn, started)
            yield ChatEvent(type="blocked", text=reply.text, report=turn.refused_by)
            yield ChatEvent(type="done", reply=reply)
            return
        collector = _StreamCollector()
        scan = self.agent.pipeline.ascan_stream(
            collector.atexts(self.agent.engine.astream(self._request(turn.messages))), self._context(Direction.OUTPUT)
        )
        restorer = self.vault.restorer()
        async for piece in scan:
            visible = restorer.feed(piece)
            if visible:
                yield ChatEvent(type="text", text=visible)
        tail = restorer.flush()
        if tail and not scan.blocked:
            yield ChatEvent(type="text", text=tail)
        reply = await self._aanswer(turn, collector.response(self.agent.engine), scan.report, started)
        if reply.blocked:
            yield ChatEvent(type="blocked", text=reply.text, report=reply.output_report)
        yield ChatEvent(type="done", reply=reply)

    @contextlib.asynccontextmanager
    async def _async_lock(self) -> AsyncIterator[None]:
        """The turn lock for async callers: queued fairly on an asyncio lock, then the same thread
        lock sync callers take, polled so the event loop never blocks — sync and async turns on
        one conversation are serialised together."""
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock:
            while not self._lock.acquire(blocking=False):
                await asyncio.sleep(0.002)
            try:
                yield
            finally:
                self._lock.release()

    # public turns ----------------------------------------------------------------------

    def ask(self, text: str, *, files: Sequence[FileAttachment] = ()) -> Reply:
        """One guarded turn: scan input, call the engine, scan its text and tool-call arguments."""
        with self._lock:
            started = time.perf_counter()
            self._check_limit()
            return self._complete(self._scan_user(text, files), started)

    async def aask(self, text: str, *, files: Sequence[FileAttachment] = ()) -> Reply:
        """Async twin of :meth:`ask`."""
        async with self._async_lock():
            started = time.perf_counter()
            self._check_limit()
            return await self._acomplete(await self._ascan_user(text, files), started)

    def stream(self, text: str, *, files: Sequence[FileAttachment] = ()) -> Iterator[ChatEvent]:
        """A guarded turn streamed: ``text`` events carry scanned, restored text; ``done`` the Reply."""
        with self._lock:
            started = time.perf_counter()
            self._check_limit()
            yield from self._stream(self._scan_user(text, files), started)

    async def astream(self, text: str, *, files: Sequence[FileAttachment] = ()) -> AsyncIterator[ChatEvent]:
        """Async twin of :meth:`stream`."""
        async with self._async_lock():
            started = time.perf_counter()
            self._check_limit()
            async for event in self._astream(await self._ascan_user(text, files), started):
                yield event

    def submit_tool_results(self, results: ToolResults) -> Reply:
        """Answer the pending tool calls: each result is scanned as input before the engine reads it.

        ``results`` is a list of :class:`ToolResult` (or dicts) or a mapping of call id to
        content; every pending call must be answered exactly once. A blocked result refuses the
        turn without calling the engine; the calls are then answered with a withheld notice so
        the history stays valid.
        """
        with self._lock:
            started = time.perf_counter()
            self._check_limit(len(self.pending_tool_calls()) + 1)
            return self._complete(self._scan_tools(results), started)

    async def asubmit_tool_results(self, results: ToolResults) -> Reply:
        """Async twin of :meth:`submit_tool_results`."""
        async with self._async_lock():
            started = time.perf_counter()
            self._check_limit(len(self.pending_tool_calls()) + 1)
            return await self._acomplete(await self._ascan_tools(results), started)

    def stream_tool_results(self, results: ToolResults) -> Iterator[ChatEvent]:
        """:meth:`submit_tool_results`, with the answer streamed as in :meth:`stream`."""
        with self._lock:
            started = time.perf_counter()
            self._check_limit(len(self.pending_tool_calls()) + 1)
            yield from self._stream(self._scan_tools(results), started)

    async def astream_tool_results(self, results: ToolResults) -> AsyncIterator[ChatEvent]:
        """Async twin of :meth:`stream_tool_results`."""
        async with self._async_lock():
            started = time.perf_counter()
            self._check_limit(len(self.pending_tool_calls()) + 1)
            async for event in self._astream(await self._ascan_tools(results), started):
                yield event


WITHHELD_TOOL_RESULT = "[tool result withheld: it breaks this agent's usage policy]"


@dataclass
class _TurnInput:
    """The input side of a turn once scanned: what the engine will read and what refused it."""

    report: ScanReport | None = None  # the user message's report (None on a tool turn)
    refused_by: ScanReport | None = None
    messages: list[Message] = field(default_factory=list)  # model-side messages this turn adds
    files: Sequence[FileAttachment] = ()
    tool_reports: list[ScanReport] = field(default_factory=list)
    keep_on_refusal: bool = False  # a refused tool turn still answers the calls in history

    def add_tool_result(self, result: ToolResult, report: ScanReport) -> None:
        self.tool_reports.append(report)
        if report.blocked and self.refused_by is None:
            self.refused_by = report
        content = WITHHELD_TOOL_RESULT if report.blocked else report.sanitized_text
        self.messages.append(Message(role="tool", tool_call_id=result.tool_call_id, name=result.name, content=content))


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _checked_arguments(call: ToolCall, report: ScanReport) -> ScanReport:
    """Fail closed when redacting a call's JSON arguments would leave text that is no longer JSON."""
    if report.blocked or report.sanitized_text == report.text or _is_json(report.sanitized_text):
        return report
    if not _is_json(call.arguments):
        return report
    result = ScanResult(
        scanner="tool_call_arguments",
        verdict=Verdict.BLOCK,
        score=1.0,
        error=f"redacting the arguments of tool call {call.name!r} would leave invalid JSON",
    )
    return report.model_copy(update={"verdict": Verdict.BLOCK, "results": [*report.results, result]})


class _StreamCollector:
    """Passes text deltas on to the stream scanner and keeps everything else for the Reply."""

    def __init__(self) -> None:
        self.events: list[EngineEvent] = []

    def texts(self, events: Iterator[EngineEvent]) -> Iterator[str]:
        try:
            for event in events:
                self.events.append(event)
                if event.type == "text" and event.text:
                    yield event.text
        finally:  # closed early when the output is blocked: end the engine's stream too
            close = getattr(events, "close", None)
            if close is not None:
                close()

    async def atexts(self, events: AsyncIterator[EngineEvent]) -> AsyncIterator[str]:
        try:
            async for event in events:
                self.events.append(event)
                if event.type == "text" and event.text:
                    yield event.text
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    def response(self, engine: Engine) -> EngineResponse:
        from airisk.providers.base import collect_stream

        response = collect_stream(self.events, engine=engine.name, model=engine.model)
        if not self.events:
            response.stop_reason = StopReason.OTHER
        return response


__all__ = ["Agent", "ChatEvent", "Conversation", "ConversationObserver"]
