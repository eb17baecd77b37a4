"""The data archive: conversations past retention move to gzip JSON Lines and back."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

import pytest

from airisk.errors import InputError
from airisk.store.models import ConversationMessage
from airisk.workspace import CompanyUpdate, Conflict, NotFound


def _chat(world: Any, count: int) -> list[str]:
    user = world.actors["user"]
    ids = []
    for index in range(count):
        conversation = user.conversations.open(world.agent.id)
        conversation.ask(f"question {index}")
        ids.append(conversation.id)
    return ids


def test_archive_and_restore_round_trip(world: Any, tmp_path: Any) -> None:
    ws, admin, user = world.ws, world.actors["admin"], world.actors["user"]
    old = _chat(world, 5)
    before = {cid: user.conversations.messages(cid).data for cid in old}
    start = ws.now()
    ws.clock = lambda: start + timedelta(days=40)
    recent = _chat(world, 1)
    admin.companies.update(CompanyUpdate(retention_days=30))

    run = admin.archive.run(batch_size=2, progress=False)
    assert (run.conversations, run.messages, len(run.archives)) == (5, 10, 3)
    assert ws.count(ConversationMessage) == 2  # only the recent conversation's messages stay live
    archived = user.conversations.get(old[0])
    assert archived.archived_at is not None and archived.archive_id == run.archives[0].id
    assert user.conversations.messages(old[3]).data == before[old[3]]  # still findable by id
    assert admin.archive.get_conversation(old[4]).messages == before[old[4]]
    with pytest.raises(NotFound):
        admin.archive.get_conversation(recent[0])
    with pytest.raises(InputError, match="archived"):
        user.conversations.resume(old[0])

    exported = admin.archive.export(run.archives[0].id, tmp_path / "batch.jsonl.gz")
    lines = [json.loads(line) for line in gzip.decompress(exported.read_bytes()).decode().splitlines()]
    assert {line["conversation"]["id"] for line in lines} == set(old[:2])

    restored = sum(admin.archive.restore(archive.id, progress=False) for archive in run.archives)
    assert restored == 5 and ws.count(ConversationMessage) == 12
    for cid in old:
        assert user.conversations.get(cid).archived_at is None
        assert user.conversations.messages(cid).data == before[cid]
    user.conversations.resume(old[0]).ask("back again")
    with pytest.raises(Conflict):
        admin.archive.restore(run.archives[0].id, progress=False)
    assert [e.action for e in admin.audit.list(limit=100).data].count("archive.run") == 3
    assert admin.audit.verify().ok


def test_an_interrupted_run_keeps_finished_batches_and_loses_nothing(world: Any, monkeypatch: Any) -> None:
    from airisk.workspace.archive import ArchiveService

    ws, admin = world.ws, world.actors["admin"]
    old = _chat(world, 4)
    start = ws.now()
    ws.clock = lambda: start + timedelta(days=10)
    original = ArchiveService._archive_batch
    calls = {"n": 0}

    def interrupted(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        result = original(self, *args, **kwargs)
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(ArchiveService, "_archive_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        admin.archive.run(older_than_days=1, batch_size=2, progress=False)
    states = [admin.conversations.get(cid).archived_at is not None for cid in old]
    assert states == [True, True, False, False]
    assert ws.count(ConversationMessage) == 4
    monkeypatch.setattr(ArchiveService, "_archive_batch", original)
    assert admin.archive.run(older_than_days=1, batch_size=2, progress=False).conversations == 2
    assert ws.count(ConversationMessage) == 0


def test_retention_is_required_and_bounded(world: Any) -> None:
    with pytest.raises(InputError, match="retention"):
        world.actors["admin"].archive.run(progress=False)
    for days in (-1, 10**9, float("inf")):
        with pytest.raises(InputError, match="between"):
            world.actors["admin"].archive.run(older_than_days=days, progress=False)


def test_reading_and_exporting_archived_data_is_audited(world: Any, tmp_path: Any) -> None:
    from airisk.workspace import AuditFilter

    ws, admin, user = world.ws, world.actors["admin"], world.actors["user"]
    old = _chat(world, 2)
    start = ws.now()
    ws.clock = lambda: start + timedelta(days=40)
    admin.companies.update(CompanyUpdate(retention_days=30))
    run = admin.archive.run(progress=False)
    archive_id = run.archives[0].id

    def events(action: str) -> list[Any]:
        return admin.audit.list(AuditFilter(action=action), limit=100).data

    assert events("archive.read_conversation") == [] and events("archive.export") == []
    user.conversations.messages(old[0])
    admin.archive.get_conversation(old[1])
    reads = events("archive.read_conversation")
    assert [(e.actor_id, e.target_id, e.after["archive_id"]) for e in reads] == [
        (world.users["user"].id, old[0], archive_id),
        (world.users["admin"].id, old[1], archive_id),
    ]
    target = admin.archive.export(archive_id, tmp_path / "out.jsonl.gz")
    (exported,) = events("archive.export")
    assert exported.actor_id == world.users["admin"].id and exported.target_id == archive_id
    assert exported.after["path"] == str(target.resolve()) and exported.after["conversations"] == 2
    # a refused or failed read leaves no trace of a read
    with pytest.raises(NotFound):
        world.other_admin.archive.get_conversation(old[0])
    assert len(events("archive.read_conversation")) == 2
    # live conversations are not archive reads
    admin.archive.restore(archive_id, progress=False)
    user.conversations.messages(old[0])
    assert len(events("archive.read_conversation")) == 2
    assert admin.audit.verify().ok
