"""Fixtures: a deployment (workspace + app) on a fresh SQLite file, in process and under real uvicorn.

A small keyword scanner is registered for the tests (it blocks the word "forbidden") so
guardrail paths are exercised without model-based scanners.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult

from postgres_databases import fresh_postgres_database

REDIRECT_URI = "http://127.0.0.1:1/callback"
BLOCKING_POLICY = {
    "version": 1,
    "input": [{"type": "server_test_keyword", "words": ["forbidden"], "action": "block"}],
    "output": [{"type": "server_test_keyword", "words": ["secretword"], "action": "block"}],
}


class KeywordConfig(ScannerConfig):
    words: list[str] = []


class KeywordScanner(Scanner):
    """Finds the listed words (case-insensitive) and applies its action."""

    name = "server_test_keyword"
    Config = KeywordConfig

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        config: Any = self.config
        lowered = text.lower()
        findings = []
        for word in config.words:
            start = lowered.find(word.lower())
            while start >= 0:
                findings.append(Finding(kind="keyword", start=start, end=start + len(word)))
                start = lowered.find(word.lower(), start + 1)
        return self.result(text, findings)


@pytest.fixture(autouse=True)
def _test_scanner(monkeypatch: pytest.MonkeyPatch) -> None:
    import airisk.scanners as registry

    module = types.ModuleType("airisk_server_test_scanners")
    module.KeywordScanner = KeywordScanner  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(registry.BUILTIN, "server_test_keyword", (module.__name__, "KeywordScanner"))


@dataclass
class Deployment:
    app: Any
    ws: Any
    root: Any
    company_id: str
    other_company_id: str
    agent_id: str
    client_id: str
    client_secret: str
    other_client_id: str
    other_client_secret: str
    users: dict[str, Any] = field(default_factory=dict)
    user_tokens: dict[str, str] = field(default_factory=dict)
    api_key: str = ""

    def token(self, client: Any, *, userid: str | None = None, other: bool = False, scope: str | None = None) -> str:
        """An access token from the client-credentials grant (generic, or for ``userid``)."""
        data = {"grant_type": "client_credentials"}
        if userid:
            data["userid"] = userid
        if scope:
            data["scope"] = scope
        auth = (self.other_client_id, self.other_client_secret) if other else (self.client_id, self.client_secret)
        response = client.post("/oauth/token", data=data, auth=auth)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def make_settings(tmp_path: Any, **overrides: Any) -> Any:
    from airisk.server.settings import ServerSettings

    policy = tmp_path / "default-policy.json"
    import json

    policy.write_text(json.dumps(BLOCKING_POLICY))
    values: dict[str, Any] = {"database_url": str(tmp_path / "server.db"), "default_policy": str(policy)}
    values.update(overrides)
    return ServerSettings(**values)


def build_deployment(settings: Any) -> Deployment:
    from airisk.oauth.registry import create_app_user, create_client, set_user_token
    from airisk.server.app import create_app
    from airisk.workspace import AgentCreate, CompanyCreate

    app = create_app(settings)
    ws = app.state.airisk.workspace
    root = ws.as_actor(ws.create_server_admin("root@example.com"))
    company = root.companies.create(CompanyCreate(name="Acme"))
    other = root.companies.create(CompanyCreate(name="Globex"))
    agent = root.agents.create(
        AgentCreate(name="helpdesk", engine="echo", scanner_policy=BLOCKING_POLICY), company_id=company.id
    )
    root.agents.create(AgentCreate(name="globex-bot", engine="echo"), company_id=other.id)
    client = create_client(ws, root, company_id=company.id, redirect_uris=[REDIRECT_URI], name="acme-app")
    other_client = create_client(ws, root, company_id=other.id, redirect_uris=[REDIRECT_URI], name="globex-app")
    deployment = Deployment(
        app=app,
        ws=ws,
        root=root,
        company_id=company.id,
        other_company_id=other.id,
        agent_id=agent.id,
        client_id=client.client_id,
        client_secret=client.client_secret,
        other_client_id=other_client.client_id,
        other_client_secret=other_client.client_secret,
    )
    for userid in ("alice", "bob"):
        user = create_app_user(ws, root, userid=userid, agent_ids=[agent.id], company_id=company.id)
        deployment.users[userid] = user
        deployment.user_tokens[userid] = set_user_token(ws, root, user.id)
    create_app_user(ws, root, userid="carol", company_id=other.id)
    deployment.api_key = root.api_keys.create(agent.id, name="tests").key
    return deployment


@pytest.fixture
def deployment(tmp_path: Any) -> Iterator[Deployment]:
    d = build_deployment(make_settings(tmp_path))
    yield d
    d.ws.close()


@pytest.fixture
def client(deployment: Deployment) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(deployment.app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    deployment: Deployment


@pytest.fixture
def live(deployment: Deployment) -> Iterator[LiveServer]:
    """The deployment's app under a real uvicorn on 127.0.0.1 (in a thread, same process)."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(deployment.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveServer(url=f"http://127.0.0.1:{port}", deployment=deployment)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def deployment_factory(tmp_path: Any) -> Iterator[Any]:
    """Build extra deployments with other settings (limits, rate limits)."""
    made: list[Deployment] = []

    def make(**overrides: Any) -> Deployment:
        folder = tmp_path / f"d{len(made)}"
        folder.mkdir()
        made.append(build_deployment(make_settings(folder, **overrides)))
        return made[-1]

    yield make
    for d in made:
        d.ws.close()


REDIS_ENV = "AIRISK_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def pg_server_database() -> Iterator[str]:
    """A uniquely named PostgreSQL database for this test session, dropped afterwards."""
    with fresh_postgres_database("airisk_server_test") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """One database two app instances share: an SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "shared.db")
    import uuid

    from sqlalchemy import create_engine, text

    base: str = request.getfixturevalue("pg_server_database")
    schema = f"s_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{base}?options=-csearch_path%3D{schema}"
