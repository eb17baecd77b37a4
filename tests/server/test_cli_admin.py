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
    assert "revision 0002" in capsys.readouterr().out
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
