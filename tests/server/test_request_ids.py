"""Every response carries X-Request-Id, errors included, whether or not the access log is on."""

from __future__ import annotations

import logging
from typing import Any

import pytest


@pytest.mark.parametrize("access_log", [False, True])
def test_every_answer_has_a_request_id(deployment_factory: Any, access_log: bool, caplog: Any) -> None:
    from fastapi.testclient import TestClient

    d = deployment_factory(access_log=access_log, max_request_bytes=2000)

    def boom() -> None:
        raise RuntimeError("a bug")

    d.app.add_api_route("/boom", boom, methods=["GET"])
    caplog.set_level(logging.ERROR, logger="airisk.server")
    with TestClient(d.app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        token = d.token(client, userid="alice")
        auth = {"Authorization": f"Bearer {token}"}
        answers = {
            "ok": client.get("/api/v1/agents", headers=auth),
            "unauthenticated": client.get("/api/v1/agents"),
            "not found": client.get("/api/v1/conversations/cnv_missing", headers=auth),
            "too large": client.post("/api/v1/scan", json={"text": "x" * 5000}, headers=auth),
            "bad key": client.post("/api/v1/scan", json={"text": "x"}, headers=auth | {"Idempotency-Key": " "}),
            "crash": client.get("/boom"),
        }
        ids = {name: response.headers.get("x-request-id") for name, response in answers.items()}
        assert all(ids.values()), ids
        assert len(set(ids.values())) == len(ids)
        assert [answers[n].status_code for n in answers] == [200, 401, 404, 413, 400, 500]
        crash = answers["crash"]
        assert crash.json()["error"]["type"] == "server_error" and ids["crash"] in crash.json()["error"]["message"]
        assert "a bug" not in crash.text
        assert any(getattr(r, "request_id", None) == ids["crash"] for r in caplog.records)

        echoed = client.get("/healthz", headers={"X-Request-Id": "lb-1234.abc"})
        assert echoed.headers["x-request-id"] == "lb-1234.abc"
        odd = client.get("/healthz", headers={"X-Request-Id": "has spaces and <tags>"})
        assert odd.headers["x-request-id"] != "has spaces and <tags>"
