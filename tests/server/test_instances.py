"""Statelessness: two app instances on one database (SQLite or PostgreSQL) and one Redis behave as one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


def _second_instance(first: Any, **overrides: Any) -> Iterator[Any]:
    """Another app (its own engine, caches and rate limiter) on the first one's database."""
    from fastapi.testclient import TestClient

    from airisk.server.app import create_app

    settings = first.app.state.airisk.settings.model_copy(update=overrides)
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def test_two_instances_share_tokens_conversations_and_refresh_families(
    deployment_factory: Any, shared_db_url: str
) -> None:
    from fastapi.testclient import TestClient

    d = deployment_factory(database_url=shared_db_url)
    with TestClient(d.app, base_url="http://127.0.0.1") as a:
        for b in _second_instance(d):
            auth = (d.client_id, d.client_secret)
            token = d.token(a, userid="alice")
            headers = {"Authorization": f"Bearer {token}"}
            started = a.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers=headers).json()["id"]
            a.post(f"/api/v1/conversations/{started}/messages", json={"text": "one"}, headers=headers)
            turn = b.post(f"/api/v1/conversations/{started}/messages", json={"text": "two"}, headers=headers)
            assert turn.status_code == 200 and turn.json()["reply"]["text"] == "You said: two"
            detail = a.get(f"/api/v1/conversations/{started}", headers=headers).json()
            assert detail["conversation"]["message_count"] == 4

            # authorization code on A, exchange and refresh on B, reuse detected on A
            import base64
            import hashlib
            from urllib.parse import parse_qs, urlsplit

            verifier = "q" * 64
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            params = {
                "response_type": "code",
                "client_id": d.client_id,
                "redirect_uri": "http://127.0.0.1:1/callback",
                "state": "s",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
            signed = a.post(
                "/oauth/authorize",
                params=params,
                data={"decision": "allow", "userid": "bob", "user_token": d.user_tokens["bob"]},
                follow_redirects=False,
            )
            code = parse_qs(urlsplit(signed.headers["location"]).query)["code"][0]
            exchange = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": params["redirect_uri"],
                "code_verifier": verifier,
            }
            tokens = b.post("/oauth/token", data=exchange, auth=auth).json()
            assert a.post("/oauth/token", data=exchange, auth=auth).json()["error"] == "invalid_grant"
            refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            rotated = b.post("/oauth/token", data=refresh, auth=auth).json()
            assert a.post("/oauth/token", data=refresh, auth=auth).json()["error"] == "invalid_grant"
            rotated_headers = {"Authorization": f"Bearer {rotated['access_token']}"}
            assert b.get("/api/v1/agents", headers=rotated_headers).status_code == 401


def test_two_instances_share_redis_rate_limits(deployment_factory: Any) -> None:
    from fastapi.testclient import TestClient

    url = os.environ.get("AIRISK_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests need AIRISK_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    pytest.importorskip("redis")
    d = deployment_factory(redis_url=url, rate_limit_per_minute=1, rate_limit_burst=2)
    with TestClient(d.app, base_url="http://127.0.0.1") as a:
        assert a.get("/readyz").json()["checks"]["redis"] == "ok"
        for b in _second_instance(d):
            headers = {"Authorization": f"Bearer {d.token(a)}"}
            assert a.get("/api/v1/agents", headers=headers).status_code == 200
            assert b.get("/api/v1/agents", headers=headers).status_code == 200
            limited = a.get("/api/v1/agents", headers=headers)
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
            assert b.get("/api/v1/agents", headers=headers).status_code == 429
