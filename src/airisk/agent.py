"""Agent (what an admin configures) and Conversation (a guarded chat with it).

A turn is: scan the input; if blocked, answer with a polite refusal and never call the
engine; otherwise send the sanitised text to the engine, scan its answer, and return a
:class:`Reply` carrying both reports. Streaming releases output only after scanning.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from airisk.errors import ConfigurationError, ConversationLimitReached
from airisk.pipeline import ScannerPipeline
from airisk.providers.base import Engine, EngineEvent, EngineRequest, EngineResponse
from airisk.types import (
    Direction,
    FileAttachment,
    Message,
    Reply,
    ScanContext,
    ScanReport,
    StopReason,
    ToolSpec,
    Usage,
)
from airisk.vault import Vault

DEFAULT_REFUSAL = "Sorry, I can't help with that: the message breaks this agent's usage policy."


class ConversationObserver(Protocol):
    """Hooks a persistence layer implements; the user message is recorded before the engine runs."""

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

    def _context(self, direction: Direction, files: Sequence[FileAttachment] = ()) -> ScanContext:
        return ScanContext(
            direction=direction,
            user=self.user,
            agent=self.agent.name,
            conversation_id=self.id,
            client_ip=self.client_ip,
            files=[*self.files, *files] if direction is Direction.INPUT else [],
            history=list(self.history),
            vault=self.vault,
        )

    def _check_limit(self) -> None:
        limit = self.agent.max_messages
        if limit is not None and len(self.history) + 2 > limit:
            raise ConversationLimitReached(
                f"conversation {self.id} has {len(self.history)} messages; agent {self.agent.name!r} allows {limit}"
            )

    def _request(self, sanitized_input: str) -> EngineRequest:
        agent = self.agent
        return EngineRequest(
            messages=[*self.history, Message(role="user", content=sanitized_input)],
            system=agent.system_prompt,
            tools=agent.tools,
            temperature=agent.temperature,
            max_tokens=agent.max_tokens,
        )

    def _refuse(self, report: ScanReport, started: float, **extra: Any) -> Reply:
        return Reply(
            text=self.agent.refusal,
            blocked=True,
            blocked_by=report.direction,
            input_report=report if report.direction is Direction.INPUT else extra.pop("input_report", None),
            output_report=report if report.direction is Direction.OUTPUT else None,
            engine=self.agent.engine.name,
            model=self.agent.engine.model,
            latency_ms=(time.perf_counter() - started) * 1000,
            **extra,
        )

    def _record_input(self, text: str, report: ScanReport) -> None:
        for observer in self.observers:
            observer.on_user_message(self, text, report)

    def _finish(self, reply: Reply, sanitized_input: str, model_text: str) -> Reply:
        """Append the turn to history (the model-side text, with placeholders) and notify."""
        if reply.blocked_by is not Direction.INPUT:
            self.history.append(Message(role="user", content=sanitized_input))
            self.history.append(Message(role="assistant", content=model_text, tool_calls=reply.tool_calls))
        self.usage = self.usage + reply.usage
        for observer in self.observers:
            observer.on_reply(self, reply)
        return reply

    def _reply_from(
        self, response: EngineResponse, input_report: ScanReport, output_report: ScanReport, started: float
    ) -> tuple[Reply, str]:
        if output_report.blocked:
            reply = self._refuse(
                output_report,
                started,
                input_report=input_report,
                usage=response.usage,
                stop_reason=response.stop_reason,
            )
            return reply, self.agent.refusal
        visible = self.vault.restore(output_report.sanitized_text)
        reply = Reply(
            text=visible,
            input_report=input_report,
            output_report=output_report,
            usage=response.usage,
            stop_reason=response.stop_reason,
            tool_calls=response.tool_calls,
            engine=response.engine,
            model=response.model,
            latency_ms=(time.perf_counter() - started) * 1000,
            raw=response.raw,
        )
        return reply, output_report.sanitized_text

    def ask(self, text: str, *, files: Sequence[FileAttachment] = ()) -> Reply:
        """One guarded turn: scan input, call the engine, scan output."""
        with self._lock:
            started = time.perf_counter()
            self._check_limit()
            input_report = self.agent.pipeline.scan_input(text, self._context(Direction.INPUT, files))
            self._record_input(text, input_report)
            if input_report.blocked:
                return self._finish(self._refuse(input_report, started), "", "")
            sanitized = input_report.sanitized_text
            response = self.agent.engine.complete(self._request(sanitized))
            output_ctx = self._context(Direction.OUTPUT)
            output_report = self.agent.pipeline.scan_output(response.text, output_ctx)
            reply, model_text = self._reply_from(response, input_report, output_report, started)
            self.files.extend(files)
            return self._finish(reply, sanitized, model_text)

    async def aask(self, text: str, *, files: Sequence[FileAttachment] = ()) -> Reply:
        """Async twin of :meth:`ask`."""
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock:
            started = time.perf_counter()
            self._check_limit()
            input_report = await self.agent.pipeline.ascan_input(text, self._context(Direction.INPUT, files))
            self._record_input(text, input_report)
            if input_report.blocked:
                return self._finish(self._refuse(input_report, started), "", "")
            sanitized = input_report.sanitized_text
            response = await self.agent.engine.acomplete(self._request(sanitized))
            output_report = await self.agent.pipeline.ascan_output(response.text, self._context(Direction.OUTPUT))
            reply, model_text = self._reply_from(response, input_report, output_report, started)
            self.files.extend(files)
            return self._finish(reply, sanitized, model_text)

    def stream(self, text: str, *, files: Sequence[FileAttachment] = ()) -> Iterator[ChatEvent]:
        """A guarded turn streamed: ``text`` events carry scanned, restored text; ``done`` the Reply."""
        with self._lock:
            started = time.perf_counter()
            self._check_limit()
            input_report = self.agent.pipeline.scan_input(text, self._context(Direction.INPUT, files))
            self._record_input(text, input_report)
            if input_report.blocked:
                reply = self._finish(self._refuse(input_report, started), "", "")
                yield ChatEvent(type="blocked", text=reply.text, report=input_report)
                yield ChatEvent(type="done", reply=reply)
                return
            sanitized = input_report.sanitized_text
            collector = _StreamCollector()
            scan = self.agent.pipeline.scan_stream(
                collector.texts(self.agent.engine.stream(self._request(sanitized))), self._context(Direction.OUTPUT)
            )
            restorer = self.vault.restorer()
            for piece in scan:
                visible = restorer.feed(piece)
                if visible:
                    yield ChatEvent(type="text", text=visible)
            tail = restorer.flush()
            if tail and not scan.blocked:
                yield ChatEvent(type="text", text=tail)
            response = collector.response(self.agent.engine)
            reply, model_text = self._reply_from(response, input_report, scan.report, started)
            if reply.blocked:
                yield ChatEvent(type="blocked", text=reply.text, report=scan.report)
            self.files.extend(files)
            yield ChatEvent(type="done", reply=self._finish(reply, sanitized, model_text))

    async def astream(self, text: str, *, files: Sequence[FileAttachment] = ()) -> AsyncIterator[ChatEvent]:
        """Async twin of :meth:`stream`."""
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock:
            started = time.perf_counter()
            self._check_limit()
            input_report = await self.agent.pipeline.ascan_input(text, self._context(Direction.INPUT, files))
            self._record_input(text, input_report)
            if input_report.blocked:
                reply = self._finish(self._refuse(input_report, started), "", "")
                yield ChatEvent(type="blocked", text=reply.text, report=input_report)
                yield ChatEvent(type="done", reply=reply)
                return
            sanitized = input_report.sanitized_text
            collector = _StreamCollector()
            scan = self.agent.pipeline.ascan_stream(
                collector.atexts(self.agent.engine.astream(self._request(sanitized))), self._context(Direction.OUTPUT)
            )
            restorer = self.vault.restorer()
            async for piece in scan:
                visible = restorer.feed(piece)
                if visible:
                    yield ChatEvent(type="text", text=visible)
            tail = restorer.flush()
            if tail and not scan.blocked:
                yield ChatEvent(type="text", text=tail)
            response = collector.response(self.agent.engine)
            reply, model_text = self._reply_from(response, input_report, scan.report, started)
            if reply.blocked:
                yield ChatEvent(type="blocked", text=reply.text, report=scan.report)
            self.files.extend(files)
            yield ChatEvent(type="done", reply=self._finish(reply, sanitized, model_text))


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
