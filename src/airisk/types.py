"""The objects every layer shares: messages, scan contexts, findings, results and reports.

All are pydantic v2 models so they validate on the way in and serialise to plain JSON on
the way out (reports are stored, sent over the API and shown in notebooks).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from enum import Enum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

T = TypeVar("T")


class Verdict(str, Enum):
    """What a scanner decided. Ordered by severity: a report takes the most severe."""

    PASS = "pass"
    FLAG = "flag"
    REDACT = "redact"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def most_severe(cls, verdicts: Any) -> Verdict:
        worst = cls.PASS
        for verdict in verdicts:
            if _SEVERITY[verdict] > _SEVERITY[worst]:
                worst = verdict
        return worst


_SEVERITY = {Verdict.PASS: 0, Verdict.FLAG: 1, Verdict.REDACT: 2, Verdict.BLOCK: 3}


class Direction(str, Enum):
    """Which way a message travels: from a person to the model, or back."""

    INPUT = "input"
    OUTPUT = "output"


class StopReason(str, Enum):
    """Why an engine stopped generating, the same across vendors."""

    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"
    OTHER = "other"


Role = Literal["system", "user", "assistant", "tool"]


class ContentPart(BaseModel):
    """One part of a multi-part message: text, or an image/file given by URL or bytes."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text", "image", "file"] = "text"
    text: str | None = None
    url: str | None = None
    data: bytes | None = Field(default=None, repr=False)
    media_type: str | None = None
    name: str | None = None


class ToolCall(BaseModel):
    """A function call the model asked for; arguments are the raw JSON text it produced."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    arguments: str = "{}"

    def parsed_arguments(self) -> Any:
        return json.loads(self.arguments or "{}")


class ToolResult(BaseModel):
    """What a tool the model called returned; scanned as input before the model reads it."""

    model_config = ConfigDict(extra="forbid")

    tool_call_id: str = Field(min_length=1)
    content: str
    name: str | None = None


class ToolSpec(BaseModel):
    """A tool the model may call, described by a JSON Schema for its parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Message(BaseModel):
    """One chat message in the OpenAI chat shape, which every engine adapter maps from."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str | list[ContentPart] = ""
    name: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        """The message's text, parts joined by newlines (images and files contribute nothing)."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content if part.type == "text" and part.text)


class FileAttachment(BaseModel):
    """A file travelling with a message; content is kept out of reprs and dumps by default."""

    model_config = ConfigDict(extra="forbid")

    name: str
    content: bytes = Field(default=b"", repr=False, exclude=True)
    media_type: str | None = None
    size: int | None = None

    @model_validator(mode="after")
    def _fill_size(self) -> FileAttachment:
        if self.size is None:
            self.size = len(self.content)
        return self

    @classmethod
    def from_path(cls, path: str, *, name: str | None = None) -> FileAttachment:
        from pathlib import Path

        file_path = Path(path)
        return cls(name=name or file_path.name, content=file_path.read_bytes())


class SharedWork:
    """Per-message memo so expensive work (an embedding, a parse) is done once per message.

    Scanners running concurrently on one message ask for the same key; the first computes,
    the rest wait for it. Thread-safe; values never leave the message they belong to.
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._abandoned = threading.Event()

    def abandon(self) -> None:
        """Nobody waits for this message's results any more (its scan is over, perhaps after a
        scanner's time limit): long work in progress for it, such as encoding, may stop."""
        self._abandoned.set()

    @property
    def abandoned(self) -> bool:
        return self._abandoned.is_set()

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        if key in self._values:
            return self._values[key]  # type: ignore[no-any-return]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = compute()
            return self._values[key]  # type: ignore[no-any-return]

    def put(self, key: str, value: Any) -> None:
        self._values[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._values


class ScanContext(BaseModel):
    """Everything a scanner may need besides the text: who, where, what came before."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    direction: Direction = Direction.INPUT
    user: str | None = None
    agent: str | None = None
    conversation_id: str | None = None
    client_ip: str | None = None
    files: list[FileAttachment] = Field(default_factory=list)
    history: list[Message] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    vault: Any = Field(default=None, exclude=True, repr=False)
    _shared: SharedWork = PrivateAttr(default_factory=SharedWork)

    @property
    def shared(self) -> SharedWork:
        """Work shared by every scanner looking at this one message."""
        return self._shared

    def for_message(self) -> ScanContext:
        """A copy with fresh shared work, so memoised results never leak between messages."""
        copy = self.model_copy()
        copy._shared = SharedWork()
        return copy


class Finding(BaseModel):
    """Something a scanner found: what kind, where (character span), how sure, and why."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float = Field(default=1.0, ge=0.0, le=1.0)
    detail: dict[str, Any] = Field(default_factory=dict)
    replacement: str | None = None

    @model_validator(mode="after")
    def _check_span(self) -> Finding:
        if self.end < self.start:
            raise ValueError(f"finding span end {self.end} is before start {self.start}")
        return self

    def shifted(self, offset: int) -> Finding:
        return self.model_copy(update={"start": self.start + offset, "end": self.end + offset})


class ScanResult(BaseModel):
    """One scanner's answer on one message."""

    model_config = ConfigDict(extra="forbid")

    scanner: str
    verdict: Verdict = Verdict.PASS
    score: float = Field(default=0.0, ge=0.0, le=1.0)
    findings: list[Finding] = Field(default_factory=list)
    sanitized_text: str | None = Field(default=None, repr=False)
    elapsed_ms: float = 0.0
    error: str | None = None
    skipped: bool = False

    @field_validator("score", mode="before")
    @classmethod
    def _clamp(cls, value: Any) -> Any:
        if isinstance(value, (int, float)):
            return min(1.0, max(0.0, float(value)))
        return value


class ScanReport(BaseModel):
    """The pipeline's answer on one message: every scanner's result and the final verdict.

    Every span in a report refers to ``text``, the normalised message all scanners saw.
    """

    model_config = ConfigDict(extra="forbid")

    direction: Direction
    verdict: Verdict = Verdict.PASS
    text: str = Field(default="", repr=False)
    sanitized_text: str = Field(default="", repr=False)
    results: list[ScanResult] = Field(default_factory=list)
    normalization: list[Finding] = Field(default_factory=list)
    elapsed_ms: float = 0.0

    @property
    def blocked(self) -> bool:
        return self.verdict is Verdict.BLOCK

    @property
    def findings(self) -> list[Finding]:
        return [finding for result in self.results for finding in result.findings]

    @property
    def errors(self) -> dict[str, str]:
        return {result.scanner: result.error for result in self.results if result.error}

    def result(self, scanner: str) -> ScanResult:
        for result in self.results:
            if result.scanner == scanner:
                return result
        raise KeyError(scanner)

    @property
    def reasons(self) -> list[str]:
        """One line per scanner that did not pass, for refusals and logs."""
        lines = []
        for result in self.results:
            if result.verdict is Verdict.PASS:
                continue
            kinds = sorted({finding.kind for finding in result.findings})
            why = result.error or ", ".join(kinds) or f"score {result.score:.2f}"
            lines.append(f"{result.scanner}: {result.verdict.value} ({why})")
        return lines

    def to_dict(self, *, include_text: bool = True) -> dict[str, Any]:
        if include_text:
            return self.model_dump(mode="json")
        # a redactor's own sanitised text is a copy of the message too
        results: dict[str, Any] = {"__all__": {"sanitized_text"}}
        exclude: dict[str, Any] = {"text": True, "sanitized_text": True, "results": results}
        return self.model_dump(mode="json", exclude=exclude)

    def to_json(self, *, include_text: bool = True, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(include_text=include_text), indent=indent)


class Usage(BaseModel):
    """Tokens an engine reports for one call (cached input tokens counted separately too)."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
        )


class Reply(BaseModel):
    """The answer to one guarded turn: the text the user may see and why."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    text: str
    blocked: bool = False
    blocked_by: Direction | None = None
    input_report: ScanReport | None = None
    output_report: ScanReport | None = None
    usage: Usage = Field(default_factory=Usage)
    stop_reason: StopReason | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_reports: list[ScanReport] = Field(default_factory=list)
    engine: str | None = None
    model: str | None = None
    latency_ms: float = 0.0
    raw: Any = Field(default=None, exclude=True, repr=False)

    @property
    def reports(self) -> list[ScanReport]:
        """Every report of the turn: input, output, then tool results and tool-call arguments."""
        return [r for r in (self.input_report, self.output_report) if r is not None] + self.tool_reports

    @property
    def flagged(self) -> bool:
        return any(r.verdict is Verdict.FLAG for r in self.reports)

    @property
    def findings(self) -> list[Finding]:
        return [finding for report in self.reports for finding in report.findings]
