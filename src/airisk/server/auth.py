"""Who is calling: an OAuth2 bearer token or an agent API key, checked per RFC 6750.

A missing credential answers 401 with ``WWW-Authenticate: Bearer``; an unknown, expired
or revoked one 401 ``error="invalid_token"``; a token without the scope an endpoint
needs 403 ``error="insufficient_scope"``. Every authenticated request then takes one
token from the caller's rate-limit bucket (429 with ``Retry-After`` when empty).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from airisk.oauth.server import AccessGrant, InvalidToken
from airisk.server.context import ServerContext
from airisk.server.idempotency import claim
from airisk.workspace import InvalidApiKey, NotFound, PermissionDenied
from airisk.workspace.agents import API_KEY_PREFIX
from airisk.workspace.workspace import ActorWorkspace

API_KEY_SCOPES = frozenset({"chat", "scan"})


class BearerError(Exception):
    """An RFC 6750 error: status, error code (None when the credential is simply missing), scope."""

    def __init__(self, status: int, error: str | None, description: str = "", scope: str | None = None) -> None:
        self.status = status
        self.error = error
        self.description = description
        self.scope = scope
        super().__init__(description or error or "authentication required")

    def headers(self) -> dict[str, str]:
        parts = []
        if self.error:
            parts.append(f'error="{self.error}"')
        if self.description:
            parts.append(f'error_description="{self.description}"')
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        value = "Bearer " + ", ".join(parts) if parts else 'Bearer realm="airisk"'
        return {"WWW-Authenticate": value, "Cache-Control": "no-store"}


class RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait
        super().__init__(f"rate limit reached; retry in {wait:.1f}s")


@dataclass
class Principal:
    """The caller: the workspace as their actor, their scopes and what the token is bound to."""

    actor: ActorWorkspace
    scopes: frozenset[str]
    kind: str  # "client" (generic token), "user" (user-specific token) or "api_key"
    key: str  # rate-limit and log key (a token id, never a secret)
    grant: AccessGrant | None = None

    @property
    def agent_id(self) -> str | None:
        return self.actor.actor.agent_id

    @property
    def company_id(self) -> str | None:
        return self.actor.actor.company_id


def context(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.airisk
    return ctx


def authenticate(request: Request) -> Principal:
    ctx = context(request)
    header = request.headers.get("authorization")
    if not header:
        raise BearerError(401, None)
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise BearerError(400, "invalid_request", "use the Authorization: Bearer <token> scheme")
    ws = ctx.workspace
    if credential.startswith(API_KEY_PREFIX + "_"):
        try:
            actor = ws.as_api_key(credential)
        except InvalidApiKey:
            raise BearerError(401, "invalid_token", "the API key is unknown or revoked") from None
        principal = Principal(actor=actor, scopes=API_KEY_SCOPES, kind="api_key", key=actor.actor.id)
    else:
        try:
            grant = ctx.oauth.validate_bearer(credential)
            actor = ws.as_actor(grant.user_id)
        except (InvalidToken, NotFound, PermissionDenied):
            raise BearerError(401, "invalid_token", "the access token is unknown, expired or revoked") from None
        principal = Principal(
            actor=actor,
            scopes=grant.scopes,
            kind="client" if grant.generic else "user",
            key=grant.token_id,
            grant=grant,
        )
    request.state.principal = principal.key
    wait = ctx.limiter.check(principal.key)
    if wait > 0:
        raise RateLimited(math.ceil(wait))
    return principal


def require(scope: str) -> Callable[[Request], Principal]:
    """A dependency: the authenticated caller, who must hold ``scope``."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if scope not in principal.scopes:
            raise BearerError(403, "insufficient_scope", f"this endpoint needs the {scope} scope", scope=scope)
        actor = principal.actor.actor
        claim(request, f"{actor.kind}:{actor.id}", context(request).idempotency)
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency


__all__ = ["BearerError", "Principal", "RateLimited", "authenticate", "context", "require"]
