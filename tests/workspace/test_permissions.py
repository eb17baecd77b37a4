"""The permission matrix, exercised for real: each role x each operation, allowed or refused,
and no operation of one company's admin ever reaching another company's data."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airisk.workspace import (
    PERMISSIONS,
    AgentCreate,
    CompanyCreate,
    CompanyUpdate,
    GroupCreate,
    Invite,
    NotFound,
    PermissionDenied,
    UserUpdate,
    allowed,
    matrix_markdown,
)
from airisk.workspace.permissions import COLUMNS


def uniq() -> str:
    return uuid.uuid4().hex[:10]


def _restore(aw: Any, w: Any) -> Any:
    spare = w.ws.as_actor(w.spare)
    spare.conversations.open(w.agent.id).ask("to be archived")
    run = w.root.archive.run(older_than_days=0, company_id=w.company_id, progress=False)
    return aw.archive.restore(run.archives[0].id, progress=False)


def _delete_conversation(aw: Any, w: Any) -> Any:
    conversation = w.ws.as_actor(w.spare).conversations.open(w.agent.id)
    return aw.conversations.delete(conversation.id)


def _read_any(aw: Any, w: Any) -> Any:
    conversation = w.ws.as_actor(w.spare).conversations.open(w.agent.id)
    return aw.conversations.get(conversation.id)


# operation -> call made by an actor on company A's data (w.company_id, w.agent, w.spare)
OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "companies.create": lambda aw, w: aw.companies.create(CompanyCreate(name=uniq())),
    "companies.list": lambda aw, w: aw.companies.list(),
    "companies.delete": lambda aw, w: aw.companies.delete(w.root.companies.create(CompanyCreate(name=uniq())).id),
    "companies.read": lambda aw, w: aw.companies.get(w.company_id),
    "companies.update": lambda aw, w: aw.companies.update(CompanyUpdate(description=uniq()), company_id=w.company_id),
    "companies.read_provider_settings": lambda aw, w: aw.companies.provider_settings(company_id=w.company_id),
    "companies.write_provider_settings": lambda aw, w: aw.companies.set_provider_settings(
        "echo", {"prefix": "> "}, company_id=w.company_id
    ),
    "companies.read_scanner_defaults": lambda aw, w: aw.companies.scanner_defaults(company_id=w.company_id),
    "companies.write_scanner_defaults": lambda aw, w: aw.companies.set_scanner_defaults({}, company_id=w.company_id),
    "users.invite": lambda aw, w: aw.users.invite(Invite(email=f"{uniq()}@example.com"), company_id=w.company_id),
    "users.list": lambda aw, w: aw.users.list(company_id=w.company_id),
    "users.read": lambda aw, w: aw.users.get(w.spare.id),
    "users.update": lambda aw, w: aw.users.update(w.spare.id, UserUpdate(name=uniq())),
    "users.delete": lambda aw, w: aw.users.delete(w.new_user().id),
    "users.assign_agents": lambda aw, w: aw.users.assign_agent(w.spare.id, w.agent.id),
    "users.set_default_agent": lambda aw, w: aw.users.set_default_agent(w.spare.id, w.agent.id),
    "groups.read": lambda aw, w: aw.groups.list(company_id=w.company_id),
    "groups.write": lambda aw, w: aw.groups.create(GroupCreate(name=uniq()), company_id=w.company_id),
    "agents.list_available": lambda aw, w: aw.agents.available(),
    "agents.read": lambda aw, w: aw.agents.list(company_id=w.company_id),
    "agents.write": lambda aw, w: aw.agents.create(AgentCreate(name=uniq()), company_id=w.company_id),
    "agents.templates": lambda aw, w: aw.agents.templates(company_id=w.company_id),
    "agents.manage_defaults": lambda aw, w: aw.agents.create_server_agent(AgentCreate(name=uniq()), kind="template"),
    "agents.read_files": lambda aw, w: aw.agents.files(w.agent.id),
    "agents.write_files": lambda aw, w: aw.agents.add_file(w.agent.id, f"{uniq()}.txt", b"notes"),
    "api_keys.manage": lambda aw, w: aw.api_keys.list(w.agent.id),
    "conversations.open": lambda aw, w: aw.conversations.open(w.agent.id, company_id=w.company_id),
    "conversations.read_own": lambda aw, w: aw.conversations.list(company_id=w.company_id),
    "conversations.read_any": _read_any,
    "conversations.delete": _delete_conversation,
    "audit.read": lambda aw, w: aw.audit.list(company_id=w.company_id),
    "audit.verify": lambda aw, w: aw.audit.verify(),
    "archive.run": lambda aw, w: aw.archive.run(older_than_days=3650, company_id=w.company_id, progress=False),
    "archive.read": lambda aw, w: aw.archive.list(company_id=w.company_id),
    "archive.restore": _restore,
    "secrets.read_names": lambda aw, w: aw.secrets.list(company_id=w.company_id),
    "secrets.write": lambda aw, w: aw.secrets.create(f"k{uniq()}", "value", company_id=w.company_id),
}

# operations that do not touch any one company's data, so "another company" does not apply
GLOBAL_OPERATIONS = {"agents.list_available", "audit.verify"}


def test_every_operation_is_exercised() -> None:
    assert set(OPERATIONS) == set(PERMISSIONS)


def test_matrix(world: Any) -> None:
    outcomes: dict[tuple[str, str], str] = {}
    for operation, call in OPERATIONS.items():
        for column in COLUMNS:
            actor = world.actors[column]
            expected = allowed(
                operation, None if column == "server_admin" else column, server_admin=column == "server_admin"
            )
            try:
                call(actor, world)
                outcome = "allowed"
            except (PermissionDenied, NotFound):
                outcome = "refused"
            outcomes[(operation, column)] = outcome
            assert outcome == ("allowed" if expected else "refused"), (operation, column, outcome)
    assert "allowed" in outcomes.values() and "refused" in outcomes.values()


def test_another_company_is_never_reached(world: Any) -> None:
    for operation, call in OPERATIONS.items():
        if operation in GLOBAL_OPERATIONS:
            continue
        with pytest.raises((PermissionDenied, NotFound)):
            call(world.other_admin, world)
    # what the other company's admin can list never includes company A's rows
    assert all(a.company_id != world.company_id for a in world.other_admin.agents.available().data)
    assert world.other_admin.users.list().data and all(
        u.company_id == world.other_company_id for u in world.other_admin.users.list().data
    )
    assert all(e.company_id == world.other_company_id for e in world.other_admin.audit.list().data)


def test_a_user_reads_only_their_own_conversations(world: Any) -> None:
    mine = world.actors["user"].conversations.open(world.agent.id)
    theirs = world.ws.as_actor(world.spare).conversations.open(world.agent.id)
    listed = {c.id for c in world.actors["user"].conversations.list().data}
    assert mine.id in listed and theirs.id not in listed
    with pytest.raises(NotFound):
        world.actors["user"].conversations.get(theirs.id)
    with pytest.raises(PermissionDenied):
        world.actors["monitor"].conversations.resume(theirs.id)
    assert world.actors["monitor"].conversations.get(theirs.id).id == theirs.id


def test_docs_show_the_current_matrix() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "workspace.md"
    assert matrix_markdown() in doc.read_text(encoding="utf-8")
