"""Operations: access logs keep secrets and bodies out, chunked bodies are limited, `airisk serve` runs."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def test_access_log_has_no_secrets_or_bodies(client: Any, deployment: Any, caplog: Any) -> None:
    from airisk.server.app import JsonLogFormatter

    token = deployment.token(client, userid="alice")
    caplog.set_level(logging.INFO, logger="airisk.server.access")
    body = {"text": "my very private message body"}
    response = client.post(
        "/api/v1/scan", json=body, headers={"Authorization": f"Bearer {token}"}, params={"state": "qs-secret"}
    )
    assert response.status_code == 200
    records = [r for r in caplog.records if r.name == "airisk.server.access"]
    assert records, "one access record per request"
    lines = [JsonLogFormatter().format(r) for r in records]
    joined = "\n".join(lines)
    assert "/api/v1/scan" in joined and '"status": 200' in joined
    assert response.headers["x-request-id"] in joined
    for secret in (token, "private message", "qs-secret", deployment.client_secret):
        assert secret not in joined
    assert all(r.principal for r in records if r.path == "/api/v1/scan")  # type: ignore[attr-defined]


def test_chunked_body_over_the_limit_is_413(deployment_factory: Any) -> None:
    from fastapi.testclient import TestClient

    d = deployment_factory(max_request_bytes=1000)
    with TestClient(d.app, base_url="http://127.0.0.1") as c:
        token = d.token(c)

        def chunks() -> Any:
            yield b'{"text": "'
            for _ in range(50):
                yield b"x" * 100
            yield b'"}'

        response = c.post(
            "/api/v1/scan",
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "request_too_large"


def test_airisk_serve_runs_two_workers_on_loopback(tmp_path: Any) -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "AIRISK_DATABASE_URL": str(tmp_path / "serve.db"),
    }
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "airisk", "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ready = None
        for _ in range(300):
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    raise AssertionError(process.stdout.read().decode() if process.stdout else "serve exited") from None
                time.sleep(0.1)
        assert ready is not None and ready.status_code == 200
        assert ready.json()["checks"]["database"] == "ok"
        spec = httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json").json()
        assert spec["info"]["title"] == "airisk"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/agents").status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=30)
