"""The bootstrap commands: init, db upgrade, clients/agents/users create, against a fresh SQLite file."""

from __future__ import annotations

import json
from typing import Any


def _run(capsys: Any, *argv: str) -> dict[str, Any]:
    from airisk.cli import main

    assert main(list(argv)) == 0
    return dict(json.loads(capsys.readouterr().out.splitlines()[0]))


def test_bootstrap_a_deployment_from_the_command_line(tmp_path: Any, capsys: Any) -> None:
    db = str(tmp_path / "cli.db")
    from airisk.cli import main

    assert main(["db", "upgrade", "--database-url", db]) == 0
    assert "revision 0003" in capsys.readouterr().out
    ids = _run(capsys, "init", "--database-url", db, "--company", "Acme", "--admin-email", "ops@example.com")
    client = _run(
        capsys,
        "clients",
        "create",
        "--database-url",
        db,
        "--company",
        "Acme",
        "--redirect-uri",
        "https://app.example.com/cb",
    )
    assert client["client_id"].startswith("cli_") and len(client["client_secret"]) > 30
    agent = _run(capsys, "agents", "create", "--database-url", db, "--company", ids["company_id"], "--name", "bot")
    user = _run(
        capsys,
        "users",
        "create",
        "--database-url",
        db,
        "--company",
        "Acme",
        "--email",
        "a@example.com",
        "--agent",
        agent["agent_id"],
    )
    from airisk.oauth.models import OAuthClient, digest
    from airisk.workspace import Workspace

    with Workspace(db) as ws:
        with ws.store.read() as session:
            row = session.get(OAuthClient, client["client_id"])
            assert row is not None and row.secret_hash == digest(client["client_secret"])
        assert [a.id for a in ws.as_actor(user["user_id"]).agents.available().data] == [agent["agent_id"]]
    assert (
        main(["clients", "create", "--database-url", db, "--company", "Nope", "--redirect-uri", "https://x.example/cb"])
        == 2
    )
    assert (
        main(
            ["clients", "create", "--database-url", db, "--company", "Acme", "--redirect-uri", "http://example.com/cb"]
        )
        == 2
    )


def test_revoked_client_tokens_stop_working(deployment: Any, client: Any, capsys: Any) -> None:
    from airisk.cli import main

    token = deployment.token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/agents", headers=headers).status_code == 200
    url = deployment.app.state.airisk.settings.database_url
    assert main(["clients", "list", "--database-url", url, "--company", "Acme"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [c["client_id"] for c in listed] == [deployment.client_id]
    assert deployment.client_secret not in json.dumps(listed)
    assert main(["clients", "revoke", "--database-url", url, deployment.client_id]) == 0
    assert client.get("/api/v1/agents", headers=headers).status_code == 401
    refused = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(deployment.client_id, deployment.client_secret)
    )
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
