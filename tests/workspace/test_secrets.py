"""Secrets: encrypted at rest, names only after creation, values only through the resolver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from airisk.store.models import Company, Conversation, Secret
from airisk.workspace import Conflict, NotFound, SecretKeyMissing, Workspace, generate_secret_key
from airisk.workspace.crypto import SecretBox

PLAINTEXT = "sk-live-PLAINTEXT-4f9c2e7d1a"


def _database_bytes(ws: Any, url: str) -> bytes:
    if ws.store.dialect == "sqlite":
        with ws.store.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        files = [Path(url), Path(url + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    with ws.store.engine.connect() as connection:
        rows = connection.execute(text("SELECT ciphertext FROM secrets")).scalars().all()
        providers = connection.execute(text("SELECT provider_settings FROM companies")).scalars().all()
    return b"".join(bytes(r) for r in [*rows, *providers] if r is not None)


def test_secrets_are_unreadable_in_the_database(world: Any, db_url: str) -> None:
    ws, admin = world.ws, world.actors["admin"]
    created = admin.secrets.create("OPENAI_KEY", PLAINTEXT, description="prod")
    assert PLAINTEXT not in created.model_dump_json()
    admin.companies.set_provider_settings("openai", {"api_key": PLAINTEXT + "-provider"})
    listed = admin.secrets.list().data
    assert [s.name for s in listed] == ["OPENAI_KEY"] and PLAINTEXT not in repr(listed)
    data = _database_bytes(ws, db_url)
    assert data and PLAINTEXT.encode() not in data and b"PLAINTEXT" not in data
    assert ws.secret_resolver(world.company_id)("OPENAI_KEY") == PLAINTEXT
    with pytest.raises(NotFound):
        ws.secret_resolver(world.other_company_id)("OPENAI_KEY")
    assert all(PLAINTEXT not in str(e.after) for e in admin.audit.list(limit=100).data)


def test_replace_and_delete(world: Any) -> None:
    admin, ws = world.actors["admin"], world.ws
    admin.secrets.create("TOKEN", "one")
    with pytest.raises(Conflict):
        admin.secrets.create("TOKEN", "two")
    admin.secrets.create("TOKEN", "two", replace=True)
    assert ws.secret_resolver(world.company_id)("TOKEN") == "two"
    admin.secrets.delete("TOKEN")
    with pytest.raises(NotFound):
        ws.secret_resolver(world.company_id)("TOKEN")


def test_ciphertext_is_bound_to_its_row(world: Any) -> None:
    ws, admin = world.ws, world.actors["admin"]
    admin.secrets.create("A", "alpha")
    admin.secrets.create("B", "bravo")
    with ws.store.write() as session:
        a = session.scalar(select(Secret).where(Secret.name == "A"))
        b = session.scalar(select(Secret).where(Secret.name == "B"))
        assert a is not None and b is not None
        b.ciphertext = a.ciphertext
    with pytest.raises(Exception, match="altered or belongs to another row"):
        ws.secret_resolver(world.company_id)("B")


def test_wrong_or_missing_key(world: Any, db_url: str) -> None:
    world.actors["admin"].secrets.create("A", "alpha")
    other = Workspace(db_url, secret_key=generate_secret_key(), migrate=False)
    with pytest.raises(SecretKeyMissing, match="another key"):
        other.secret_resolver(world.company_id)("A")
    other.close()
    keyless = Workspace(db_url, secret_key="", migrate=False)
    keyless.box = None
    with pytest.raises(SecretKeyMissing):
        keyless.as_actor(world.users["admin"]).secrets.create("B", "bravo")
    keyless.close()
    with pytest.raises(SecretKeyMissing):
        SecretBox("too-short")


def test_vaults_are_encrypted_too(world: Any) -> None:
    from airisk.workspace import AgentCreate

    admin = world.actors["admin"]
    agent = admin.agents.create(
        AgentCreate(
            name="redacting",
            scanner_policy={"input": [{"type": "test_keyword", "words": ["Zebediah"], "action": "redact"}]},
        )
    )
    conversation = admin.conversations.open(agent.id)
    conversation.ask("Zebediah says hi")
    with world.ws.store.read() as session:
        row = session.get(Conversation, conversation.id)
        assert row is not None and row.vault is not None and b"Zebediah" not in row.vault
        assert session.get(Company, world.company_id) is not None
