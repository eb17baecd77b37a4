"""A real deployment for the client tests: the server app under uvicorn on 127.0.0.1.

The app is wrapped in :class:`FaultInjector`, an ASGI middleware the retry tests use to
answer chosen requests with 503/429 before the server sees them. A keyword scanner is
registered (blocks "forbidden" in input and "secretword" in output) so guardrail paths
run without model-based scanners.
"""

from __future__ import annotations

import json
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
pytest.importorskip("uvicorn")
pytest.importorskip("authlib")

from client_support import POLICY, REDIRECT_URI

from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult


class KeywordConfig(ScannerConfig):
    words: list[str] = []


class KeywordScanner(Scanner):
    """Finds the listed words (case-insensitive) and applies its action."""

    name = "client_test_keyword"
    Config = KeywordConfig
    supported_actions = ("block", "flag")

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        config: Any = self.config
        lowered = text.lower()
        findings = []
        for word in config.words:
            start = lowered.find(word.lower())
            while start >= 0:
                findings.append(Finding(kind="keyword", start=start, end=start + len(word), detail={"word": word}))
                start = lowered.find(word.lower(), start + 1)
        return self.result(text, findings)


class FileTypesConfig(ScannerConfig):
    allow: list[str] | None = None


class FileTypesScanner(Scanner):
    """An extension allow-list for attached files."""

    name = "client_test_file_types"
    Config = FileTypesConfig

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        config: Any = self.config
        findings = [
            Finding(kind="file_type", start=0, end=0, detail={"file": f.name})
            for f in ctx.files
            if config.allow is not None and f.name.rsplit(".", 1)[-1].lower() not in config.allow
        ]
        return self.result(text, findings)


@pytest.fixture(autouse=True)
def _no_client_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from airisk.client.settings import ENVIRONMENT

    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(autouse=True)
def _test_scanners(monkeypatch: pytest.MonkeyPatch) -> None:
    import airisk.scanners as registry

    module = types.ModuleType("airisk_client_test_scanners")
    module.KeywordScanner = KeywordScanner  # type: ignore[attr-defined]
    module.FileTypesScanner = FileTypesScanner  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(registry.BUILTIN, "client_test_keyword", (module.__name__, "KeywordScanner"))
    monkeypatch.setitem(registry.BUILTIN, "client_test_file_types", (module.__name__, "FileTypesScanner"))


class FaultInjector:
    """ASGI middleware: answers the next requests matching a path prefix with planned failures.

    It also records every request's method, path and Idempotency-Key, so tests can see retries.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.plans: list[tuple[str, str, int, dict[str, str]]] = []
        self.seen: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()

    def fail(self, method: str, path_prefix: str, status: int, times: int = 1, **headers: str) -> None:
        with self._lock:
            for _ in range(times):
                self.plans.append((method, path_prefix, status, headers))

    def lose_response(self, method: str, path_prefix: str, status: int = 503, times: int = 1) -> None:
        """Let the next matching requests run on the server, then answer ``status`` instead of their
        response: what a client sees when the connection breaks after the request was sent."""
        self.fail(method, path_prefix, status, times, airisk_after_running="1")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        with self._lock:
            self.seen.append((scope["method"], scope["path"], headers.get("idempotency-key")))
            plan = next(
                (p for p in self.plans if p[0] == scope["method"] and scope["path"].startswith(p[1])), None
            )
            if plan is not None:
                self.plans.remove(plan)
        if plan is None:
            await self.app(scope, receive, send)
            return
        _, _, status, extra = plan
        extra = dict(extra)
        if extra.pop("airisk_after_running", None):

            async def discard(message: Any) -> None:
                return None

            await self.app(scope, receive, discard)
        kind = extra.pop("airisk_error_type", "injected")
        body = json.dumps({"error": {"type": kind, "message": f"injected {status}"}}).encode()
        response_headers = [(b"content-type", b"application/json"), (b"x-request-id", b"injected-request")]
        response_headers += [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _ in self.seen if m == method and p == path)


@dataclass
class Deployment:
    url: str
    app: Any
    ws: Any
    root: Any
    faults: FaultInjector
    company_id: str
    agent_id: str
    client_id: str
    client_secret: str
    api_key: str
    users: dict[str, Any] = field(default_factory=dict)
    user_tokens: dict[str, str] = field(default_factory=dict)

    def client(self, **options: Any) -> Any:
        from airisk.client import Client

        options.setdefault("client_id", self.client_id)
        options.setdefault("client_secret", self.client_secret)
        return Client(self.url, **options)

    def async_client(self, **options: Any) -> Any:
        from airisk.client import AsyncClient

        options.setdefault("client_id", self.client_id)
        options.setdefault("client_secret", self.client_secret)
        return AsyncClient(self.url, **options)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build(tmp_path: Any, **overrides: Any) -> tuple[Any, Any, dict[str, Any]]:
    from airisk.oauth.registry import create_app_user, create_client, set_user_token
    from airisk.server.app import create_app
    from airisk.server.settings import ServerSettings
    from airisk.workspace import AgentCreate, CompanyCreate

    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY))
    values: dict[str, Any] = {
        "database_url": str(tmp_path / "server.db"),
        "default_policy": str(policy),
        "rate_limit_per_minute": 0,
    }
    values.update(overrides)
    app = create_app(ServerSettings(**values))
    ws = app.state.airisk.workspace
    root = ws.as_actor(ws.create_server_admin("root@example.com"))
    company = root.companies.create(CompanyCreate(name="Acme"))
    agent = root.agents.create(
        AgentCreate(name="helpdesk", engine="echo", scanner_policy=POLICY, max_messages=40), company_id=company.id
    )
    client = create_client(ws, root, company_id=company.id, redirect_uris=[REDIRECT_URI], name="acme-app")
    facts: dict[str, Any] = {
        "root": root,
        "company_id": company.id,
        "agent_id": agent.id,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "api_key": root.api_keys.create(agent.id, name="tests").key,
        "users": {},
        "user_tokens": {},
    }
    for userid in ("alice", "bob"):
        user = create_app_user(ws, root, userid=userid, agent_ids=[agent.id], company_id=company.id)
        facts["users"][userid] = user
        facts["user_tokens"][userid] = set_user_token(ws, root, user.id)
    return app, ws, facts


@pytest.fixture
def make_deployment(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start a deployment (server settings as keyword arguments) under uvicorn; stopped after the test."""
    import uvicorn

    from airisk.workspace import generate_secret_key

    monkeypatch.setenv("AIRISK_SECRET_KEY", generate_secret_key())

    running: list[tuple[Any, threading.Thread, Any]] = []

    def start(**overrides: Any) -> Deployment:
        folder = tmp_path / f"deployment{len(running)}"
        folder.mkdir()
        app, ws, facts = _build(folder, **overrides)
        faults = FaultInjector(app)
        port = _free_port()
        config = uvicorn.Config(faults, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        running.append((server, thread, ws))
        return Deployment(url=f"http://127.0.0.1:{port}", app=app, ws=ws, faults=faults, **facts)

    yield start
    for server, thread, ws in running:
        server.should_exit = True
        thread.join(timeout=10)
        ws.close()


@pytest.fixture
def deployment(make_deployment: Any) -> Deployment:
    return make_deployment()  # type: ignore[no-any-return]
