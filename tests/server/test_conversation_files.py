"""Deleting a conversation's file over the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from typing import Any


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(client: Any, cid: str, token: str, name: str, content: bytes) -> str:
    file = {"name": name, "content_base64": base64.b64encode(content).decode(), "media_type": "text/plain"}
    response = client.post(f"/api/v1/conversations/{cid}/files", json={"files": [file]}, headers=bearer(token))
    assert response.status_code == 201, response.text
    return str(response.json()[0]["id"])


def test_delete_a_conversation_file(deployment_factory: Any, shared_db_url: str) -> None:
    from fastapi.testclient import TestClient

    d = deployment_factory(database_url=shared_db_url)
    with TestClient(d.app, base_url="http://127.0.0.1") as client:
        alice = d.token(client, userid="alice")
        bob = d.token(client, userid="bob")
        admin = d.token(client)
        created = client.post("/api/v1/conversations", json={"agent_id": d.agent_id}, headers=bearer(alice))
        cid = created.json()["id"]
        first = upload(client, cid, alice, "a.txt", b"same bytes")
        second = upload(client, cid, alice, "b.txt", b"same bytes")
        path = f"/api/v1/conversations/{cid}/files"

        assert client.delete(f"{path}/{first}", headers=bearer(bob)).status_code == 404
        assert client.delete(f"{path}/{first}", headers=bearer(d.token(client, other=True))).status_code == 404
        assert client.delete(f"{path}/fil_missing", headers=bearer(alice)).status_code == 404
        assert client.delete(f"{path}/{first}", headers=bearer(alice)).status_code == 204
        assert client.delete(f"{path}/{first}", headers=bearer(alice)).status_code == 404
        listed = client.get(path, headers=bearer(alice)).json()["data"]
        assert [f["name"] for f in listed] == ["b.txt"]
        # the content survives the first deletion: b.txt still refers to it and later turns see it
        turn = client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "hi"}, headers=bearer(alice))
        assert turn.status_code == 200
        assert client.delete(f"{path}/{second}", headers=bearer(admin)).status_code == 204
        assert client.get(path, headers=bearer(alice)).json()["data"] == []

        events = d.root.audit.list(company_id=d.company_id).data
        removed = [e for e in events if e.action == "conversations.remove_file"]
        assert [e.before["name"] for e in removed] == ["a.txt", "b.txt"]


def test_openapi_lists_the_route(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/conversations/{conversation_id}/files/{file_id}"]["delete"]
    assert "204" in operation["responses"]
