"""The REST API in process: scanner, chat (JSON and SSE), files, pagination, limits, isolation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start(client: Any, deployment: Any, headers: dict[str, str]) -> str:
    response = client.post("/api/v1/conversations", json={"agent_id": deployment.agent_id}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_health_and_readiness(client: Any) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


def test_openapi_document_is_served(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/scan" in spec["paths"]
    assert "/v1/chat/completions" in spec["paths"]


def test_scan_returns_full_report_with_server_default_policy(client: Any, deployment: Any) -> None:
    token = deployment.token(client)
    passed = client.post("/api/v1/scan", json={"text": "hello there"}, headers=bearer(token))
    assert passed.status_code == 200
    assert passed.json()["verdict"] == "pass"
    blocked = client.post(
        "/api/v1/scan", json={"text": "this is Forbidden", "direction": "input"}, headers=bearer(token)
    ).json()
    assert blocked["verdict"] == "block"
    result = blocked["results"][0]
    assert result["scanner"] == "server_test_keyword"
    assert result["findings"][0]["start"] == 8 and result["findings"][0]["end"] == 17
    assert blocked["text"] == "this is Forbidden"


def test_scan_with_agent_policy_and_output_direction(client: Any, deployment: Any) -> None:
    token = deployment.token(client, userid="alice")
    body = {"text": "the secretword is here", "direction": "output", "agent_id": deployment.agent_id}
    report = client.post("/api/v1/scan", json=body, headers=bearer(token)).json()
    assert report["direction"] == "output" and report["verdict"] == "block"


def test_scan_limits(deployment_factory: Any) -> None:
    from fastapi.testclient import TestClient

    d = deployment_factory(max_message_chars=10, max_files_per_request=1, max_request_bytes=2000)
    with TestClient(d.app, base_url="http://127.0.0.1") as c:
        token = d.token(c)
        too_long = c.post("/api/v1/scan", json={"text": "x" * 11}, headers=bearer(token))
        assert too_long.status_code == 413
        assert too_long.json()["error"]["type"] == "limit_exceeded"
        file = {"name": "a.txt", "content_base64": base64.b64encode(b"hi").decode()}
        too_many = c.post("/api/v1/scan", json={"text": "ok", "files": [file, file]}, headers=bearer(token))
        assert too_many.status_code == 413
        too_big = c.post("/api/v1/scan", json={"text": "y" * 5000}, headers=bearer(token))
        assert too_big.status_code == 413


def test_chat_turn_json_records_messages_with_reports(client: Any, deployment: Any) -> None:
    token = deployment.token(client, userid="alice")
    agents = client.get("/api/v1/agents", headers=bearer(token)).json()
    assert [a["name"] for a in agents["data"]] == ["helpdesk"]
    conversation = client.post("/api/v1/conversations", json={"agent_id": deployment.agent_id}, headers=bearer(token))
    assert conversation.status_code == 201
    cid = conversation.json()["id"]
    turn = client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "hello"}, headers=bearer(token)).json()
    assert turn["reply"]["text"] == "You said: hello"
    assert turn["reply"]["input_report"]["verdict"] == "pass"
    blocked = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "something forbidden"}, headers=bearer(token)
    ).json()
    assert blocked["reply"]["blocked"] is True
    assert blocked["reply"]["blocked_by"] == "input"
    detail = client.get(f"/api/v1/conversations/{cid}", headers=bearer(token)).json()
    assert detail["conversation"]["message_count"] == 4
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
    assert detail["messages"][2]["report"]["verdict"] == "block"


def test_chat_turn_streams_server_sent_events(client: Any, deployment: Any) -> None:
    token = deployment.token(client, userid="alice")
    cid = start(client, deployment, bearer(token))
    with client.stream(
        "POST",
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "stream me please", "stream": True},
        headers=bearer(token),
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = "".join(response.iter_text())
    events = [block for block in raw.split("\n\n") if block]
    kinds = [block.split("\n")[0].removeprefix("event: ") for block in events]
    assert kinds[-1] == "done" and "text" in kinds
    text = "".join(json.loads(b.split("\n")[1][6:])["text"] for b in events if b.startswith("event: text"))
    assert text == "You said: stream me please"


def test_ask_agent_single_question(client: Any, deployment: Any) -> None:
    token = deployment.token(client, userid="bob")
    answer = client.post(f"/api/v1/agents/{deployment.agent_id}/ask", json={"text": "hi"}, headers=bearer(token))
    assert answer.status_code == 200
    assert answer.json()["reply"]["text"] == "You said: hi"


def test_pagination_walks_every_conversation_once(client: Any, deployment: Any) -> None:
    token = deployment.token(client, userid="alice")
    created = {start(client, deployment, bearer(token)) for _ in range(5)}
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if after:
            params["after"] = after
        page = client.get("/api/v1/conversations", params=params, headers=bearer(token)).json()
        seen.extend(item["id"] for item in page["data"])
        assert len(page["data"]) <= 2
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        after = page["next_cursor"]
    assert sorted(seen) == sorted(created)
    bad = client.get("/api/v1/conversations", params={"after": "not-a-cursor"}, headers=bearer(token))
    assert bad.status_code == 400


def test_files_on_conversations_and_agents(client: Any, deployment: Any) -> None:
    user = deployment.token(client, userid="alice")
    admin = deployment.token(client)
    cid = start(client, deployment, bearer(user))
    file = {
        "name": "notes.txt",
        "content_base64": base64.b64encode(b"meeting notes").decode(),
        "media_type": "text/plain",
    }
    added = client.post(f"/api/v1/conversations/{cid}/files", json={"files": [file]}, headers=bearer(user))
    assert added.status_code == 201
    assert added.json()[0]["size"] == len(b"meeting notes")
    listed = client.get(f"/api/v1/conversations/{cid}/files", headers=bearer(user)).json()
    assert [f["name"] for f in listed["data"]] == ["notes.txt"]
    agent_files = client.post(
        f"/api/v1/agents/{deployment.agent_id}/files", json={"files": [file]}, headers=bearer(admin)
    )
    assert agent_files.status_code == 201
    file_id = agent_files.json()[0]["id"]
    assert (
        client.delete(f"/api/v1/agents/{deployment.agent_id}/files/{file_id}", headers=bearer(admin)).status_code == 204
    )
    assert client.get(f"/api/v1/agents/{deployment.agent_id}/files", headers=bearer(admin)).json()["data"] == []
    program = {"name": "setup.exe", "content_base64": base64.b64encode(b"MZ...").decode()}
    refused = client.post(
        f"/api/v1/agents/{deployment.agent_id}/files", json={"files": [program]}, headers=bearer(admin)
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "guardrail_blocked"
    assert refused.json()["error"]["report"]["verdict"] == "block"
    not_base64 = {"name": "x.txt", "content_base64": "%%%"}
    assert (
        client.post(
            f"/api/v1/conversations/{cid}/files", json={"files": [not_base64]}, headers=bearer(user)
        ).status_code
        == 400
    )


def test_user_token_cannot_reach_another_users_conversation(client: Any, deployment: Any) -> None:
    alice = deployment.token(client, userid="alice")
    bob = deployment.token(client, userid="bob")
    cid = start(client, deployment, bearer(alice))
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "private"}, headers=bearer(alice))
    assert client.get(f"/api/v1/conversations/{cid}", headers=bearer(bob)).status_code == 404
    assert (
        client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "x"}, headers=bearer(bob)).status_code == 404
    )
    assert client.get("/api/v1/conversations", headers=bearer(bob)).json()["data"] == []


def test_other_company_cannot_see_our_data(client: Any, deployment: Any) -> None:
    alice = deployment.token(client, userid="alice")
    cid = start(client, deployment, bearer(alice))
    globex_admin = deployment.token(client, other=True)
    carol = deployment.token(client, other=True, userid="carol")
    for token in (globex_admin, carol):
        assert client.get(f"/api/v1/conversations/{cid}", headers=bearer(token)).status_code == 404
        assert client.get(f"/api/v1/agents/{deployment.agent_id}", headers=bearer(token)).status_code == 404
        assert (
            client.post(
                "/api/v1/conversations", json={"agent_id": deployment.agent_id}, headers=bearer(token)
            ).status_code
            == 404
        )
    users = client.get("/api/v1/users", headers=bearer(globex_admin)).json()["data"]
    assert deployment.users["alice"].id not in {u["id"] for u in users}
    assert client.get(f"/api/v1/users/{deployment.users['alice'].id}", headers=bearer(globex_admin)).status_code == 404
    # a Globex client cannot mint a token for an Acme user
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "userid": "alice"},
        auth=(deployment.other_client_id, deployment.other_client_secret),
    )
    assert response.status_code == 400


def test_agent_api_key_is_a_bearer_credential_for_its_agent(client: Any, deployment: Any) -> None:
    key = bearer(deployment.api_key)
    agents = client.get("/api/v1/agents", headers=key).json()["data"]
    assert [a["id"] for a in agents] == [deployment.agent_id]
    cid = start(client, deployment, key)
    turn = client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "via key"}, headers=key)
    assert turn.json()["reply"]["text"] == "You said: via key"
    denied = client.get("/api/v1/users", headers=key)
    assert denied.status_code == 403
    assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]
    bad = client.get("/api/v1/agents", headers=bearer("ak_deadbeef0000_nope"))
    assert bad.status_code == 401


def test_users_api_lifecycle(client: Any, deployment: Any) -> None:
    admin = bearer(deployment.token(client))
    created = client.post(
        "/api/v1/users",
        json={"userid": "dave", "agent_ids": [deployment.agent_id], "chat_settings": {"language": "en"}},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["agent_ids"] == [deployment.agent_id] and user["chat_settings"] == {"language": "en"}
    assert client.post("/api/v1/users", json={"userid": "dave"}, headers=admin).status_code == 409
    group = client.post("/api/v1/groups", json={"name": "support"}, headers=admin).json()
    joined = client.post(f"/api/v1/users/{user['id']}/groups", json={"id": group["id"]}, headers=admin).json()
    assert user["id"] in joined["member_ids"]
    token = client.post(f"/api/v1/users/{user['id']}/token", headers=admin).json()
    assert token["userid"] == "dave" and len(token["user_token"]) > 20
    dave = deployment.token(client, userid="dave")
    assert client.get("/api/v1/agents", headers=bearer(dave)).status_code == 200
    assert client.delete(f"/api/v1/users/{user['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/agents", headers=bearer(dave)).status_code == 401


def test_admin_endpoints(client: Any, deployment: Any) -> None:
    admin = bearer(deployment.token(client))
    agent = client.post("/api/v1/agents", json={"name": "writer", "engine": "echo"}, headers=admin)
    assert agent.status_code == 201
    key = client.post(f"/api/v1/agents/{agent.json()['id']}/api-keys", json={"name": "ci"}, headers=admin).json()
    assert key["key"].startswith("ak_")
    assert client.delete(f"/api/v1/api-keys/{key['id']}", headers=admin).json()["revoked_at"] is not None
    audit = client.get("/api/v1/audit", params={"limit": 100}, headers=admin).json()
    assert any(event["action"] == "api_keys.create" for event in audit["data"])
    assert client.get("/api/v1/audit/verify", headers=admin).json()["ok"] is True
    assert client.get("/api/v1/admin/agents", headers=admin).status_code == 200
    assert client.get("/api/v1/archives", headers=admin).json()["data"] == []


def test_rate_limit_per_token_answers_429(deployment_factory: Any) -> None:
    from fastapi.testclient import TestClient

    d = deployment_factory(rate_limit_per_minute=1, rate_limit_burst=2)
    with TestClient(d.app, base_url="http://127.0.0.1") as c:
        token = bearer(d.token(c))
        statuses = [c.get("/api/v1/agents", headers=token).status_code for _ in range(3)]
        assert statuses[:2] == [200, 200] and statuses[2] == 429
        limited = c.get("/api/v1/agents", headers=token)
        assert int(limited.headers["retry-after"]) >= 1
        other = bearer(d.token(c, userid="alice"))
        assert c.get("/api/v1/agents", headers=other).status_code == 200


def test_redis_rate_limiter_shares_buckets() -> None:
    import os
    import uuid

    url = os.environ.get("AIRISK_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis rate-limit tests need AIRISK_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    pytest.importorskip("redis")
    from airisk.server.ratelimit import RedisRateLimiter

    prefix = f"airisk:test:{uuid.uuid4().hex}:"
    first = RedisRateLimiter(url, per_minute=1, burst=2, prefix=prefix)
    second = RedisRateLimiter(url, per_minute=1, burst=2, prefix=prefix)
    assert first.check("token") == 0
    assert second.check("token") == 0
    assert first.check("token") > 0
    assert second.check("other") == 0


def test_me_filters_and_conversation_deletion(client: Any, deployment: Any) -> None:
    alice = bearer(deployment.token(client, userid="alice"))
    admin = bearer(deployment.token(client))
    assert client.get("/api/v1/me", headers=alice).json()["id"] == deployment.users["alice"].id
    assert client.get("/api/v1/me", headers=bearer(deployment.api_key)).status_code == 403
    kept = start(client, deployment, alice)
    client.post(f"/api/v1/conversations/{kept}/messages", json={"text": "fine"}, headers=alice)
    refused = start(client, deployment, alice)
    client.post(f"/api/v1/conversations/{refused}/messages", json={"text": "forbidden"}, headers=alice)
    blocked = client.get("/api/v1/conversations", params={"blocked_only": True}, headers=admin).json()["data"]
    assert [c["id"] for c in blocked] == [refused]
    mine = client.get("/api/v1/conversations", params={"user_id": deployment.users["alice"].id}, headers=admin).json()[
        "data"
    ]
    assert {c["id"] for c in mine} == {kept, refused}
    assert client.delete(f"/api/v1/conversations/{kept}", headers=alice).status_code == 403
    assert client.delete(f"/api/v1/conversations/{kept}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/conversations/{kept}", headers=alice).status_code == 404


def test_company_settings_and_scanner_defaults(client: Any, deployment: Any) -> None:
    admin = bearer(deployment.token(client))
    assert client.get("/api/v1/company", headers=admin).json()["name"] == "Acme"
    changed = client.patch("/api/v1/company", json={"retention_days": 30}, headers=admin).json()
    assert changed["retention_days"] == 30
    policy = {"version": 1, "input": [{"type": "server_test_keyword", "words": ["banned"], "action": "block"}]}
    saved = client.put("/api/v1/company/scanner-defaults", json=policy, headers=admin)
    assert saved.status_code == 200, saved.text
    assert client.get("/api/v1/company/scanner-defaults", headers=admin).json()["input"][0]["type"] == (
        "server_test_keyword"
    )
    bad = client.put("/api/v1/company/scanner-defaults", json={"input": [{"type": "nope"}]}, headers=admin)
    assert bad.status_code == 400
    user = bearer(deployment.token(client, userid="alice"))
    assert client.get("/api/v1/company", headers=user).status_code == 403


def test_user_token_reaches_only_the_users_agents(client: Any, deployment: Any) -> None:
    admin = bearer(deployment.token(client))
    other = client.post("/api/v1/agents", json={"name": "finance-bot", "engine": "echo"}, headers=admin).json()
    alice = bearer(deployment.token(client, userid="alice"))
    assert [a["name"] for a in client.get("/api/v1/agents", headers=alice).json()["data"]] == ["helpdesk"]
    assert client.post("/api/v1/conversations", json={"agent_id": other["id"]}, headers=alice).status_code == 404
    assert client.post(f"/api/v1/agents/{other['id']}/ask", json={"text": "hi"}, headers=alice).status_code == 404
    scan = client.post("/api/v1/scan", json={"text": "hi", "agent_id": other["id"]}, headers=alice)
    assert scan.status_code == 404
    assert (
        client.post(
            f"/api/v1/users/{deployment.users['alice'].id}/agents", json={"id": other["id"]}, headers=admin
        ).status_code
        == 204
    )
    assert client.post("/api/v1/conversations", json={"agent_id": other["id"]}, headers=alice).status_code == 201


def test_a_refused_answer_never_reaches_the_caller_inside_the_reply(client: Any, deployment: Any) -> None:
    """The reply carries its output report, and that report held the refused model text."""
    token = deployment.token(client, userid="alice")
    cid = start(client, deployment, bearer(token))
    turn = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "please say secretword"}, headers=bearer(token)
    )
    assert turn.json()["reply"]["blocked_by"] == "output"
    assert "You said" not in turn.text  # the echo engine's refused answer
    with client.stream(
        "POST",
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "please say secretword", "stream": True},
        headers=bearer(token),
    ) as response:
        raw = "".join(response.iter_text())
    assert "event: blocked" in raw
    assert "You said" not in raw
