"""Idempotency-Key on writes, on SQLite and PostgreSQL: retries are answered, not run again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


@pytest.fixture
def api(deployment_factory: Any, shared_db_url: str) -> Iterator[tuple[Any, Any]]:
    from fastapi.testclient import TestClient

    d = deployment_factory(database_url=shared_db_url, rate_limit_per_minute=0)
    with TestClient(d.app, base_url="http://127.0.0.1") as client:
        yield d, client


def user_messages(d: Any, cid: str) -> list[str]:
    return [m.content for m in d.root.conversations.messages(cid).data if m.role == "user"]


def test_a_retried_chat_turn_is_stored_once(api: tuple[Any, Any]) -> None:
    d, client = api
    alice = d.token(client, userid="alice")
    cid = client.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers=bearer(alice)).json()["id"]
    path = f"/api/v1/conversations/{cid}/messages"
    first = client.post(path, json={"text": "hello"}, headers=bearer(alice, "turn-1"))
    again = client.post(path, json={"text": "hello"}, headers=bearer(alice, "turn-1"))
    assert first.status_code == again.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert user_messages(d, cid) == ["hello"]
    # a new key is a new turn
    assert client.post(path, json={"text": "hello"}, headers=bearer(alice, "turn-2")).status_code == 200
    assert user_messages(d, cid) == ["hello", "hello"]
    # without a key nothing is remembered
    client.post(path, json={"text": "plain"}, headers=bearer(alice))
    client.post(path, json={"text": "plain"}, headers=bearer(alice))
    assert user_messages(d, cid) == ["hello", "hello", "plain", "plain"]


def test_the_same_key_with_another_body_is_refused(api: tuple[Any, Any]) -> None:
    d, client = api
    alice = d.token(client, userid="alice")
    first = client.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers=bearer(alice, "k1"))
    other = client.post(
        "/api/v1/conversations", json={"agent_id": d.agent_id, "title": "x"}, headers=bearer(alice, "k1")
    )
    assert first.status_code == 201
    assert other.status_code == 409
    assert other.json()["error"]["type"] == "idempotency_key_reused"
    assert other.headers["x-should-retry"] == "false"
    elsewhere = client.post(f"/api/v1/agents/{d.agent_id}/ask", json={"text": "hi"}, headers=bearer(alice, "k1"))
    assert elsewhere.status_code == 409 and elsewhere.json()["error"]["type"] == "idempotency_key_reused"
    assert len(d.root.conversations.list(company_id=d.company_id).data) == 1


def test_keys_are_scoped_per_caller(api: tuple[Any, Any]) -> None:
    d, client = api
    body = {"agent_id": d.agent_id}
    alice = client.post("/api/v1/conversations", json=body, headers=bearer(d.token(client, userid="alice"), "same"))
    bob = client.post("/api/v1/conversations", json=body, headers=bearer(d.token(client, userid="bob"), "same"))
    keyed = client.post("/api/v1/conversations", json=body, headers=bearer(d.api_key, "same"))
    assert alice.status_code == bob.status_code == keyed.status_code == 201
    assert len({alice.json()["id"], bob.json()["id"], keyed.json()["id"]}) == 3
    assert not any("idempotent-replayed" in r.headers for r in (alice, bob, keyed))
    # a second token of the same user is the same caller
    again = client.post("/api/v1/conversations", json=body, headers=bearer(d.token(client, userid="alice"), "same"))
    assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == alice.json()["id"]


def test_a_duplicate_while_the_first_runs_is_told_to_retry(api: tuple[Any, Any]) -> None:
    from airisk.server.idempotency import Pending, fingerprint

    d, client = api
    alice = d.token(client, userid="alice")
    body = json.dumps({"agent_id": d.agent_id}).encode()
    keys = d.app.state.airisk.idempotency
    owner = f"user:{d.users['alice'].id}"
    keys.claim(
        Pending("busy", "POST", "/api/v1/conversations", fingerprint("POST", "/api/v1/conversations", "", body)), owner
    )
    headers = bearer(alice, "busy") | {"content-type": "application/json"}
    response = client.post("/api/v1/conversations", content=body, headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "idempotency_in_progress"
    assert response.headers["retry-after"] == "1" and response.headers["x-should-retry"] == "true"
    assert d.root.conversations.list(company_id=d.company_id).data == []


def test_a_streamed_turn_is_not_replayed(api: tuple[Any, Any]) -> None:
    d, client = api
    alice = d.token(client, userid="alice")
    cid = client.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers=bearer(alice)).json()["id"]
    path = f"/api/v1/conversations/{cid}/messages"
    body = {"text": "stream me", "stream": True}
    first = client.post(path, json=body, headers=bearer(alice, "s1"))
    assert first.status_code == 200 and "event: done" in first.text
    again = client.post(path, json=body, headers=bearer(alice, "s1"))
    assert again.status_code == 409
    assert again.json()["error"]["type"] == "idempotency_stream_not_replayable"
    assert user_messages(d, cid) == ["stream me"]


def test_uploads_user_creation_and_errors_are_replayed(api: tuple[Any, Any]) -> None:
    import base64

    d, client = api
    admin = d.token(client)
    alice = d.token(client, userid="alice")
    cid = client.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers=bearer(alice)).json()["id"]
    files = {"files": [{"name": "a.txt", "content_base64": base64.b64encode(b"abc").decode()}]}
    for _ in range(2):
        client.post(f"/api/v1/conversations/{cid}/files", json=files, headers=bearer(alice, "up"))
    assert len(d.root.conversations.files(cid).data) == 1

    blocked = {"text": "something forbidden"}
    first = client.post(f"/api/v1/agents/{d.agent_id}/ask", json=blocked, headers=bearer(alice, "ask"))
    again = client.post(f"/api/v1/agents/{d.agent_id}/ask", json=blocked, headers=bearer(alice, "ask"))
    assert again.status_code == first.status_code and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"

    users_before = len(d.root.users.list(company_id=d.company_id).data)
    created = client.post("/api/v1/users", json={"userid": "dave"}, headers=bearer(admin, "dave"))
    assert created.status_code == 201, created.text
    replayed = client.post("/api/v1/users", json={"userid": "dave"}, headers=bearer(admin, "dave"))
    assert replayed.status_code == 201 and replayed.json() == created.json()
    assert len(d.root.users.list(company_id=d.company_id).data) == users_before + 1


def test_expired_keys_run_again_and_are_purged(api: tuple[Any, Any]) -> None:
    from sqlalchemy import func, select, update

    from airisk.store.models import IdempotencyRecord, utcnow

    d, client = api
    alice = d.token(client, userid="alice")
    body = {"agent_id": d.agent_id}
    first = client.post("/api/v1/conversations", json=body, headers=bearer(alice, "old"))
    with d.ws.store.write() as session:
        session.execute(update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    second = client.post("/api/v1/conversations", json=body, headers=bearer(alice, "old"))
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]
    with d.ws.store.write() as session:
        session.execute(update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert d.app.state.airisk.idempotency.purge() == 1
    with d.ws.store.read() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_malformed_keys_and_unauthenticated_requests(api: tuple[Any, Any]) -> None:
    d, client = api
    alice = d.token(client, userid="alice")
    bad = client.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers=bearer(alice, "x" * 256))
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request"
    anonymous = client.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers={"Idempotency-Key": "a"})
    assert anonymous.status_code == 401
    # the refused attempt did not take the key
    ok = client.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers=bearer(alice, "a"))
    assert ok.status_code == 201 and "idempotent-replayed" not in ok.headers


def test_openapi_documents_the_header_on_writes(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    create = spec["paths"]["/api/v1/conversations"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    listing = spec["paths"]["/api/v1/conversations"]["get"]
    assert "Idempotency-Key" not in [p["name"] for p in listing.get("parameters", [])]


def test_a_concurrent_duplicate_waits_for_the_first(api: tuple[Any, Any]) -> None:
    """Two deliveries of one keyed turn at once: the second is told to retry while the first runs,
    then gets the first's answer; the turn is stored once."""
    import threading

    from airisk.providers.base import EngineRequest, EngineResponse
    from airisk.providers.echo import Echo

    d, client = api
    entered, release = threading.Event(), threading.Event()

    class Gate(Echo):
        def complete(self, request: EngineRequest) -> EngineResponse:
            entered.set()
            assert release.wait(30), "the test never released the engine"
            return super().complete(request)

    d.ws.engine_factory = lambda name, settings: Gate(**settings)
    alice = d.token(client, userid="alice")
    cid = client.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers=bearer(alice)).json()["id"]
    path = f"/api/v1/conversations/{cid}/messages"
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(client.post(path, json={"text": "once"}, headers=bearer(alice, "dup")))
    )
    first.start()
    try:
        assert entered.wait(30)
        duplicate = client.post(path, json={"text": "once"}, headers=bearer(alice, "dup"))
        assert duplicate.status_code == 409 and duplicate.json()["error"]["type"] == "idempotency_in_progress"
    finally:
        release.set()
        first.join(30)
    assert answers and answers[0].status_code == 200
    replay = client.post(path, json={"text": "once"}, headers=bearer(alice, "dup"))
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == answers[0].json()
    assert user_messages(d, cid) == ["once"]
