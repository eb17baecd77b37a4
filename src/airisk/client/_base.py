"""What the sync and async clients share: retry decisions, error mapping, payloads and SSE parsing.

Nothing here does I/O, so both clients apply exactly the same rules.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import os
import random
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from airisk import __version__
from airisk.agent import ChatEvent
from airisk.client import errors as e
from airisk.client.settings import ClientSettings
from airisk.types import Direction, FileAttachment, Reply, ScanReport, Verdict

log = logging.getLogger("airisk.client")

API_PREFIX = "/api/v1"
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
# error kinds of this server that waiting cannot change (an existing object, a full conversation,
# a missing server setting, an idempotency key used for another request or for a streamed turn):
# retrying them only adds delay. ``idempotency_in_progress`` (409) is retried: the first attempt
# is still running and its stored answer will be replayed.
FINAL_ERRORS = frozenset(
    {
        "conflict",
        "conversation_limit_reached",
        "not_configured",
        "idempotency_key_reused",
        "idempotency_stream_not_replayable",
    }
)
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
USER_AGENT = f"airisk-python/{__version__}"

FileLike = FileAttachment | str | Path


def resolve_settings(base_url: str | None, oauth: Any, **given: Any) -> ClientSettings:
    """Settings for a client: arguments, then ``AIRISK_*`` variables. A signed-in ``oauth``
    client counts as the credentials and gives the base URL when nothing else does."""
    if base_url is None and oauth is not None and "AIRISK_BASE_URL" not in os.environ:
        base_url = oauth.base_url
    return ClientSettings.resolve(explicit_credentials=oauth is not None, base_url=base_url, **given)


def http_options(settings: ClientSettings) -> dict[str, Any]:
    """What the sync and async httpx clients are built with: base URL, time limits, headers."""
    import httpx

    return {
        "base_url": settings.base_url,
        "timeout": httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
        "headers": default_headers(),
    }


def default_headers() -> dict[str, str]:
    return {"User-Agent": USER_AGENT, "Accept": "application/json"}


# retries ---------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def should_retry_status(status: int, headers: Mapping[str, str], body: Any) -> bool:
    """Retry 408, 409, 429 and 5xx unless the error kind is final; an explicit ``x-should-retry`` wins."""
    explicit = headers.get("x-should-retry")
    if explicit in ("true", "false"):
        return explicit == "true"
    if status not in RETRY_STATUSES and status < 500:
        return False
    return error_type(body) not in FINAL_ERRORS


def backoff_delay(settings: ClientSettings, attempt: int, retry_after: float | None) -> float:
    """The wait before retry ``attempt`` (0-based): Retry-After when the server gave one, else
    exponential backoff with jitter (between half and all of ``initial * 2**attempt``, capped)."""
    if retry_after is not None:
        return retry_after
    ceiling = min(settings.backoff_max, settings.backoff_initial * (2**attempt))
    return ceiling * (0.5 + random.random() / 2)  # jitter, not cryptography


def is_write(method: str) -> bool:
    return method.upper() in WRITE_METHODS


# errors ---------------------------------------------------------------------------------------------


def error_type(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            kind = error.get("type") or error.get("code")
            return str(kind) if kind else None
        if isinstance(error, str):
            return error
    return None


def error_message(body: Any, status: int) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return str(body.get("error_description") or error)
        detail = body.get("detail")
        if isinstance(detail, list):
            parts = [
                f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
                for item in detail
                if isinstance(item, dict)
            ]
            return "invalid request: " + "; ".join(parts)
        if isinstance(detail, str):
            return detail
    return f"HTTP {status}"


def _report_from(body: Any, direction: Direction = Direction.INPUT) -> ScanReport:
    error = body.get("error") if isinstance(body, dict) else None
    raw = error.get("report") if isinstance(error, dict) else None
    if isinstance(raw, dict):
        try:
            return ScanReport.model_validate(raw)
        except ValueError:
            pass
    return ScanReport(direction=direction, verdict=Verdict.BLOCK)


def status_error(status: int, headers: Mapping[str, str], body: Any) -> e.APIStatusError:
    """The typed error for an error response."""
    kind = error_type(body)
    message = error_message(body, status)
    fields: dict[str, Any] = {
        "status": status,
        "request_id": headers.get("x-request-id"),
        "error_type": kind,
        "retry_after": parse_retry_after(headers.get("retry-after")),
        "body": body,
    }
    cls: type[e.APIStatusError]
    if kind == "guardrail_blocked":
        return e.APIGuardrailBlocked(message, report=_report_from(body), **fields)
    if status == 409 and kind == "conversation_limit_reached":
        cls = e.APIConversationLimitReached
    elif status == 502 and kind == "engine_error":
        cls = e.APIEngineError
    elif status == 503 and kind == "not_configured":
        cls = e.APINotConfiguredError
    elif status in (400, 422):
        cls = e.APIBadRequestError
    else:
        cls = {
            401: e.APIAuthenticationError,
            403: e.APIPermissionDeniedError,
            404: e.APINotFoundError,
            409: e.APIConflictError,
            413: e.APIRequestTooLarge,
            429: e.APIRateLimitError,
        }.get(status, e.APIServerError if status >= 500 else e.APIStatusError)
    return cls(message, **fields)


def invalid_token(status: int, headers: Mapping[str, str]) -> bool:
    """A 401 that a fresh token may cure (RFC 6750 ``invalid_token``)."""
    return status == 401 and "invalid_token" in headers.get("www-authenticate", "")


def decode_json(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


# payloads --------------------------------------------------------------------------------------------


def attachment(file: FileLike, name: str | None = None) -> FileAttachment:
    if isinstance(file, FileAttachment):
        return file
    return FileAttachment.from_path(str(file), name=name)


def file_payload(file: FileLike, name: str | None = None) -> dict[str, Any]:
    """The wire form of a file: name, base64 content and media type."""
    item = attachment(file, name)
    payload: dict[str, Any] = {"name": item.name, "content_base64": base64.b64encode(item.content).decode("ascii")}
    if item.media_type:
        payload["media_type"] = item.media_type
    return payload


def files_payload(files: Iterable[FileLike]) -> list[dict[str, Any]]:
    return [file_payload(file) for file in files]


def drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def reply_from(body: Any) -> tuple[str, Reply]:
    """(conversation id, reply) from a turn answer."""
    return str(body["conversation_id"]), Reply.model_validate(body["reply"])


# server-sent events ---------------------------------------------------------------------------------------


class SSEDecoder:
    """Turns lines of a ``text/event-stream`` into (event, data) pairs (WHATWG rules we need)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        line = line.rstrip("\r")
        if not line:
            if not self._data and not self._event:
                return None
            event = (self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        return None

    def flush(self) -> tuple[str, str] | None:
        return self.feed("")


def chat_event(event: str, data: str, request_id: str | None) -> ChatEvent | None:
    """The ChatEvent for one SSE event of a turn; an ``error`` event raises the typed error."""
    payload = json.loads(data) if data else {}
    if event == "text":
        return ChatEvent(type="text", text=payload.get("text", ""))
    if event == "blocked":
        report = payload.get("report")
        return ChatEvent(
            type="blocked",
            text=payload.get("text", ""),
            report=ScanReport.model_validate(report) if report else None,
        )
    if event == "done":
        reply = payload.get("reply")
        return ChatEvent(type="done", reply=Reply.model_validate(reply) if reply else None)
    if event == "error":
        raise stream_error(payload, request_id)
    log.debug("ignoring unknown server-sent event %r", event)
    return None


_STREAM_ERRORS: dict[str, type[e.APIError]] = {
    "ConversationLimitReached": e.APIConversationLimitReached,
    "LimitExceeded": e.APIRequestTooLarge,
    "InputError": e.APIBadRequestError,
}


def stream_error(payload: Mapping[str, Any], request_id: str | None) -> e.APIError:
    """An error the server reported inside an event stream (after it had answered 200)."""
    kind = str(payload.get("type") or "error")
    message = str(payload.get("message") or "the server reported an error while streaming")
    cls = _STREAM_ERRORS.get(kind)
    if cls is None:
        cls = e.APIEngineError if kind in _ENGINE_KINDS or "Engine" in kind else e.APIError
    return cls(message, status=200, request_id=request_id, error_type=kind, body=dict(payload))


_ENGINE_KINDS = frozenset(
    {
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "BadRequestError",
        "ContextTooLongError",
        "ContentFilteredError",
        "RateLimitError",
        "EngineTimeoutError",
        "UnavailableError",
    }
)



def file_report(info: Any) -> ScanReport:
    """The scanners' report on a file just added (``FileInfo.report``), the type in-process
    ``Conversation.add_file`` returns; a server that sends none is an error, not a pass."""
    if info.report is None:
        raise e.APIError("the server did not return the file's scan report (upgrade the server)")
    report: ScanReport = info.report
    return report
