"""The API's routers, one module per area; each is a thin call into the workspace."""

from __future__ import annotations

from typing import Any

from airisk.server.schemas import ErrorBody

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid request"},
    401: {"description": "missing or invalid credential (RFC 6750)"},
    403: {"description": "insufficient scope (RFC 6750) or role"},
    404: {"model": ErrorBody, "description": "no such object (or not yours)"},
    409: {"model": ErrorBody, "description": "conflict"},
    413: {"model": ErrorBody, "description": "request, message or file count over the limit"},
    429: {"model": ErrorBody, "description": "rate limit reached; see Retry-After"},
    502: {"model": ErrorBody, "description": "the agent's engine failed"},
    503: {"model": ErrorBody, "description": "the server lacks a setting (e.g. AIRISK_SECRET_KEY)"},
}
