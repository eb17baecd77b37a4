"""Registering API clients and application users on top of the workspace's own users.

A client gets a service account (a workspace user of its company, role ``admin`` by
default) that its generic tokens act as; an application user gets a workspace user of
role ``user`` whose agent assignments decide which agents its tokens may use. Creating
both goes through the workspace services (invite, accept, assign), so permissions and
the audit log stay the workspace's.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from airisk.errors import InputError
from airisk.oauth.models import ApplicationUser, OAuthClient, digest
from airisk.oauth.server import SCOPES, new_client_id, new_client_secret
from airisk.store.models import new_id, utcnow
from airisk.workspace import Conflict, Invite, NotFound, PermissionDenied, Workspace
from airisk.workspace.workspace import ActorWorkspace


class ClientCreated(BaseModel):
    """A newly registered client; the secret is shown here once and never stored in clear."""

    client_id: str
    client_secret: str = Field(repr=False)
    company_id: str
    redirect_uris: list[str]
    scope: str
    service_user_id: str


class ApplicationUserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="the workspace user id (use it in /users/{id} paths)")
    userid: str = Field(description="the application's own identifier for this person")
    company_id: str
    chat_settings: dict[str, Any]
    agent_ids: list[str] = Field(default_factory=list)
    has_user_token: bool = False
    created_at: datetime


def _check_redirect(uri: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if parts.fragment or not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise InputError(f"redirect URI {uri!r} must be absolute https (http only on loopback), without fragment")
    return uri


def _invite_active(ws: Workspace, actor: ActorWorkspace, email: str, role: str, company_id: str, name: str) -> str:
    invitation = actor.users.invite(Invite(email=email, role=role, name=name), company_id=company_id)  # type: ignore[arg-type]
    assert invitation.token is not None
    return ws.accept_invitation(invitation.token).id


def create_client(
    ws: Workspace,
    actor: ActorWorkspace,
    *,
    company_id: str,
    redirect_uris: list[str],
    name: str = "",
    scope: str = " ".join(SCOPES),
    role: str = "admin",
) -> ClientCreated:
    """Register an API client for ``company_id`` (``actor`` must be allowed to invite users there)."""
    unknown = [part for part in scope.split() if part not in SCOPES]
    if unknown or not scope.split():
        raise InputError(f"scope must be a subset of {' '.join(SCOPES)}")
    uris = [_check_redirect(uri) for uri in redirect_uris]
    client_id = new_client_id()
    service_user = _invite_active(
        ws, actor, f"{client_id}@clients.airisk.invalid", role, company_id, name or f"API client {client_id}"
    )
    secret = new_client_secret()
    with ws.store.write() as session:
        session.add(
            OAuthClient(
                id=client_id,
                company_id=company_id,
                name=name,
                secret_hash=digest(secret),
                redirect_uris=uris,
                scope=" ".join(scope.split()),
                service_user_id=service_user,
                created_at=utcnow(),
            )
        )
    return ClientCreated(
        client_id=client_id,
        client_secret=secret,
        company_id=company_id,
        redirect_uris=uris,
        scope=" ".join(scope.split()),
        service_user_id=service_user,
    )


def _app_user_out(ws: Workspace, row: ApplicationUser) -> ApplicationUserOut:
    from airisk.store.models import UserAgent

    with ws.store.read() as session:
        agent_ids = list(session.scalars(select(UserAgent.agent_id).where(UserAgent.user_id == row.user_id)))
    return ApplicationUserOut(
        id=row.user_id,
        userid=row.userid,
        company_id=row.company_id,
        chat_settings=dict(row.chat_settings or {}),
        agent_ids=sorted(agent_ids),
        has_user_token=row.login_hash is not None,
        created_at=row.created_at,
    )


def create_app_user(
    ws: Workspace,
    actor: ActorWorkspace,
    *,
    userid: str,
    agent_ids: list[str] = (),  # type: ignore[assignment]
    chat_settings: dict[str, Any] | None = None,
    company_id: str | None = None,
) -> ApplicationUserOut:
    """An application user of the actor's company, allowed to use ``agent_ids``."""
    company = company_id or actor.actor.company_id
    if company is None:
        raise InputError("name the company of the application user")
    if not userid or len(userid) > 200:
        raise InputError("userid must be 1 to 200 characters")
    with ws.store.read() as session:
        exists = session.scalar(
            select(ApplicationUser).where(ApplicationUser.company_id == company, ApplicationUser.userid == userid)
        )
    if exists is not None:
        raise Conflict(f"application user {userid!r} exists")
    slug = hashlib.sha256(f"{company}:{userid}".encode()).hexdigest()[:24]
    user_id = _invite_active(ws, actor, f"app-{slug}@users.airisk.invalid", "user", company, userid[:200])
    for agent_id in agent_ids:
        actor.users.assign_agent(user_id, agent_id)
    with ws.store.write() as session:
        row = ApplicationUser(
            id=new_id("apu"),
            company_id=company,
            userid=userid,
            user_id=user_id,
            chat_settings=dict(chat_settings or {}),
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
    return _app_user_out(ws, row)


def get_app_user(ws: Workspace, actor: ActorWorkspace, user_id: str) -> ApplicationUserOut:
    return _app_user_out(ws, _load(ws, actor, user_id))


def _load(ws: Workspace, actor: ActorWorkspace, user_id: str) -> ApplicationUser:
    actor.users.get(user_id)  # the workspace decides whether the actor may see this user
    with ws.store.read() as session:
        row = session.scalar(select(ApplicationUser).where(ApplicationUser.user_id == user_id))
        if row is None:
            raise NotFound("application user", user_id)
        session.expunge(row)
        return row


def set_user_token(ws: Workspace, actor: ActorWorkspace, user_id: str) -> str:
    """A new user token for signing in at the authorization endpoint (the old one stops working)."""
    if not actor.users._may("users.update"):
        raise PermissionDenied("users.set_token", actor.actor.role)
    row = _load(ws, actor, user_id)
    token = secrets.token_urlsafe(24)
    with ws.store.write() as session:
        live = session.get(ApplicationUser, row.id)
        assert live is not None
        live.login_hash = digest(token)
    return token


def delete_app_user(ws: Workspace, actor: ActorWorkspace, user_id: str, server: Any) -> None:
    """Delete a user (workspace soft delete) and revoke every token issued for them."""
    with ws.store.read() as session:
        app_user_id = session.scalar(select(ApplicationUser.id).where(ApplicationUser.user_id == user_id))
    actor.users.delete(user_id)
    if app_user_id is not None:
        with ws.store.write() as session:
            server.revoke_user_tokens(session, app_user_id)
            live = session.get(ApplicationUser, app_user_id)
            if live is not None:
                session.delete(live)


__all__ = [
    "ApplicationUserOut",
    "ClientCreated",
    "create_app_user",
    "create_client",
    "delete_app_user",
    "get_app_user",
    "set_user_token",
]
