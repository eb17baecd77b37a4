"""``create_app(settings)``: the FastAPI application over one workspace.

The app keeps no state of its own between requests (tokens, conversations, files and
rate limits live in the database or Redis), so several instances can serve one
PostgreSQL behind a load balancer.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from authlib.oauth2 import OAuth2Error
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airisk import __version__
from airisk.errors import (
    AiriskError,
    ConfigurationError,
    ConversationLimitReached,
    EngineError,
    GuardrailBlocked,
    InputError,
)
from airisk.oauth.server import AuthorizationServer
from airisk.server.auth import BearerError, RateLimited
from airisk.server.context import ServerContext
from airisk.server.idempotency import (
    REPLAYED_HEADER,
    IdempotencyError,
    IdempotencyKeys,
    IdempotencyMiddleware,
    IdempotentReplay,
)
from airisk.server.limits import LimitExceeded
from airisk.server.openapi import install_openapi
from airisk.server.ratelimit import make_rate_limiter
from airisk.server.settings import ServerSettings
from airisk.workspace import (
    Conflict,
    InvalidApiKey,
    InvalidInvitation,
    NotFound,
    PermissionDenied,
    SecretKeyMissing,
    Workspace,
)

API_PREFIX = "/api/v1"
access_log = logging.getLogger("airisk.server.access")
log = logging.getLogger("airisk.server")


def error_response(status: int, kind: str, message: str, *, report: Any = None, headers: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"type": kind, "message": message}
    if report is not None:
        body["report"] = report
    return JSONResponse({"error": body}, status_code=status, headers=headers)


# middleware -----------------------------------------------------------------------------------


class BodyLimitMiddleware:
    """Refuse bodies above ``max_bytes`` (413) by Content-Length, and while reading a chunked body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_413(send, self.max_bytes)
            return
        seen = 0
        too_big = False
        started = False

        async def limited() -> Message:
            nonlocal seen, too_big
            if too_big:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_big = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if too_big and not started:
                return  # the app's answer to a cut-off body is replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not too_big:
                raise
        if too_big and not started:
            await _send_413(send, self.max_bytes)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps({"error": {"type": "request_too_large", "message": f"request body exceeds {limit} bytes"}})
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body.encode()})


REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


def _request_id(scope: Scope) -> str:
    """The caller's (or load balancer's) X-Request-Id when it is short and plain, else a new one."""
    given = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER)
    if given:
        text = given.decode("latin-1")
        if len(text) <= 64 and set(text) <= _REQUEST_ID_CHARS:
            return text
    return uuid.uuid4().hex[:16]


class AccessLogMiddleware:
    """Every response carries ``X-Request-Id``; with ``log_requests`` one structured line per request
    (method, path without query string, status, duration, caller id).

    Never the Authorization header, query strings (codes, states) or bodies. An exception that
    escapes the app is logged with the request id and answered 500 with that id, so even a
    server error can be traced.
    """

    def __init__(self, app: ASGIApp, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        response_started = False

        async def sending(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers") or [] if k.lower() != REQUEST_ID_HEADER]
                message["headers"] = [*headers, (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id})
            if response_started:
                raise
            response = error_response(500, "server_error", f"internal server error (request id {request_id})")
            await response(scope, receive, sending)
        finally:
            if self.log_requests:
                state = scope.get("state") or {}
                client = scope.get("client")
                access_log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "client": client[0] if client else None,
                        "principal": state.get("principal"),
                    },
                )


class JsonLogFormatter(logging.Formatter):
    """Formats access-log records as one JSON object per line."""

    FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client", "principal")

    def format(self, record: logging.LogRecord) -> str:
        payload = {"ts": round(record.created, 3), "logger": record.name, "msg": record.getMessage()}
        payload.update({key: getattr(record, key) for key in self.FIELDS if hasattr(record, key)})
        return json.dumps(payload)


# errors ----------------------------------------------------------------------------------------


def _install_error_handlers(app: FastAPI) -> None:
    def handler(status: int, kind: str) -> Any:
        async def handle(request: Request, exc: Exception) -> JSONResponse:
            return error_response(status, kind, str(exc))

        return handle

    @app.exception_handler(BearerError)
    async def bearer(request: Request, exc: BearerError) -> JSONResponse:
        body = {"error": exc.error or "unauthorized"}
        if exc.description:
            body["error_description"] = exc.description
        return JSONResponse(body, status_code=exc.status, headers=exc.headers())

    @app.exception_handler(OAuth2Error)
    async def oauth_error(request: Request, exc: OAuth2Error) -> JSONResponse:
        """Protocol errors raised outside a grant (e.g. plain HTTP off loopback): RFC 6749 JSON, no-store."""
        status, body, headers = exc()
        return JSONResponse(body, status_code=status, headers=dict(headers))

    @app.exception_handler(RateLimited)
    async def limited(request: Request, exc: RateLimited) -> JSONResponse:
        return error_response(429, "rate_limited", str(exc), headers={"Retry-After": str(int(exc.wait))})

    @app.exception_handler(GuardrailBlocked)
    async def blocked(request: Request, exc: GuardrailBlocked) -> JSONResponse:
        return error_response(400, "guardrail_blocked", str(exc), report=exc.report.to_dict(include_text=False))

    @app.exception_handler(IdempotencyError)
    async def idempotency_refused(request: Request, exc: IdempotencyError) -> JSONResponse:
        headers = {"x-should-retry": "true" if exc.retry_after is not None else "false"}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return error_response(409, exc.kind, str(exc), headers=headers)

    @app.exception_handler(IdempotentReplay)
    async def replay(request: Request, exc: IdempotentReplay) -> Response:
        """The first outcome again; retrying a replay cannot change it, so clients are told not to."""
        headers = {REPLAYED_HEADER: "true", "x-should-retry": "false"}
        return Response(exc.body, status_code=exc.status, media_type=exc.content_type, headers=headers)

    app.add_exception_handler(LimitExceeded, handler(413, "limit_exceeded"))
    app.add_exception_handler(NotFound, handler(404, "not_found"))
    app.add_exception_handler(PermissionDenied, handler(403, "permission_denied"))
    app.add_exception_handler(Conflict, handler(409, "conflict"))
    app.add_exception_handler(ConversationLimitReached, handler(409, "conversation_limit_reached"))
    app.add_exception_handler(InvalidInvitation, handler(400, "invalid_invitation"))
    app.add_exception_handler(InvalidApiKey, handler(401, "invalid_api_key"))
    app.add_exception_handler(InputError, handler(400, "invalid_request"))
    app.add_exception_handler(ConfigurationError, handler(400, "invalid_request"))
    app.add_exception_handler(EngineError, handler(502, "engine_error"))
    app.add_exception_handler(SecretKeyMissing, handler(503, "not_configured"))

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        """A change the database refused (a uniqueness race, a required field set to null): 409, no SQL."""
        log.warning("database refused a change: %s", type(exc.orig).__name__)
        return error_response(409, "conflict", "the change conflicts with the stored data")

    app.add_exception_handler(AiriskError, handler(400, "invalid_request"))


# the app ----------------------------------------------------------------------------------------


def build_context(settings: ServerSettings) -> ServerContext:
    workspace = Workspace(settings.database_url, secret_key=settings.secret_key, migrate=settings.migrate_on_start)
    oauth = AuthorizationServer(
        workspace.store,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        code_ttl=settings.code_ttl,
    )
    limiter = make_rate_limiter(settings.redis_url, settings.rate_limit_per_minute, settings.rate_limit_burst)
    idempotency = IdempotencyKeys(workspace.store, ttl=settings.idempotency_ttl, lease=settings.idempotency_lease)
    return ServerContext(settings=settings, workspace=workspace, oauth=oauth, limiter=limiter, idempotency=idempotency)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.airisk.workspace.close()


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The airisk API for ``settings`` (default: from ``AIRISK_*`` environment variables)."""
    from airisk.server.routes import admin, chat, health, oauth, openai_compat, scan, users

    settings = settings or ServerSettings.from_env()
    ctx = build_context(settings)
    app = FastAPI(
        title="airisk",
        version=__version__,
        description=(
            "Guarded chat, scanning and workspace administration. Authenticate with an OAuth2 bearer "
            "token (see /oauth/token) or an agent API key. Lists are paginated with `limit` and the "
            "opaque `after` cursor; every list answers `{data, has_more, next_cursor}`."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.airisk = ctx
    _install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(oauth.router)
    for module in (scan, chat, users, admin):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(openai_compat.router)
    routers = [(API_PREFIX, module.router) for module in (scan, chat, users, admin)]
    install_openapi(app, [*routers, ("", openai_compat.router)])
    app.add_middleware(IdempotencyMiddleware, keys=ctx.idempotency)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(AccessLogMiddleware, log_requests=settings.access_log)

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory airisk.server.app:app_from_env`` (one per worker process)."""
    return create_app(ServerSettings.from_env())


__all__ = ["API_PREFIX", "JsonLogFormatter", "LimitExceeded", "app_from_env", "create_app", "error_response"]
