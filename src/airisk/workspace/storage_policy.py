"""What text the workspace keeps for a message: the original, the redacted text, or nothing.

``original`` keeps what the person typed and saw, and full scan reports. ``redacted``
keeps the sanitised text (what the scanners let through, placeholders instead of personal
information) and reports without text. ``dropped`` keeps no text at all, only reports
without text, usage and verdicts. The mode is the agent's if set, else the company's.
"""

from __future__ import annotations

from typing import Any, Literal

from airisk.types import ScanReport

Mode = Literal["original", "redacted", "dropped"]
MODES: tuple[Mode, ...] = ("original", "redacted", "dropped")


def stored_text(mode: str, original: str, sanitized: str | None) -> str | None:
    """The text to store for a message under ``mode``."""
    if mode == "original":
        return original
    if mode == "redacted":
        return sanitized if sanitized is not None else original
    if mode == "dropped":
        return None
    raise ValueError(f"unknown message storage mode {mode!r}; use one of {', '.join(MODES)}")


def stored_report(mode: str, report: ScanReport | None) -> dict[str, Any] | None:
    """The scan report to store: with its text only when originals are kept."""
    if report is None:
        return None
    return report.to_dict(include_text=mode == "original")
