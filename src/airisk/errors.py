"""One exception tree for the whole library, in-process and remote alike.

Catch :class:`AiriskError` for everything; catch a subclass for one kind of failure.
No error message or repr ever carries a credential or a message body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airisk.types import ScanReport


class AiriskError(Exception):
    """Base of every error airisk raises on purpose."""


class ConfigurationError(AiriskError, ValueError):
    """A setting is missing or wrong; the message names it."""


def field_path(prefix: str, loc: tuple[Any, ...]) -> str:
    """A validation error's location as a policy path: ``input[1].thresholds.PERSON``."""
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


class PolicyError(ConfigurationError):
    """A policy file or dict is invalid; ``field`` is the path of the offending field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class MissingDependencyError(AiriskError, ImportError):
    """An optional extra is not installed; the message names the pip command."""

    def __init__(self, feature: str, extra: str, package: str | None = None) -> None:
        self.feature = feature
        self.extra = extra
        needed = f" (needs {package})" if package else ""
        super().__init__(f"{feature} is not installed{needed}: pip install 'airisk[{extra}]'")


class ModelArtifactMissing(AiriskError, FileNotFoundError):
    """A model artifact is absent or corrupt; the message names the command that prepares it."""


class InputError(AiriskError, ValueError):
    """Input was rejected before scanning: too large, malformed or wrongly encoded."""


class ScannerError(AiriskError):
    """A scanner failed; the pipeline turns this into a blocking result (fail closed)."""


class ScannerTimeout(ScannerError, TimeoutError):
    """A scanner did not answer within its time limit."""


class WorkAbandoned(ScannerError):
    """Work for a message stopped because its scan was already over (e.g. a scanner timed out)."""


class GuardrailBlocked(AiriskError):
    """A message was blocked by the scanners; ``report`` says which and why."""

    def __init__(self, report: ScanReport, message: str | None = None) -> None:
        self.report = report
        reasons = "; ".join(report.reasons) or "blocked"
        super().__init__(message or f"{report.direction.value} blocked: {reasons}")


class ConversationLimitReached(AiriskError):
    """The conversation reached its agent's maximum number of messages."""


class EngineError(AiriskError):
    """An engine (LLM vendor) call failed. Carries where, never a credential."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        engine: str | None = None,
        model: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        self.engine = engine
        self.model = model
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body
        where = ", ".join(
            f"{key}={value}"
            for key, value in (("engine", engine), ("model", model), ("status", status), ("request_id", request_id))
            if value is not None
        )
        super().__init__(f"{message} ({where})" if where else message)


class AuthenticationError(EngineError):
    """The credential was refused (401)."""


class PermissionDeniedError(EngineError):
    """The credential is valid but not allowed to do this (403)."""


class NotFoundError(EngineError):
    """The model, deployment or resource does not exist (404)."""


class BadRequestError(EngineError):
    """The request was malformed or refused as invalid (400, 422)."""


class ContextTooLongError(BadRequestError):
    """The conversation does not fit the model's context window."""


class ContentFilteredError(EngineError):
    """The vendor's own content filter refused the request or the answer."""


class RateLimitError(EngineError):
    """Too many requests (429); ``retry_after`` says when to try again, if the vendor said."""

    retryable = True


class EngineTimeoutError(EngineError, TimeoutError):
    """The engine did not answer in time."""

    retryable = True


class UnavailableError(EngineError):
    """The engine is down, overloaded or unreachable (5xx, connection errors)."""

    retryable = True
