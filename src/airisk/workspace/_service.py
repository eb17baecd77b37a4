"""What every service shares: the acting identity, permission checks and company scoping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sqlalchemy.orm import Session

from airisk.errors import InputError
from airisk.store.models import Base, Company
from airisk.workspace.errors import NotFound, PermissionDenied
from airisk.workspace.permissions import allowed

if TYPE_CHECKING:
    from airisk.workspace.workspace import Workspace

M = TypeVar("M", bound=Base)


@dataclass(frozen=True)
class Actor:
    """Who is calling: a user (with their company role) or an agent API key."""

    kind: Literal["user", "api_key"]
    id: str
    company_id: str | None
    role: str | None
    server_admin: bool = False
    agent_id: str | None = None
    email: str | None = None

    def __repr__(self) -> str:
        return f"Actor(kind={self.kind!r}, id={self.id!r}, role={self.role!r}, server_admin={self.server_admin})"


class Service:
    """Base of the service namespaces; each instance is bound to one actor."""

    def __init__(self, workspace: Workspace, actor: Actor) -> None:
        self.ws = workspace
        self.actor = actor

    def __repr__(self) -> str:
        return f"{type(self).__name__}(actor={self.actor!r})"

    def _check(self, operation: str) -> None:
        if not allowed(operation, self.actor.role, server_admin=self.actor.server_admin):
            raise PermissionDenied(operation, self.actor.role)

    def _may(self, operation: str) -> bool:
        return allowed(operation, self.actor.role, server_admin=self.actor.server_admin)

    def _company(self, company_id: str | None = None) -> str:
        """The company a call works on: the actor's own; a server admin names one."""
        if self.actor.server_admin:
            target = company_id or self.actor.company_id
            if target is None:
                raise InputError("a server administrator must name the company (company_id=...)")
            return target
        if company_id is not None and company_id != self.actor.company_id:
            raise NotFound("company", company_id)
        if self.actor.company_id is None:
            raise NotFound("company", company_id)
        return self.actor.company_id

    def _visible(self, company_id: str | None) -> bool:
        return self.actor.server_admin or (company_id is not None and company_id == self.actor.company_id)

    def _load(self, session: Session, model: type[M], object_id: str, kind: str, *, shared: bool = False) -> M:
        """Fetch a row of the actor's company (``shared`` also allows company-less rows)."""
        row = session.get(model, object_id)
        company_id = row.id if isinstance(row, Company) else getattr(row, "company_id", None)
        if row is None or not (self._visible(company_id) or (shared and company_id is None)):
            raise NotFound(kind, object_id)
        return row

    def _audit(
        self,
        session: Session,
        action: str,
        *,
        company_id: str | None,
        target_type: str | None = None,
        target_id: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        from airisk.workspace.audit import append_event

        append_event(
            session,
            company_id=company_id,
            actor_id=self.actor.id,
            actor_role="server_admin" if self.actor.server_admin else self.actor.role,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=before,
            after=after,
        )
