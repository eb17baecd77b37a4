"""Fixtures: a fresh workspace on SQLite (always) and PostgreSQL (when AIRISK_TEST_DATABASE_URL is set).

PostgreSQL runs create one uniquely named database per test session from that URL and a
fresh schema inside it per test, and drop the database afterwards, so parallel runs and
leftovers never collide. Tests use small scanners of their own (registered for the test
only) where the real ones are not needed.
"""

from __future__ import annotations

import sys
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult

from postgres_databases import fresh_postgres_database

SECRET_KEY = "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


# test scanners ---------------------------------------------------------------------------------


class KeywordConfig(ScannerConfig):
    words: list[str] = []


class KeywordScanner(Scanner):
    """Finds listed words; blocks, flags or redacts (as <WORD_n> via the vault) per its action."""

    name = "test_keyword"
    Config = KeywordConfig

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        config: Any = self.config
        findings = []
        lowered = text.lower()
        for word in config.words:
            start = lowered.find(word.lower())
            while start >= 0:
                original = text[start : start + len(word)]
                replacement = None
                if self.redacts:
                    replacement = ctx.vault.placeholder("word", original) if ctx.vault is not None else "<WORD>"
                findings.append(Finding(kind="keyword", start=start, end=start + len(word), replacement=replacement))
                start = lowered.find(word.lower(), start + 1)
        return self.result(text, findings)


@pytest.fixture(autouse=True)
def _test_scanners(monkeypatch: pytest.MonkeyPatch) -> None:
    import airisk.scanners as registry

    module = types.ModuleType("airisk_workspace_test_scanners")
    module.KeywordScanner = KeywordScanner  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(registry.BUILTIN, "test_keyword", (module.__name__, "KeywordScanner"))


# databases -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with fresh_postgres_database("airisk_test") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "workspace.db")
        return
    base: str = request.getfixturevalue("pg_database")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def secret_key() -> str:
    return SECRET_KEY


@pytest.fixture
def ws(db_url: str) -> Iterator[Any]:
    from airisk.workspace import Workspace

    workspace = Workspace(db_url, secret_key=SECRET_KEY)
    yield workspace
    workspace.close()


# a populated world ---------------------------------------------------------------------------------------


@dataclass
class World:
    ws: Any
    root: Any
    company_id: str
    other_company_id: str
    users: dict[str, Any] = field(default_factory=dict)
    actors: dict[str, Any] = field(default_factory=dict)
    agent: Any = None
    spare: Any = None
    api_key: str = ""
    other_admin: Any = None

    def new_user(self, role: str = "user", company_id: str | None = None) -> Any:
        from airisk.workspace import Invite

        invitation = self.root.users.invite(
            Invite(email=f"{uuid.uuid4().hex[:10]}@example.com", role=role), company_id=company_id or self.company_id
        )
        return self.ws.accept_invitation(invitation.token)


@pytest.fixture
def world(ws: Any) -> World:
    from airisk.workspace import AgentCreate, CompanyCreate

    root_user = ws.create_server_admin("root@example.com")
    root = ws.as_actor(root_user)
    company = root.companies.create(CompanyCreate(name="Acme"))
    other = root.companies.create(CompanyCreate(name="Globex"))
    w = World(ws=ws, root=root, company_id=company.id, other_company_id=other.id)
    for role in ("admin", "monitor", "compliance", "user"):
        w.users[role] = w.new_user(role)
        w.actors[role] = ws.as_actor(w.users[role])
    w.actors["server_admin"] = root
    w.agent = root.agents.create(AgentCreate(name="helpdesk", engine="echo"), company_id=company.id)
    w.spare = w.new_user("user")
    root.users.assign_agent(w.spare.id, w.agent.id)
    root.users.assign_agent(w.users["user"].id, w.agent.id)
    w.api_key = root.api_keys.create(w.agent.id, name="ci").key
    w.actors["api_key"] = ws.as_api_key(w.api_key)
    w.other_admin = ws.as_actor(w.new_user("admin", company_id=other.id))
    return w
