"""What text the workspace keeps for a message: the original, a redacted copy, or nothing.

``original`` keeps what the person typed and saw, and full scan reports. ``redacted`` (the
default) keeps the text with what the scanners found replaced (vault placeholders instead of
personal information) and reports whose text is redacted the same way. ``dropped`` keeps no
text at all, only reports without text, usage and verdicts. The mode is the agent's if set,
else the company's.

When :mod:`airisk.redaction` (the shared stored-log redaction rules) is installed it decides
the redacted text; otherwise the pipeline's sanitised text is kept.
"""

from __future__ import annotations

from typing import Any, Literal

from airisk.errors import ConfigurationError
from airisk.types import ScanReport

Mode = Literal["original", "redacted", "dropped"]
MODES: tuple[Mode, ...] = ("original", "redacted", "dropped")
DEFAULT_MODE: Mode = "redacted"


def _shared() -> Any:
    try:
        from airisk import redaction
    except ImportError:
        return None
    return redaction


def _check(mode: str) -> None:
    if mode not in MODES:
        raise ConfigurationError(f"message storage must be one of {', '.join(MODES)}, not {mode!r}")


def stored_text(mode: str, original: str, report: ScanReport | None) -> str | None:
    """The text to store for a message: ``original`` is what the person typed or saw."""
    _check(mode)
    if mode == "original" or report is None:
        return original if mode != "dropped" else None
    if mode == "dropped":
        return None
    shared = _shared()
    if shared is not None:
        text: str = shared.redacted_text(report)
        return text
    return report.sanitized_text or report.text


def stored_report(mode: str, report: ScanReport | None) -> dict[str, Any] | None:
    """The scan report to store, its text following ``mode``."""
    _check(mode)
    if report is None:
        return None
    shared = _shared()
    if shared is not None:
        data: dict[str, Any] = shared.stored_report(report, mode)
        return data
    return report.to_dict(include_text=mode == "original")
