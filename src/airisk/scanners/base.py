"""The scanner contract: a small class with a pydantic config and a ``scan`` method.

A scanner looks at one normalised message and returns a :class:`ScanResult` with a score,
findings (character spans into the text it was given) and a verdict. Scanners whose action
is ``redact`` also give each finding a ``replacement``; the pipeline merges replacements
from all redacting scanners into one sanitised text.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airisk.errors import PolicyError, field_path
from airisk.types import Finding, ScanContext, ScanResult, Verdict

Action = Literal["block", "flag", "redact"]


class ScannerConfig(BaseModel):
    """Settings every scanner has; each scanner extends this with its own fields."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    action: Action = "block"
    threshold: float = Field(default=0.5, ge=0.0, le=1.0, description="score at or above which the action applies")
    fail_open: bool = Field(default=False, description="on error or timeout pass instead of block")
    timeout_s: float | None = Field(default=5.0, gt=0, description="time limit for one scan")
    enabled: bool = True


def _settings_error(scanner: str, exc: ValidationError) -> PolicyError:
    """Every problem pydantic found as one airisk error: ``field`` is the first one's path, the
    others follow with theirs. Only the messages are kept, never the offending values (a
    setting may hold a secret)."""
    errors = exc.errors()
    paths = [field_path("", tuple(error["loc"])) for error in errors]
    others = [
        f"{path}: {error['msg']}" if path else error["msg"] for path, error in zip(paths[1:], errors[1:], strict=True)
    ]
    message = "; ".join([errors[0]["msg"], *others])
    return PolicyError(f"{message} ({scanner} settings)", field=paths[0] or None)


class Scanner(ABC):
    """Base class of every scanner. Subclasses set ``name`` and ``Config`` and implement ``scan``.

    ``inline`` scanners are cheap pure-Python checks that the pipeline runs in the calling
    thread (a thread hop would cost more than the scan); the rest run concurrently.
    """

    name: ClassVar[str] = "scanner"
    Config: ClassVar[type[ScannerConfig]] = ScannerConfig
    inline: ClassVar[bool] = True
    supported_actions: ClassVar[tuple[str, ...]] = ("block", "flag", "redact")

    def __init__(self, config: ScannerConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        base = config.model_dump() if isinstance(config, ScannerConfig) else dict(config or {})
        merged = base | settings
        try:
            self.config = self.Config(**merged)
        except ValidationError as exc:
            raise _settings_error(self.name, exc) from None
        if self.config.action not in self.supported_actions:
            raise PolicyError(
                f"{self.name} supports actions {', '.join(self.supported_actions)}, not {self.config.action!r}",
                field="action",
            )

    @property
    def redacts(self) -> bool:
        return self.config.action == "redact"

    def uses_shared_embedding(self) -> bool:
        """True if scanning reads the shared MiniLM embedding of each message, so ``scan_many``
        may compute the next batch's embeddings while this batch's Python work runs."""
        return False

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.settings().items())
        return f"{type(self).__name__}({fields})"

    def settings(self) -> dict[str, Any]:
        """Settings that differ from the defaults, as plain data (what a policy file stores)."""
        return self.config.model_dump(mode="json", exclude_defaults=True)

    @abstractmethod
    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        """Scan one normalised message."""

    async def ascan(self, text: str, ctx: ScanContext) -> ScanResult:
        """Async twin; by default runs ``scan`` in a worker thread so the loop stays free."""
        if self.inline:
            return self.scan(text, ctx)
        return await asyncio.to_thread(self.scan, text, ctx)

    def applies(self, finding: Finding) -> bool:
        """Whether the pipeline should substitute this finding's replacement (scanners with
        per-kind thresholds override this)."""
        return finding.replacement is not None and finding.score >= self.config.threshold

    def scan_batch(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[ScanResult]:
        """Scan many messages; model-based scanners override this to batch their work."""
        return [self.scan(text, ctx) for text, ctx in zip(texts, contexts, strict=True)]

    def warm_up(self) -> None:  # noqa: B027 - optional hook, most scanners need nothing
        """Load whatever the scanner needs (models, databases) before the first message."""

    def result(
        self,
        text: str,
        findings: list[Finding],
        *,
        score: float | None = None,
        started: float | None = None,
    ) -> ScanResult:
        """Build a result from findings: verdict from the configured action and threshold.

        The score is the highest finding score unless given. A redacting scanner's
        sanitised text has each finding at or above the threshold replaced.
        """
        if score is None:
            score = max((finding.score for finding in findings), default=0.0)
        hits = [finding for finding in findings if finding.score >= self.config.threshold]
        verdict = Verdict.PASS
        sanitized = None
        if hits or (not findings and score >= self.config.threshold and score > 0):
            verdict = Verdict(self.config.action)
        if verdict is Verdict.REDACT:
            sanitized = apply_replacements(text, [f for f in hits if f.replacement is not None])
        elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        return ScanResult(
            scanner=self.name,
            verdict=verdict,
            score=score,
            findings=findings,
            sanitized_text=sanitized,
            elapsed_ms=elapsed,
        )


def apply_replacements(text: str, findings: Sequence[Finding]) -> str:
    """Replace each finding's span with its replacement; overlaps go to the earliest, longest.

    Findings given first win ties, so callers pass them in precedence order. The winner of
    an overlap also covers the loser's overhang, so no part of any redacted value survives.
    """
    chosen: list[tuple[int, int, str]] = []
    ranked = sorted(enumerate(findings), key=lambda item: (item[1].start, item[1].start - item[1].end, item[0]))
    for _, candidate in ranked:
        if candidate.replacement is None or candidate.end <= candidate.start:
            continue
        if chosen and candidate.start < chosen[-1][1]:
            start, end, replacement = chosen[-1]
            chosen[-1] = (start, max(end, candidate.end), replacement)
            continue
        chosen.append((candidate.start, candidate.end, candidate.replacement))
    pieces: list[str] = []
    cursor = 0
    for start, end, replacement in chosen:
        pieces.append(text[cursor:start])
        pieces.append(replacement)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
