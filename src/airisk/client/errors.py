"""Errors of the remote client: the in-process exception tree, plus where the server said it.

Every class derives from the in-process class a caller would already catch
(``airisk.errors.NotFoundError``, ``GuardrailBlocked``, ``RateLimitError`` ...), so the same
``except`` works in-process and remotely. Each carries the HTTP ``status``, the server's
``request_id`` (``X-Request-Id``) and its machine-readable ``error_type``; never a credential.
"""

from __future__ import annotations

from typing import Any

from airisk import errors
from airisk.types import ScanReport


class APIError(errors.AiriskError):
    """Base of everything the remote client raises about a request."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        error_type: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        report: ScanReport | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.request_id = request_id
        self.error_type = error_type
        self.retry_after = retry_after
        self.body = body
        # the attributes in-process EngineError subclasses carry, so handlers written for them work
        self.engine: str | None = None
        self.model: str | None = None
        if report is not None:
            self.report = report
        where = ", ".join(
            f"{key}={value}"
            for key, value in (("status", status), ("type", error_type), ("request_id", request_id))
            if value is not None
        )
        Exception.__init__(self, f"{message} ({where})" if where else message)

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), str(self), self.__dict__))


def _rebuild(cls: type[APIError], text: str, state: dict[str, Any]) -> APIError:
    error = cls.__new__(cls)
    Exception.__init__(error, text)
    error.__dict__.update(state)
    return error


class APIConnectionError(APIError, errors.UnavailableError):
    """The server could not be reached (refused, reset, DNS), after every retry."""


class APITimeoutError(APIConnectionError, errors.EngineTimeoutError):
    """The server did not answer within the client's timeout, after every retry."""


class APIStatusError(APIError):
    """The server answered with an error status."""


class APIBadRequestError(APIStatusError, errors.BadRequestError):
    """400 or 422: the request was invalid (``body`` holds the server's explanation)."""


class APIAuthenticationError(APIStatusError, errors.AuthenticationError):
    """401: the credential is missing, unknown, expired or revoked."""


class APIPermissionDeniedError(APIStatusError, errors.PermissionDeniedError):
    """403: the credential is valid but lacks the scope or role."""


class APINotFoundError(APIStatusError, errors.NotFoundError):
    """404: no such object, or not one the caller may see."""


class APIConflictError(APIStatusError):
    """409: the object exists already, or its state forbids the change."""


class APIConversationLimitReached(APIConflictError, errors.ConversationLimitReached):
    """409: the conversation reached its agent's maximum number of messages."""


class APIRequestTooLarge(APIStatusError, errors.InputError):
    """413: the request, a message or the number of files is over the server's limit."""


class APIGuardrailBlocked(APIStatusError, errors.GuardrailBlocked):
    """``guardrail_blocked``: the server's scanners refused the request (a file); ``report`` says why."""

    report: ScanReport


class APIRateLimitError(APIStatusError, errors.RateLimitError):
    """429: too many requests; ``retry_after`` is the server's Retry-After in seconds."""


class APIServerError(APIStatusError, errors.UnavailableError):
    """5xx: the server failed or is unavailable."""


class APINotConfiguredError(APIServerError, errors.ConfigurationError):
    """503 ``not_configured``: the server lacks a setting the call needs (e.g. AIRISK_SECRET_KEY)."""


class APIEngineError(APIServerError):
    """502 ``engine_error``: the agent's engine (LLM vendor) failed behind the server."""


__all__ = [
    "APIAuthenticationError",
    "APIBadRequestError",
    "APIConflictError",
    "APIConnectionError",
    "APIConversationLimitReached",
    "APIEngineError",
    "APIError",
    "APIGuardrailBlocked",
    "APINotConfiguredError",
    "APINotFoundError",
    "APIPermissionDeniedError",
    "APIRateLimitError",
    "APIRequestTooLarge",
    "APIServerError",
    "APIStatusError",
    "APITimeoutError",
]
