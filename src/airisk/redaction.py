"""What of a scanned message is kept in stored logs: the original, a redacted copy, or nothing.

This is a policy setting (``stored_text`` of a company or agent); the workspace calls
:func:`stored_text` before it writes a message, and :func:`stored_report` before it writes
the message's scan report.

* ``original``: the text as the user wrote it (normalised), nothing removed.
* ``redacted`` (the default): every span a scanner gave a replacement for is replaced,
  whatever that scanner's verdict (a blocked message with a card number is not logged in
  the clear either), and every finding of a *sensitive* scanner (by default
  ``personal_information``) without a replacement becomes ``<KIND>``. Vault placeholders
  such as ``<PERSON_1>`` stay as they are: the values live only in the encrypted vault.
* ``dropped``: no text at all; findings (kinds, spans, scores, explanations) are kept,
  and never contain the values they found.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal, get_args

from airisk.errors import ConfigurationError
from airisk.scanners.base import apply_replacements
from airisk.types import Finding, ScanReport

StoredTextMode = Literal["original", "redacted", "dropped"]
STORED_TEXT_MODES: tuple[str, ...] = get_args(StoredTextMode)
SENSITIVE_SCANNERS: tuple[str, ...] = ("personal_information",)


def _check_mode(mode: str) -> None:
    if mode not in STORED_TEXT_MODES:
        raise ConfigurationError(f"stored_text must be one of {', '.join(STORED_TEXT_MODES)}, not {mode!r}")


def redacted_text(report: ScanReport, *, sensitive: Collection[str] = SENSITIVE_SCANNERS) -> str:
    """The report's text with every replaceable or sensitive finding replaced (see module docs)."""
    replacements: list[Finding] = []
    for result in report.results:
        for finding in result.findings:
            if finding.replacement is not None:
                replacements.append(finding)
            elif result.scanner in sensitive and finding.end > finding.start:
                replacements.append(finding.model_copy(update={"replacement": f"<{finding.kind.upper()}>"}))
    return apply_replacements(report.text, replacements) if replacements else report.text


def stored_text(
    report: ScanReport, mode: StoredTextMode = "redacted", *, sensitive: Collection[str] = SENSITIVE_SCANNERS
) -> str | None:
    """The text to store for a scanned message under the ``stored_text`` policy setting."""
    _check_mode(mode)
    if mode == "original":
        return report.text
    if mode == "dropped":
        return None
    return redacted_text(report, sensitive=sensitive)


def stored_report(
    report: ScanReport, mode: StoredTextMode = "redacted", *, sensitive: Collection[str] = SENSITIVE_SCANNERS
) -> dict[str, Any]:
    """The report as plain data for storage, its ``text`` and ``sanitized_text`` following ``mode``.

    Under ``redacted`` both carry the redacted text; under ``dropped`` neither is present.
    """
    _check_mode(mode)
    if mode == "dropped":
        return report.to_dict(include_text=False)
    data = report.to_dict(include_text=True)
    if mode == "redacted":
        redacted = redacted_text(report, sensitive=sensitive)
        data["text"] = redacted
        data["sanitized_text"] = redacted
        for result in data["results"]:  # one redactor's copy still holds what the others caught
            result["sanitized_text"] = None
    return data


__all__ = ["STORED_TEXT_MODES", "StoredTextMode", "redacted_text", "stored_report", "stored_text"]
