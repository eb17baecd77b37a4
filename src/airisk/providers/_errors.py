"""Turn any vendor SDK exception into the one engine error tree in :mod:`airisk.errors`.

SDKs differ in class names but agree on HTTP status codes, so the mapping reads the status,
headers and error body off the exception (duck-typed, no SDK import needed) and refines it
with the vendor's error code or message: a 400 that says the prompt is too long becomes
:class:`ContextTooLongError`. Vendor messages are scrubbed of anything shaped like a
credential, and the error never keeps the vendor exception (its request carries headers).
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from airisk.errors import (
    AiriskError,
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    ContextTooLongError,
    EngineError,
    EngineTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnavailableError,
)

_REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-amzn-requestid",
    "x-amz-request-id",
    "apim-request-id",
    "x-goog-request-id",
    "cf-ray",
)

_CONTEXT_HINTS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "prompt is too long",
    "input is too long",
    "too many tokens",
    "token limit",
    "input token count",
    "too large for model",
)
_FILTER_HINTS = ("content_filter", "content filter", "content management policy", "responsibleaipolicy", "safety")

_SECRET_PATTERNS = [
    re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-*]{6,}"),
    re.compile(r"\bsk-ant-[A-Za-z0-9_\-*]{6,}"),
    re.compile(r"\bLLM\|[A-Za-z0-9_|\-*]{6,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{10,}"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{12,}"),
    re.compile(r"(?i)(api[-_ ]?key|token|secret|signature|authorization)([\"']?\s*[:=]\s*[\"']?)([^\s\"',;]{4,})"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]{8,}"),
]

_BOTO_CODES: dict[str, type[EngineError]] = {
    "ThrottlingException": RateLimitError,
    "TooManyRequestsException": RateLimitError,
    "ServiceQuotaExceededException": RateLimitError,
    "AccessDeniedException": PermissionDeniedError,
    "UnrecognizedClientException": AuthenticationError,
    "InvalidSignatureException": AuthenticationError,
    "ExpiredTokenException": AuthenticationError,
    "IncompleteSignature": AuthenticationError,
    "MissingAuthenticationTokenException": AuthenticationError,
    "ResourceNotFoundException": NotFoundError,
    "ValidationException": BadRequestError,
    "ModelTimeoutException": EngineTimeoutError,
    "ModelNotReadyException": UnavailableError,
    "ServiceUnavailableException": UnavailableError,
    "InternalServerException": UnavailableError,
    "ModelErrorException": UnavailableError,
    "ModelStreamErrorException": UnavailableError,
}


# error "type" strings some vendors send in the body (and mid-stream, under a 200 status)
_ERROR_TYPES: dict[str, type[EngineError]] = {
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "invalid_request_error": BadRequestError,
    "request_too_large": ContextTooLongError,
    "rate_limit_error": RateLimitError,
    "overloaded_error": UnavailableError,
    "api_error": UnavailableError,
    "timeout_error": EngineTimeoutError,
}


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove known secret values and anything shaped like an API key or token from ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED]", text)
        else:
            text = pattern.sub("[REDACTED]", text)
    return text


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _headers_of(exc: BaseException) -> Mapping[str, str]:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        headers = getattr(exc, "headers", None)
    if headers is None and isinstance(response, Mapping):  # botocore ClientError
        metadata = response.get("ResponseMetadata", {})
        headers = metadata.get("HTTPHeaders")
    try:
        return dict(headers.items()) if headers is not None else {}
    except AttributeError:
        return {}


def _status_of(exc: BaseException) -> int | None:
    for attribute in ("status_code", "code", "status"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        value = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(value, int):
            return value
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def _body_of(exc: BaseException) -> Any:
    for attribute in ("body", "details"):
        value = getattr(exc, attribute, None)
        if value is not None:
            if isinstance(value, (str, bytes)):
                try:
                    return json.loads(value)
                except ValueError:
                    return value if isinstance(value, str) else value.decode("utf-8", "replace")
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return response.get("Error")
    return None


def _vendor_message(exc: BaseException, body: Any) -> str:
    message = getattr(exc, "message", None)
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            message = error["message"]
        elif isinstance(body.get("message"), str):
            message = body["message"]
        elif isinstance(body.get("Message"), str):
            message = body["Message"]
    if not isinstance(message, str) or not message:
        message = str(exc) or type(exc).__name__
    return message.splitlines()[0][:300] if message.strip() else type(exc).__name__


def _error_codes(exc: BaseException, body: Any) -> set[str]:
    codes: set[str] = set()
    for attribute in ("code", "type", "status"):
        value = getattr(exc, attribute, None)
        if isinstance(value, str):
            codes.add(value.lower())
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            for key in ("code", "type", "status", "Code"):
                if isinstance(error.get(key), str):
                    codes.add(error[key].lower())
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping) and isinstance(response.get("Error"), Mapping):
        code = response["Error"].get("Code")
        if isinstance(code, str):
            codes.add(code.lower())
    return codes


def _request_id(exc: BaseException, headers: Mapping[str, str]) -> str | None:
    explicit = getattr(exc, "request_id", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name in _REQUEST_ID_HEADERS:
        if lowered.get(name):
            return str(lowered[name])
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        found = response.get("ResponseMetadata", {}).get("RequestId")
        return str(found) if found else None
    return None


def _scrub_body(body: Any, secrets: Iterable[str | None]) -> Any:
    if body is None:
        return None
    try:
        text = json.dumps(body, default=str)
    except (TypeError, ValueError):
        text = str(body)
    cleaned = scrub(text, secrets)
    try:
        return json.loads(cleaned)
    except ValueError:
        return cleaned


def _by_status(status: int | None, text: str, codes: set[str]) -> type[EngineError]:
    lowered = text.lower()
    filtered = any(hint in lowered for hint in _FILTER_HINTS) or any(hint in c for c in codes for hint in _FILTER_HINTS)
    too_long = any(hint in lowered for hint in _CONTEXT_HINTS) or "context_length_exceeded" in codes
    if status is None:
        return UnavailableError
    if status == 401:
        return AuthenticationError
    if status == 403:
        return ContentFilteredError if filtered else PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status in (400, 413, 422):
        if too_long or status == 413:
            return ContextTooLongError
        if filtered:
            return ContentFilteredError
        return BadRequestError
    if status == 408:
        return EngineTimeoutError
    if status == 429:
        return RateLimitError
    if status == 409 or status >= 500:
        return EngineTimeoutError if status == 504 else UnavailableError
    return BadRequestError


def map_error(
    exc: BaseException,
    *,
    engine: str,
    model: str | None,
    secrets: Iterable[str | None] = (),
) -> EngineError:
    """The :class:`EngineError` for a vendor exception (an airisk error passes through untouched)."""
    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, AiriskError):
        raise exc
    secrets = list(secrets)
    names = _class_names(exc)
    headers = _headers_of(exc)
    status = _status_of(exc)
    body = _body_of(exc)
    message = scrub(_vendor_message(exc, body), secrets)
    codes = _error_codes(exc, body)
    request_id = _request_id(exc, headers)
    retry_after = parse_retry_after(headers)

    kind: type[EngineError]
    boto_code = next((code for code in _BOTO_CODES if code.lower() in codes), None)
    if boto_code is not None:
        kind = _BOTO_CODES[boto_code]
        if kind is BadRequestError and any(hint in message.lower() for hint in _CONTEXT_HINTS):
            kind = ContextTooLongError
    elif (status is None or status < 400) and codes & _ERROR_TYPES.keys():
        kind = _ERROR_TYPES[sorted(codes & _ERROR_TYPES.keys())[0]]
    elif status is not None and not names & {"APIConnectionError", "APITimeoutError"}:
        kind = _by_status(status, message, codes)
    elif any("Timeout" in name for name in names) or isinstance(exc, TimeoutError):
        kind = EngineTimeoutError
        message = "the engine did not answer in time"
    elif names & {
        "APIConnectionError",
        "ConnectError",
        "TransportError",
        "NetworkError",
        "RemoteProtocolError",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "HTTPClientError",
        "NoResponseError",
    } or isinstance(exc, ConnectionError):
        kind = UnavailableError
        message = f"could not reach the engine ({type(exc).__name__})"
    else:
        kind = EngineError
        message = f"unexpected {type(exc).__name__} from the engine SDK: {message}"
    return kind(
        message,
        engine=engine,
        model=model,
        status=status,
        request_id=request_id,
        retry_after=retry_after if kind is RateLimitError or retry_after is not None else None,
        body=_scrub_body(body, secrets),
    )
