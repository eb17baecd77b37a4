"""Companies: general information, storage policy, provider credentials, scanner defaults."""

from __future__ import annotations

import builtins
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from airisk.policy import Policy
from airisk.store.models import Company, new_id, utcnow
from airisk.workspace._service import Service
from airisk.workspace.errors import SecretKeyMissing
from airisk.workspace.pagination import Page, paginate
from airisk.workspace.schemas import CompanyCreate, CompanyOut, CompanyUpdate, ProviderSettingsOut


def _out(row: Company) -> CompanyOut:
    return CompanyOut.model_validate(row)


class CompanyService(Service):
    def create(self, data: CompanyCreate) -> CompanyOut:
        """A new company (server administrators only)."""
        self._check("companies.create")
        with self.ws.store.write() as session:
            row = Company(id=new_id("cmp"), **data.model_dump(), scanner_defaults={})
            session.add(row)
            session.flush()
            out = _out(row)
            self._audit(
                session,
                "companies.create",
                company_id=row.id,
                target_type="company",
                target_id=row.id,
                after=out.model_dump(mode="json"),
            )
            return out

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[CompanyOut]:
        self._check("companies.list")
        with self.ws.store.read() as session:
            return paginate(
                session,
                select(Company),
                list_name="companies",
                keys=[Company.created_at, Company.id],
                key_types=[datetime, str],
                convert=_out,
                limit=limit,
                cursor=cursor,
            )

    def get(self, company_id: str | None = None) -> CompanyOut:
        self._check("companies.read")
        with self.ws.store.read() as session:
            return _out(self._load(session, Company, self._company(company_id), "company"))

    def update(self, data: CompanyUpdate, *, company_id: str | None = None) -> CompanyOut:
        self._check("companies.update")
        with self.ws.store.write() as session:
            row = self._load(session, Company, self._company(company_id), "company")
            before = _out(row).model_dump(mode="json")
            for key, value in data.model_dump(exclude_unset=True).items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            session.flush()
            out = _out(row)
            self._audit(
                session,
                "companies.update",
                company_id=row.id,
                target_type="company",
                target_id=row.id,
                before=before,
                after=out.model_dump(mode="json"),
            )
            return out

    def delete(self, company_id: str) -> None:
        """Delete a company and everything it owns (server administrators only)."""
        self._check("companies.delete")
        with self.ws.store.write() as session:
            row = self._load(session, Company, company_id, "company")
            before = _out(row).model_dump(mode="json")
            session.delete(row)
            self._audit(
                session,
                "companies.delete",
                company_id=company_id,
                target_type="company",
                target_id=company_id,
                before=before,
            )

    # provider settings: company-wide engine credentials, encrypted, never shown again ---------------

    def set_provider_settings(
        self, engine: str, settings: dict[str, Any] | None, *, company_id: str | None = None
    ) -> ProviderSettingsOut:
        """Set (or with ``None`` remove) the company-wide settings of one engine, e.g. its API key."""
        self._check("companies.write_provider_settings")
        box = self.ws.box
        if box is None:
            raise SecretKeyMissing("provider settings are encrypted at rest; set AIRISK_SECRET_KEY")
        with self.ws.store.write() as session:
            row = self._load(session, Company, self._company(company_id), "company")
            current = _decrypt_providers(self.ws, row)
            before_keys = sorted(current.get(engine, {}))
            if settings is None:
                current.pop(engine, None)
            else:
                current[engine] = dict(settings)
            row.provider_settings = box.encrypt(json.dumps(current).encode(), f"providers:{row.id}")
            row.updated_at = utcnow()
            after_keys = sorted(current.get(engine, {}))
            self._audit(
                session,
                "companies.set_provider_settings",
                company_id=row.id,
                target_type="company",
                target_id=row.id,
                before={"engine": engine, "keys": before_keys},
                after={"engine": engine, "keys": after_keys},
            )
            return ProviderSettingsOut(engine=engine, keys=after_keys)

    def provider_settings(self, *, company_id: str | None = None) -> builtins.list[ProviderSettingsOut]:
        """Which engines have company-wide settings and which keys they set; values never leave."""
        self._check("companies.read_provider_settings")
        with self.ws.store.read() as session:
            row = self._load(session, Company, self._company(company_id), "company")
            current = _decrypt_providers(self.ws, row)
        return [ProviderSettingsOut(engine=name, keys=sorted(values)) for name, values in sorted(current.items())]

    # Agent Scanner Defaults -----------------------------------------------------------------------------

    def scanner_defaults(self, *, company_id: str | None = None) -> Policy:
        self._check("companies.read_scanner_defaults")
        with self.ws.store.read() as session:
            row = self._load(session, Company, self._company(company_id), "company")
            return Policy.from_dict(row.scanner_defaults or {})

    def set_scanner_defaults(self, policy: Policy | dict[str, Any], *, company_id: str | None = None) -> Policy:
        """Replace the company's Agent Scanner Defaults (validated; agents layer their own on top)."""
        self._check("companies.write_scanner_defaults")
        checked = policy if isinstance(policy, Policy) else Policy.from_dict(policy)
        with self.ws.store.write() as session:
            row = self._load(session, Company, self._company(company_id), "company")
            before = dict(row.scanner_defaults or {})
            row.scanner_defaults = checked.to_dict()
            row.updated_at = utcnow()
            self._audit(
                session,
                "companies.set_scanner_defaults",
                company_id=row.id,
                target_type="company",
                target_id=row.id,
                before=before,
                after=row.scanner_defaults,
            )
            return checked


def _decrypt_providers(workspace: Any, row: Company) -> dict[str, dict[str, Any]]:
    if row.provider_settings is None:
        return {}
    if workspace.box is None:
        raise SecretKeyMissing("provider settings are encrypted at rest; set AIRISK_SECRET_KEY")
    data: dict[str, dict[str, Any]] = json.loads(workspace.box.decrypt(row.provider_settings, f"providers:{row.id}"))
    return data
