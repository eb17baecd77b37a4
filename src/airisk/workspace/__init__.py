"""The workspace: companies, users, roles, groups, agents, files, conversations, audit log,
archive and secrets, persisted with SQLAlchemy (SQLite by default, PostgreSQL for many nodes).

    ws = Workspace("airisk.db")                     # or "postgresql+psycopg://…"
    root = ws.create_server_admin("ops@example.com")
    acme = ws.as_actor(root).companies.create(CompanyCreate(name="Acme"))

Every call goes through ``ws.as_actor(user)`` (or ``ws.as_api_key(key)``) and is checked
against the actor's role and company; see ``docs/workspace.md`` for the permission matrix.
"""

from __future__ import annotations

from airisk.workspace._service import Actor
from airisk.workspace.crypto import generate_secret_key
from airisk.workspace.errors import (
    Conflict,
    InvalidApiKey,
    InvalidCursor,
    InvalidInvitation,
    NotFound,
    PermissionDenied,
    SecretKeyMissing,
    WorkspaceError,
)
from airisk.workspace.pagination import MAX_PAGE_SIZE, Page
from airisk.workspace.permissions import PERMISSIONS, ROLES, allowed, matrix_markdown
from airisk.workspace.schemas import *  # noqa: F403
from airisk.workspace.schemas import __all__ as _schema_names
from airisk.workspace.workspace import ActorWorkspace, Workspace

__all__ = [
    "MAX_PAGE_SIZE",
    "PERMISSIONS",
    "ROLES",
    "Actor",
    "ActorWorkspace",
    "Conflict",
    "InvalidApiKey",
    "InvalidCursor",
    "InvalidInvitation",
    "NotFound",
    "Page",
    "PermissionDenied",
    "SecretKeyMissing",
    "Workspace",
    "WorkspaceError",
    "allowed",
    "generate_secret_key",
    "matrix_markdown",
    *_schema_names,
]
