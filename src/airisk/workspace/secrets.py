"""Custom secrets: named values encrypted at rest, referenced from engine settings as ``secret:NAME``.

A secret's value is returned once, never: ``create`` answers with metadata only. The one
way back to the plaintext is the resolver the workspace hands to an engine factory when it
builds an engine for a conversation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from airisk.errors import InputError
from airisk.store.models import Secret, new_id
from airisk.workspace._service import Service
from airisk.workspace.errors import Conflict, NotFound, SecretKeyMissing
from airisk.workspace.pagination import Page, paginate
from airisk.workspace.schemas import SecretOut

SECRET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
REFERENCE_PREFIX = "secret:"


def _aad(company_id: str, name: str) -> str:
    return f"secret:{company_id}:{name}"


def _out(row: Secret) -> SecretOut:
    return SecretOut.model_validate(row)


class SecretService(Service):
    def _box(self):  # type: ignore[no-untyped-def]
        if self.ws.box is None:
            raise SecretKeyMissing("secrets are encrypted at rest; set AIRISK_SECRET_KEY")
        return self.ws.box

    def create(
        self, name: str, value: str, *, description: str = "", company_id: str | None = None, replace: bool = False
    ) -> SecretOut:
        """Store ``value`` encrypted under ``name``; ``replace=True`` overwrites an existing one."""
        self._check("secrets.write")
        if not SECRET_NAME.match(name):
            raise InputError("secret names start with a letter and use letters, digits, '_', '-', '.'")
        if not value:
            raise InputError("a secret needs a value")
        company = self._company(company_id)
        box = self._box()
        with self.ws.store.write() as session:
            row = session.scalar(select(Secret).where(Secret.company_id == company, Secret.name == name))
            now = self.ws.now()
            if row is not None and not replace:
                raise Conflict(f"secret {name!r} exists; pass replace=True to overwrite it")
            action = "secrets.replace" if row is not None else "secrets.create"
            if row is None:
                row = Secret(id=new_id("sec"), company_id=company, name=name, created_by=self.actor.id, created_at=now)
                session.add(row)
            row.ciphertext = box.encrypt(value.encode(), _aad(company, name))
            row.description = description
            row.updated_at = now
            session.flush()
            self._audit(
                session, action, company_id=company, target_type="secret", target_id=row.id, after={"name": name}
            )
            return _out(row)

    def list(
        self, *, company_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[SecretOut]:
        self._check("secrets.read_names")
        statement = select(Secret).where(Secret.company_id == self._company(company_id))
        with self.ws.store.read() as session:
            return paginate(
                session,
                statement,
                list_name="secrets",
                keys=[Secret.created_at, Secret.id],
                key_types=[datetime, str],
                convert=_out,
                limit=limit,
                cursor=cursor,
            )

    def delete(self, name: str, *, company_id: str | None = None) -> None:
        self._check("secrets.write")
        company = self._company(company_id)
        with self.ws.store.write() as session:
            row = session.scalar(select(Secret).where(Secret.company_id == company, Secret.name == name))
            if row is None:
                raise NotFound("secret", name)
            session.delete(row)
            self._audit(
                session,
                "secrets.delete",
                company_id=company,
                target_type="secret",
                target_id=row.id,
                before={"name": name},
            )


def secret_exists(session: Session, company_id: str, name: str) -> bool:
    return session.scalar(select(Secret.id).where(Secret.company_id == company_id, Secret.name == name)) is not None


def make_resolver(workspace: object, company_id: str) -> Callable[[str], str]:
    """A callable name -> plaintext for one company's secrets (for engines, at call time)."""

    def resolve(name: str) -> str:
        from airisk.workspace.workspace import Workspace

        assert isinstance(workspace, Workspace)
        if workspace.box is None:
            raise SecretKeyMissing("secrets are encrypted at rest; set AIRISK_SECRET_KEY")
        with workspace.store.read() as session:
            row = session.scalar(select(Secret).where(Secret.company_id == company_id, Secret.name == name))
            if row is None:
                raise NotFound("secret", name)
            return workspace.box.decrypt(row.ciphertext, _aad(company_id, name)).decode()

    return resolve
