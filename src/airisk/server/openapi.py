"""The OpenAPI document, with the OAuth2 flows and the scope each operation needs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from airisk.server.idempotency import WRITE_METHODS

SCOPE_DESCRIPTIONS = {
    "chat": "use agents: conversations, turns, files",
    "scan": "scan texts with the Scanner API",
    "admin": "users, groups, agents, API keys, secrets, audit log, archive",
}


def _required_scope(route: APIRoute) -> str | None:
    for dependency in route.dependant.dependencies:
        name = getattr(dependency.call, "__name__", "")
        if name.startswith("require_"):
            return name.removeprefix("require_")
    return None


IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "Send the same key on every retry of one write: a repeat is answered with the stored "
    "response (header `Idempotent-Replayed: true`) instead of running again. 409 `idempotency_in_progress` "
    "(retry after Retry-After) while the first request runs; 409 `idempotency_key_reused` for another "
    "method, path or body; 409 `idempotency_stream_not_replayable` after a streamed turn. Scoped per "
    "caller, kept 24 hours.",
}


def install_openapi(app: FastAPI, routers: list[tuple[str, APIRouter]]) -> None:
    """Replace ``app.openapi`` with one that documents security schemes and per-operation scopes.

    ``routers`` are the (prefix, router) pairs included in the app, walked for their routes.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = spec.setdefault("components", {})
        components["securitySchemes"] = {
            "oauth2": {
                "type": "oauth2",
                "description": "Access tokens from /oauth/token; add `userid` to the client-credentials "
                "request for a user-specific token.",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": "/oauth/authorize",
                        "tokenUrl": "/oauth/token",
                        "refreshUrl": "/oauth/token",
                        "scopes": SCOPE_DESCRIPTIONS,
                    },
                    "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": SCOPE_DESCRIPTIONS},
                },
            },
            "agentApiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "an agent API key (ak_...): that agent's chat endpoints and /scan",
            },
        }
        for prefix, router in routers:
            for route in router.routes:
                _secure(spec, prefix, route)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _secure(spec: dict[str, Any], prefix: str, route: Any) -> None:
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    scope = _required_scope(route)
    if scope is None:
        return
    security: list[dict[str, list[str]]] = [{"oauth2": [scope]}]
    if scope in ("chat", "scan"):
        security.append({"agentApiKey": []})
    for method in route.methods or ():
        operation = spec["paths"].get(prefix + route.path_format, {}).get(method.lower())
        if operation is not None:
            operation["security"] = security
            if method.upper() in WRITE_METHODS:
                operation.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
