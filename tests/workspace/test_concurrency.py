"""Many writers at once lose nothing: threads (both databases) and processes (SQLite file)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

from airisk.store.models import ConversationMessage
from airisk.workspace import AgentCreate

THREADS = 8
TURNS = 10
CONVERSATIONS = 4


def _seqs_are_complete(ws: Any) -> dict[str, list[int]]:
    with ws.store.read() as session:
        rows = session.execute(select(ConversationMessage.conversation_id, ConversationMessage.seq)).all()
    by_conversation: dict[str, list[int]] = {}
    for conversation_id, seq in rows:
        by_conversation.setdefault(conversation_id, []).append(seq)
    for seqs in by_conversation.values():
        assert sorted(seqs) == list(range(1, len(seqs) + 1))
    return by_conversation


def test_threads_appending_lose_no_message(world: Any) -> None:
    ws, admin = world.ws, world.actors["admin"]
    agent = admin.agents.create(
        AgentCreate(
            name="watched", scanner_policy={"input": [{"type": "test_keyword", "words": ["refund"], "action": "flag"}]}
        )
    )
    admin.users.assign_agent(world.users["user"].id, agent.id)
    user = world.actors["user"]
    conversation_ids = [user.conversations.open(agent.id).id for _ in range(CONVERSATIONS)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        try:
            conversation = user.conversations.resume(conversation_ids[index % CONVERSATIONS])
            barrier.wait()
            for turn in range(TURNS):
                conversation.history.clear()  # keep each thread's own history short
                conversation.ask(f"thread {index} turn {turn}" + (" refund" if turn % 3 == 0 else ""))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ws.count(ConversationMessage) == THREADS * TURNS * 2
    by_conversation = _seqs_are_complete(ws)
    assert sorted(len(v) for v in by_conversation.values()) == [THREADS * TURNS * 2 // CONVERSATIONS] * CONVERSATIONS
    assert sum(user.conversations.get(cid).message_count for cid in conversation_ids) == THREADS * TURNS * 2
    flagged = sum(user.conversations.get(cid).flagged_count for cid in conversation_ids)
    assert flagged == THREADS * len(range(0, TURNS, 3))
    assert admin.audit.verify().ok


_PROCESS_SCRIPT = textwrap.dedent(
    """
    import sys
    from airisk.workspace import Workspace
    url, key, user_id, conversation_id, turns = sys.argv[1:6]
    ws = Workspace(url, secret_key=key, migrate=False)
    conversation = ws.as_actor(user_id).conversations.resume(conversation_id)
    for turn in range(int(turns)):
        conversation.history.clear()
        conversation.ask(f"process turn {turn}")
    ws.close()
    """
)


def test_processes_appending_to_one_sqlite_file(world: Any, db_url: str, secret_key: str) -> None:
    if world.ws.store.dialect != "sqlite":
        return  # PostgreSQL serialises writers in the server; the thread test covers it
    user = world.actors["user"]
    shared = user.conversations.open(world.agent.id).id
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = os.environ | {"PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_SCRIPT, db_url, secret_key, world.users["user"].id, shared, str(TURNS)],
            env=env,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()[-2000:]
    assert user.conversations.get(shared).message_count == 4 * TURNS * 2
    assert _seqs_are_complete(world.ws)[shared] == list(range(1, 4 * TURNS * 2 + 1))
