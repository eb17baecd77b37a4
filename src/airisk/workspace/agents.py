"""Agents: engine settings as data, usage limits, scanner settings, templates, server
defaults, API keys and files.

Engine settings never hold a credential in plain text: a setting whose name looks like one
(``api_key``, ``token``, ``password``…) must be a ``secret:NAME`` reference to a custom
secret, or be left to the company-wide provider settings. Scanner settings are a policy
layered on the company's Agent Scanner Defaults with :func:`airisk.policy.merge_policies`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from airisk.errors import GuardrailBlocked, InputError
from airisk.policy import MergeConflict, Policy, merge_policies
from airisk.store.models import Agent, AgentFile, ApiKey, Company, new_id
from airisk.types import FileAttachment, ScanContext, ScanReport
from airisk.workspace._service import Service
from airisk.workspace.access import can_use, usable_agents
from airisk.workspace.blobs import drop_if_unused, get_blob, put_blob
from airisk.workspace.errors import InvalidApiKey, NotFound, PermissionDenied
from airisk.workspace.pagination import Page, paginate
from airisk.workspace.schemas import AgentCreate, AgentKind, AgentOut, AgentUpdate, ApiKeyCreated, ApiKeyOut, FileOut
from airisk.workspace.secrets import REFERENCE_PREFIX, secret_exists

_CREDENTIAL_SEGMENTS = frozenset(
    {"key", "apikey", "secret", "token", "password", "passwd", "credential", "credentials"}
)
_CREDENTIAL_PARTS = ("apikey", "accesskey", "secret", "password", "passwd", "credential", "privatekey")


def looks_like_credential(setting: str) -> bool:
    """Whether a setting name names a credential (``api_key``, ``aws_session_token``…; not ``max_tokens``)."""
    lowered = setting.lower()
    segments = re.split(r"[_\-. ]", lowered)
    return any(segment in _CREDENTIAL_SEGMENTS for segment in segments) or any(
        part in lowered for part in _CREDENTIAL_PARTS
    )


API_KEY_PREFIX = "ak"


def agent_out(row: Agent) -> AgentOut:
    return AgentOut.model_validate(row)


def _file_out(row: AgentFile) -> FileOut:
    return FileOut.model_validate(row)


def secret_references(settings: Any, path: str = "") -> list[tuple[str, str]]:
    """Every ``secret:NAME`` reference in engine settings, as (setting path, name)."""
    found: list[tuple[str, str]] = []
    if isinstance(settings, dict):
        for key, value in settings.items():
            found.extend(secret_references(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(settings, list):
        for index, value in enumerate(settings):
            found.extend(secret_references(value, f"{path}[{index}]"))
    elif isinstance(settings, str) and settings.startswith(REFERENCE_PREFIX):
        found.append((path, settings[len(REFERENCE_PREFIX) :]))
    return found


def check_engine_settings(session: Session, company_id: str | None, engine: str, settings: dict[str, Any]) -> None:
    """Refuse unknown engines and plain-text credentials; references must name existing secrets."""
    from airisk.providers import ENGINES

    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; known: {', '.join(sorted(ENGINES))}")

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if isinstance(item, str) and item.startswith("env:"):
                    raise InputError(
                        f"engine_settings.{child}: env: references are not allowed in agents (the server's "
                        "environment belongs to its operator); use a custom secret ('secret:NAME')"
                    )
                if (
                    looks_like_credential(str(key))
                    and item is not None
                    and not (isinstance(item, str) and item.startswith(REFERENCE_PREFIX))
                ):
                    raise InputError(
                        f"engine_settings.{child} looks like a credential: store it as a custom secret and "
                        f"write 'secret:NAME', or set it in the company's provider settings"
                    )
                walk(item, child)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(settings, "")
    if company_id is not None:
        for path, name in secret_references(settings):
            if not secret_exists(session, company_id, name):
                raise InputError(f"engine_settings.{path} refers to secret {name!r}, which does not exist")


def check_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """Validate an agent's scanner policy; stored as given so only the settings it names override."""
    if policy:
        Policy.from_dict(policy)
    return dict(policy)


def effective_policy(session: Session, agent: Agent, company_id: str) -> tuple[Policy, list[MergeConflict]]:
    company = session.get(Company, company_id)
    defaults = Policy.from_dict(company.scanner_defaults or {}) if company is not None else Policy()
    return merge_policies(defaults, Policy.from_dict(agent.scanner_policy or {}))


def check_file(policy: Policy, attachment: FileAttachment, agent_name: str) -> ScanReport:
    """Run the Allowed File Types scanner (the agent's, or its defaults) on one file; raise if refused."""
    from airisk.pipeline import ScannerPipeline
    from airisk.scanners import get_scanner_class

    spec = next((s for s in policy.input if s.type == "file_types"), None)
    scanner = get_scanner_class("file_types")(**(spec.settings if spec is not None else {}))
    report = ScannerPipeline(input=[scanner]).scan_input("", ScanContext(files=[attachment], agent=agent_name))
    if report.blocked:
        raise GuardrailBlocked(report, f"file {attachment.name!r} refused: {'; '.join(report.reasons)}")
    return report


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_api_key(key: str) -> str:
    """The lookup prefix of a key of the form ``ak_<prefix>_<secret>``; InvalidApiKey if malformed."""
    parts = key.split("_", 2)
    if (
        len(parts) != 3
        or parts[0] != API_KEY_PREFIX
        or not re.fullmatch(r"[0-9a-f]{12}", parts[1])
        or len(parts[2]) < 32
    ):
        raise InvalidApiKey("malformed API key")
    return parts[1]


def verify_api_key(session: Session, key: str) -> ApiKey:
    prefix = split_api_key(key)
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or not hmac.compare_digest(row.key_hash, hash_api_key(key)) or row.revoked_at is not None:
        raise InvalidApiKey("unknown or revoked API key")
    return row


class AgentService(Service):
    # reading ----------------------------------------------------------------------------

    def get(self, agent_id: str) -> AgentOut:
        """An agent; staff see every agent of the company, others only those they may use."""
        with self.ws.store.read() as session:
            if self._may("agents.read"):
                return agent_out(self._load(session, Agent, agent_id, "agent", shared=True))
            self._check("agents.list_available")
            row = session.scalar(usable_agents(self.actor).where(Agent.id == agent_id))
            if row is None:
                raise NotFound("agent", agent_id)
            return agent_out(row)

    def list(
        self,
        *,
        kind: AgentKind | None = "agent",
        company_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[AgentOut]:
        """Every agent of the company (of one kind; ``None`` for all kinds)."""
        self._check("agents.read")
        statement = select(Agent).where(Agent.company_id == self._company(company_id))
        if kind is not None:
            statement = statement.where(Agent.kind == kind)
        with self.ws.store.read() as session:
            return paginate(
                session,
                statement,
                list_name="agents",
                keys=[Agent.created_at, Agent.id],
                key_types=[datetime, str],
                convert=agent_out,
                limit=limit,
                cursor=cursor,
            )

    def available(self, *, limit: int | None = None, cursor: str | None = None) -> Page[AgentOut]:
        """The agents the actor may use: own assignments, their groups', and server defaults."""
        self._check("agents.list_available")
        with self.ws.store.read() as session:
            return paginate(
                session,
                usable_agents(self.actor),
                list_name="available_agents",
                keys=[Agent.created_at, Agent.id],
                key_types=[datetime, str],
                convert=agent_out,
                limit=limit,
                cursor=cursor,
            )

    def templates(
        self, *, company_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[AgentOut]:
        """Templates of the company and server-wide ones, and the server default agents."""
        self._check("agents.templates")
        company = self._company(company_id)
        statement = select(Agent).where(
            or_((Agent.company_id == company) & (Agent.kind == "template"), Agent.company_id.is_(None))
        )
        with self.ws.store.read() as session:
            return paginate(
                session,
                statement,
                list_name="templates",
                keys=[Agent.created_at, Agent.id],
                key_types=[datetime, str],
                convert=agent_out,
                limit=limit,
                cursor=cursor,
            )

    def effective_policy(self, agent_id: str, *, company_id: str | None = None) -> Policy:
        """The agent's scanner policy merged onto the company's Agent Scanner Defaults."""
        with self.ws.store.read() as session:
            row = self._readable(session, agent_id)
            policy, _ = effective_policy(session, row, self._company(company_id or row.company_id))
            return policy

    def _readable(self, session: Session, agent_id: str) -> Agent:
        if self._may("agents.read"):
            return self._load(session, Agent, agent_id, "agent", shared=True)
        if not can_use(session, self.actor, agent_id):
            raise NotFound("agent", agent_id)
        row = session.get(Agent, agent_id)
        assert row is not None
        return row

    # writing ----------------------------------------------------------------------------

    def _writable(self, session: Session, agent_id: str) -> Agent:
        row = self._load(session, Agent, agent_id, "agent", shared=True)
        if row.company_id is None:
            self._check("agents.manage_defaults")
        return row

    def create(
        self,
        data: AgentCreate,
        *,
        kind: AgentKind = "agent",
        company_id: str | None = None,
        template_id: str | None = None,
    ) -> AgentOut:
        """A company agent (or company template with ``kind="template"``)."""
        self._check("agents.write")
        if kind == "default":
            raise InputError("default agents are server-wide: use create_server_agent")
        company = self._company(company_id)
        return self._insert(data, kind=kind, company_id=company, template_id=template_id)

    def create_server_agent(self, data: AgentCreate, *, kind: AgentKind = "default") -> AgentOut:
        """A server-wide default agent (offered to every company) or template (server admins only)."""
        self._check("agents.manage_defaults")
        if kind == "agent":
            raise InputError("server-wide agents are 'default' or 'template'")
        return self._insert(data, kind=kind, company_id=None, template_id=None)

    def _insert(self, data: AgentCreate, *, kind: str, company_id: str | None, template_id: str | None) -> AgentOut:
        with self.ws.store.write() as session:
            check_engine_settings(session, company_id, data.engine, data.engine_settings)
            values = data.model_dump()
            values["scanner_policy"] = check_policy(data.scanner_policy)
            now = self.ws.now()
            row = Agent(
                id=new_id("agt"),
                company_id=company_id,
                kind=kind,
                template_id=template_id,
                created_by=self.actor.id,
                created_at=now,
                updated_at=now,
                **values,
            )
            session.add(row)
            session.flush()
            out = agent_out(row)
            self._audit(
                session,
                "agents.create",
                company_id=company_id,
                target_type="agent",
                target_id=row.id,
                after=out.model_dump(mode="json"),
            )
            return out

    def create_from_template(
        self, template_id: str, changes: AgentUpdate | None = None, *, company_id: str | None = None
    ) -> AgentOut:
        """A new company agent copied from a template (company or server-wide), then changed."""
        self._check("agents.write")
        with self.ws.store.read() as session:
            template = self._load(session, Agent, template_id, "template", shared=True)
            if template.kind not in ("template", "default"):
                raise InputError(f"agent {template_id!r} is not a template")
            base = AgentCreate(
                name=template.name,
                description=template.description,
                system_prompt=template.system_prompt,
                engine=template.engine,
                engine_settings=dict(template.engine_settings),
                temperature=template.temperature,
                max_tokens=template.max_tokens,
                max_messages=template.max_messages,
                scanner_policy=dict(template.scanner_policy),
                message_storage=template.message_storage,  # type: ignore[arg-type]
            )
        if changes is not None:
            base = AgentCreate.model_validate(base.model_dump() | changes.model_dump(exclude_unset=True))
        return self.create(base, company_id=company_id, template_id=template_id)

    def update(self, agent_id: str, changes: AgentUpdate) -> AgentOut:
        self._check("agents.write")
        with self.ws.store.write() as session:
            row = self._writable(session, agent_id)
            before = agent_out(row).model_dump(mode="json")
            values = changes.model_dump(exclude_unset=True)
            if "engine" in values or "engine_settings" in values:
                check_engine_settings(
                    session,
                    row.company_id,
                    values.get("engine", row.engine),
                    values.get("engine_settings", row.engine_settings),
                )
            if "scanner_policy" in values:
                values["scanner_policy"] = check_policy(values["scanner_policy"] or {})
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = self.ws.now()
            session.flush()
            out = agent_out(row)
            self._audit(
                session,
                "agents.update",
                company_id=row.company_id,
                target_type="agent",
                target_id=row.id,
                before=before,
                after=out.model_dump(mode="json"),
            )
            return out

    def delete(self, agent_id: str) -> None:
        """Delete an agent; its conversations stay (their agent becomes unknown)."""
        self._check("agents.write")
        with self.ws.store.write() as session:
            row = self._writable(session, agent_id)
            before = agent_out(row).model_dump(mode="json")
            digests = list(session.scalars(select(AgentFile.sha256).where(AgentFile.agent_id == row.id)))
            session.delete(row)
            session.flush()
            for digest in set(digests):
                drop_if_unused(session, digest)
            self._audit(
                session,
                "agents.delete",
                company_id=row.company_id,
                target_type="agent",
                target_id=agent_id,
                before=before,
            )

    # files ------------------------------------------------------------------------------------

    def add_file(self, agent_id: str, name: str, content: bytes, *, media_type: str | None = None) -> FileOut:
        """Attach a file after the Allowed File Types scanner accepts it; stored by content hash."""
        self._check("agents.write_files")
        attachment = FileAttachment(name=name, content=content, media_type=media_type)
        with self.ws.store.read() as session:
            row = self._writable(session, agent_id)
            policy, _ = effective_policy(session, row, row.company_id or self._company())
        check_file(policy, attachment, row.name)
        with self.ws.store.write() as session:
            self._writable(session, agent_id)
            digest = put_blob(session, content)
            file = AgentFile(
                id=new_id("fil"),
                agent_id=agent_id,
                sha256=digest,
                name=name,
                media_type=media_type,
                size=len(content),
                created_by=self.actor.id,
                created_at=self.ws.now(),
            )
            session.add(file)
            session.flush()
            out = _file_out(file)
            self._audit(
                session,
                "agents.add_file",
                company_id=row.company_id,
                target_type="agent",
                target_id=agent_id,
                after=out.model_dump(mode="json"),
            )
            return out

    def files(self, agent_id: str, *, limit: int | None = None, cursor: str | None = None) -> Page[FileOut]:
        self._check("agents.read_files")
        with self.ws.store.read() as session:
            self._load(session, Agent, agent_id, "agent", shared=True)
            statement = select(AgentFile).where(AgentFile.agent_id == agent_id)
            return paginate(
                session,
                statement,
                list_name="agent_files",
                keys=[AgentFile.created_at, AgentFile.id],
                key_types=[datetime, str],
                convert=_file_out,
                limit=limit,
                cursor=cursor,
            )

    def read_file(self, agent_id: str, file_id: str) -> bytes:
        self._check("agents.read_files")
        with self.ws.store.read() as session:
            self._load(session, Agent, agent_id, "agent", shared=True)
            file = session.get(AgentFile, file_id)
            if file is None or file.agent_id != agent_id:
                raise NotFound("file", file_id)
            return get_blob(session, file.sha256)

    def remove_file(self, agent_id: str, file_id: str) -> None:
        self._check("agents.write_files")
        with self.ws.store.write() as session:
            row = self._writable(session, agent_id)
            file = session.get(AgentFile, file_id)
            if file is None or file.agent_id != agent_id:
                raise NotFound("file", file_id)
            before = _file_out(file).model_dump(mode="json")
            session.delete(file)
            session.flush()
            drop_if_unused(session, file.sha256)
            self._audit(
                session,
                "agents.remove_file",
                company_id=row.company_id,
                target_type="agent",
                target_id=agent_id,
                before=before,
            )


def _key_out(row: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(row)


class ApiKeyService(Service):
    """Agent API keys: the key is shown once; only its SHA-256 and a lookup prefix are stored."""

    def create(self, agent_id: str, *, name: str = "") -> ApiKeyCreated:
        self._check("api_keys.manage")
        prefix = secrets.token_hex(6)
        key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        with self.ws.store.write() as session:
            agent = self._load(session, Agent, agent_id, "agent")
            if agent.kind == "template":
                raise InputError("templates cannot have API keys")
            row = ApiKey(
                id=new_id("key"),
                company_id=agent.company_id,
                agent_id=agent.id,
                name=name,
                prefix=prefix,
                key_hash=hash_api_key(key),
                created_by=self.actor.id,
                created_at=self.ws.now(),
            )
            session.add(row)
            session.flush()
            out = _key_out(row)
            self._audit(
                session,
                "api_keys.create",
                company_id=agent.company_id,
                target_type="api_key",
                target_id=row.id,
                after=out.model_dump(mode="json"),
            )
            return ApiKeyCreated(**out.model_dump(), key=key)

    def list(self, agent_id: str, *, limit: int | None = None, cursor: str | None = None) -> Page[ApiKeyOut]:
        self._check("api_keys.manage")
        with self.ws.store.read() as session:
            self._load(session, Agent, agent_id, "agent")
            statement = select(ApiKey).where(ApiKey.agent_id == agent_id)
            return paginate(
                session,
                statement,
                list_name="api_keys",
                keys=[ApiKey.created_at, ApiKey.id],
                key_types=[datetime, str],
                convert=_key_out,
                limit=limit,
                cursor=cursor,
            )

    def revoke(self, key_id: str) -> ApiKeyOut:
        self._check("api_keys.manage")
        with self.ws.store.write() as session:
            row = self._load(session, ApiKey, key_id, "api key")
            if row.revoked_at is None:
                row.revoked_at = self.ws.now()
                self._audit(
                    session,
                    "api_keys.revoke",
                    company_id=row.company_id,
                    target_type="api_key",
                    target_id=row.id,
                    after={"revoked_at": row.revoked_at.isoformat()},
                )
            session.flush()
            return _key_out(row)


__all__ = ["AgentService", "ApiKeyService", "PermissionDenied", "check_file", "effective_policy"]
