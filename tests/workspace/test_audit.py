"""The audit log: queryable, hash-chained, and tampering (edit, delete, truncate) detected."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from airisk.store.models import AuditEvent
from airisk.workspace import AgentCreate, AuditFilter, InvalidCursor


def _activity(world: Any) -> Any:
    admin = world.actors["admin"]
    for index in range(3):
        admin.agents.create(AgentCreate(name=f"agent {index}"))
    return admin


def test_chain_verifies_and_detects_an_edited_row(world: Any) -> None:
    admin = _activity(world)
    result = admin.audit.verify()
    assert result.ok and result.checked == result.head_seq > 5
    victim = admin.audit.list(AuditFilter(action="agents.create")).data[1]
    with world.ws.store.write() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == victim.seq).values(after={"name": "forged"}))
    broken = admin.audit.verify()
    assert not broken.ok and broken.bad_seq == victim.seq and "altered" in (broken.problem or "")


def test_chain_detects_a_deleted_row(world: Any) -> None:
    admin = _activity(world)
    victim = admin.audit.list(AuditFilter(action="agents.create")).data[0]
    with world.ws.store.write() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == victim.seq))
    broken = admin.audit.verify()
    assert not broken.ok and broken.bad_seq == victim.seq and "missing" in (broken.problem or "")


def test_chain_detects_a_truncated_tail(world: Any) -> None:
    admin = _activity(world)
    with world.ws.store.write() as session:
        last = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
        session.execute(delete(AuditEvent).where(AuditEvent.seq == last))
    assert not admin.audit.verify().ok


def test_rehashing_one_row_does_not_hide_an_edit(world: Any) -> None:
    from airisk.workspace.audit import chain_hash

    admin = _activity(world)
    with world.ws.store.write() as session:
        row = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).offset(2).limit(1)).one()
        row.action = "nothing.happened"
        row.hash = chain_hash(row.prev_hash, row)
    result = admin.audit.verify()
    assert not result.ok and "does not follow" in (result.problem or "")


def test_queries_by_actor_action_target_and_time(world: Any) -> None:
    admin = _activity(world)
    agent = admin.agents.list().data[-1]
    everything = admin.audit.list(AuditFilter(actor_id=world.users["admin"].id)).data
    assert [e.action for e in everything] == ["users.accept_invitation", *["agents.create"] * 3]
    mine = admin.audit.list(AuditFilter(actor_id=world.users["admin"].id, action="agents.create")).data
    assert len(mine) == 3 and all(e.actor_role == "admin" for e in mine)
    assert [e.action for e in admin.audit.list(AuditFilter(target_type="agent", target_id=agent.id)).data] == [
        "agents.create"
    ]
    assert {e.action for e in admin.audit.list(AuditFilter(action="users.*")).data} >= {
        "users.invite",
        "users.accept_invitation",
        "users.assign_agent",
    }
    later = world.ws.now() + timedelta(hours=1)
    assert admin.audit.list(AuditFilter(since=later)).data == []
    assert len(admin.audit.list(AuditFilter(until=later), limit=100).data) == len(admin.audit.list(limit=100).data)
    assert [e.after["name"] for e in mine] == ["agent 0", "agent 1", "agent 2"]


def test_pages_and_cursor_checks(world: Any) -> None:
    admin = _activity(world)
    first = admin.audit.list(limit=2)
    second = admin.audit.list(limit=2, cursor=first.next_cursor)
    assert first.has_more and [e.seq for e in first.data] < [e.seq for e in second.data]
    with pytest.raises(InvalidCursor):
        admin.users.list(cursor=first.next_cursor)  # a cursor of another list
    with pytest.raises(InvalidCursor):
        admin.audit.list(cursor="!!not base64!!")


_EDITS = {
    "action": "forged.action",
    "actor_id": "usr_forged",
    "target_id": "forged",
    "company_id": "cmp_forged",
    "before": {"forged": True},
    "after": {"forged": True},
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=10**6), field=st.sampled_from(sorted(_EDITS)))
def test_any_single_edit_is_detected(world: Any, position: int, field: str) -> None:
    admin = world.actors["admin"]
    with world.ws.store.write() as session:
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        seq = seqs[position % len(seqs)]
        row = session.get(AuditEvent, seq)
        assert row is not None
        original = getattr(row, field)
        setattr(row, field, _EDITS[field])
    try:
        result = admin.audit.verify()
        assert not result.ok and result.bad_seq == seq
    finally:
        with world.ws.store.write() as session:
            session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values({field: original}))
    assert admin.audit.verify().ok
