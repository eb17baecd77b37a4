"""The Workspace: one database, and service namespaces bound to whoever is acting."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from airisk.providers.base import Engine
from airisk.store import Store, upgrade
from airisk.store.models import ApiKey, Company, Invitation, User, new_id, utcnow
from airisk.workspace._service import Actor
from airisk.workspace.agents import AgentService, ApiKeyService, verify_api_key
from airisk.workspace.archive import ArchiveService
from airisk.workspace.audit import AuditService, append_event
from airisk.workspace.companies import CompanyService, _decrypt_providers
from airisk.workspace.conversations import ConversationService
from airisk.workspace.crypto import SecretBox
from airisk.workspace.errors import Conflict, InvalidInvitation, NotFound, PermissionDenied
from airisk.workspace.groups import GroupService
from airisk.workspace.schemas import UserOut
from airisk.workspace.secrets import REFERENCE_PREFIX, SecretService, make_resolver
from airisk.workspace.users import UserService, hash_token, user_out

EngineFactory = Callable[[str, dict[str, Any]], Engine]


def default_engine_factory(name: str, settings: dict[str, Any]) -> Engine:
    """Build a registered engine adapter from plain settings: ``engine_class(name)(**settings)``."""
    from airisk.providers import engine_class

    return engine_class(name)(**settings)


def actor_for_user(row: User) -> Actor:
    return Actor(
        kind="user", id=row.id, company_id=row.company_id, role=row.role, server_admin=row.server_admin, email=row.email
    )


def resolve_references(value: Any, resolve: Callable[[str], str]) -> Any:
    """Replace every ``secret:NAME`` string in settings with the secret's value."""
    if isinstance(value, dict):
        return {key: resolve_references(item, resolve) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_references(item, resolve) for item in value]
    if isinstance(value, str) and value.startswith(REFERENCE_PREFIX):
        return resolve(value[len(REFERENCE_PREFIX) :])
    return value


class ActorWorkspace:
    """The workspace as seen by one actor: every call is checked against their role and company."""

    def __init__(self, workspace: Workspace, actor: Actor) -> None:
        self.workspace = workspace
        self.actor = actor
        self.companies = CompanyService(workspace, actor)
        self.users = UserService(workspace, actor)
        self.groups = GroupService(workspace, actor)
        self.agents = AgentService(workspace, actor)
        self.api_keys = ApiKeyService(workspace, actor)
        self.conversations = ConversationService(workspace, actor)
        self.audit = AuditService(workspace, actor)
        self.archive = ArchiveService(workspace, actor)
        self.secrets = SecretService(workspace, actor)

    def __repr__(self) -> str:
        return f"ActorWorkspace(actor={self.actor!r})"


class Workspace:
    """The organisation, persisted. ``url`` is an SQLite file path or a database URL.

    ``secret_key`` (default: the AIRISK_SECRET_KEY environment variable) encrypts secrets,
    provider credentials and conversation vaults at rest. ``migrate`` brings the schema up
    to date on open (turn it off when several nodes start at once and migrate separately).
    ``engine_factory(name, settings)`` builds engines; settings arrive with secrets resolved.
    """

    def __init__(
        self,
        url: str | os.PathLike[str],
        *,
        secret_key: str | bytes | None = None,
        migrate: bool = True,
        engine_factory: EngineFactory | None = None,
        clock: Callable[[], datetime] | None = None,
        **engine_options: Any,
    ) -> None:
        self.store = Store(url, **engine_options)
        if migrate:
            upgrade(self.store.url, engine=self.store.engine)
        self.box = SecretBox.from_environment(secret_key)
        self.engine_factory = engine_factory or default_engine_factory
        self.clock = clock or utcnow

    def __repr__(self) -> str:
        return f"Workspace(dialect={self.store.dialect!r}, encryption={'on' if self.box else 'off'})"

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.store.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # identities ------------------------------------------------------------------------------

    def as_actor(self, user: str | UserOut) -> ActorWorkspace:
        """The workspace acting as an active user (given by id or as returned by the services)."""
        user_id = user if isinstance(user, str) else user.id
        with self.store.read() as session:
            row = session.get(User, user_id)
            if row is None:
                raise NotFound("user", user_id)
            if row.status != "active":
                raise PermissionDenied(f"act as a {row.status} user", row.role)
            return ActorWorkspace(self, actor_for_user(row))

    def as_api_key(self, key: str) -> ActorWorkspace:
        """The workspace acting as an agent API key (records the key's last use)."""
        with self.store.write() as session:
            row = verify_api_key(session, key)
            row.last_used_at = self.now()
            actor = Actor(kind="api_key", id=row.id, company_id=row.company_id, role="api_key", agent_id=row.agent_id)
        return ActorWorkspace(self, actor)

    def authenticate_api_key(self, key: str) -> str:
        """The id of the (unrevoked) API key ``key``; raises InvalidApiKey otherwise."""
        return self.as_api_key(key).actor.id

    def create_server_admin(self, email: str, *, name: str = "") -> UserOut:
        """Bootstrap: a server administrator (for trusted callers: the CLI, deployment scripts)."""
        from airisk.workspace.schemas import Invite

        address = Invite(email=email).email
        with self.store.write() as session:
            if session.scalar(select(User).where(User.company_id.is_(None), User.email == address)) is not None:
                raise Conflict(f"server administrator {address!r} exists")
            now = self.now()
            row = User(
                id=new_id("usr"),
                company_id=None,
                email=address,
                name=name,
                role="admin",
                server_admin=True,
                status="active",
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            append_event(
                session,
                company_id=None,
                actor_id=None,
                actor_role="system",
                action="users.create_server_admin",
                target_type="user",
                target_id=row.id,
                after={"email": address},
            )
            return user_out(row)

    def accept_invitation(self, token: str, *, name: str | None = None) -> UserOut:
        """Use an invitation (once, before it expires); the invited user becomes active."""
        with self.store.write() as session:
            invitation = session.scalar(
                select(Invitation).where(Invitation.token_hash == hash_token(token)).with_for_update()
            )
            if invitation is None:
                raise InvalidInvitation("unknown invitation")
            if invitation.accepted_at is not None:
                raise InvalidInvitation("invitation already used")
            if invitation.revoked_at is not None:
                raise InvalidInvitation("invitation revoked")
            if invitation.expires_at <= self.now():
                raise InvalidInvitation("invitation expired")
            user = session.get(User, invitation.user_id)
            if user is None or user.status != "invited":
                raise InvalidInvitation("invitation no longer valid")
            invitation.accepted_at = self.now()
            user.status = "active"
            if name:
                user.name = name
            user.updated_at = self.now()
            append_event(
                session,
                company_id=user.company_id,
                actor_id=user.id,
                actor_role=user.role,
                action="users.accept_invitation",
                target_type="user",
                target_id=user.id,
                before={"status": "invited"},
                after={"status": "active"},
            )
            session.flush()
            return user_out(user)

    # engines and secrets ---------------------------------------------------------------------------

    def secret_resolver(self, company_id: str) -> Callable[[str], str]:
        """name -> plaintext for one company's secrets; for engines at call time, never for display."""
        return make_resolver(self, company_id)

    def build_engine(self, engine: str, settings: dict[str, Any], company_id: str) -> Engine:
        """An engine for a conversation: company provider settings, then the agent's, secrets resolved."""
        with self.store.read() as session:
            company = session.get(Company, company_id)
            providers = _decrypt_providers(self, company) if company is not None else {}
        merged = {**providers.get(engine, {}), **settings}
        return self.engine_factory(engine, resolve_references(merged, self.secret_resolver(company_id)))

    def count(self, model: Any) -> int:
        """Rows in a table (diagnostics and tests)."""
        with self.store.read() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


__all__ = ["ActorWorkspace", "ApiKey", "Workspace", "actor_for_user", "default_engine_factory"]
