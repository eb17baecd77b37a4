"""Errors the workspace raises; the server maps each to one HTTP status."""

from __future__ import annotations

from airisk.errors import AiriskError, InputError


class WorkspaceError(AiriskError):
    """Base of every workspace error."""


class PermissionDenied(WorkspaceError, PermissionError):
    """The actor's role does not allow this operation (HTTP 403)."""

    def __init__(self, operation: str, role: str | None) -> None:
        self.operation = operation
        self.role = role
        super().__init__(f"role {role or 'none'!r} may not {operation}")


class NotFound(WorkspaceError, LookupError):
    """No such object, or it belongs to another company (HTTP 404; existence is not leaked)."""

    def __init__(self, kind: str, object_id: str | None) -> None:
        self.kind = kind
        self.object_id = object_id
        super().__init__(f"{kind} {object_id!r} not found")


class Conflict(WorkspaceError):
    """The change clashes with existing data, e.g. a duplicate name (HTTP 409)."""


class InvalidInvitation(WorkspaceError):
    """The invitation token is unknown, already used, revoked or expired (HTTP 400)."""


class InvalidApiKey(WorkspaceError):
    """The API key is unknown, malformed or revoked (HTTP 401)."""


class InvalidCursor(InputError):
    """A pagination cursor was not produced by this list (HTTP 400)."""


class SecretKeyMissing(WorkspaceError):
    """Encryption at rest needs AIRISK_SECRET_KEY (or ``Workspace(secret_key=...)``)."""


__all__ = [
    "Conflict",
    "InvalidApiKey",
    "InvalidCursor",
    "InvalidInvitation",
    "NotFound",
    "PermissionDenied",
    "SecretKeyMissing",
    "WorkspaceError",
]
