"""Workspace figures: recorded turns (echo engine, no scanners), concurrent appends, audit
verification and archiving, on SQLite and (with AIRISK_TEST_DATABASE_URL) PostgreSQL.

    PYTHONPATH=src python bench/bench_workspace.py [--turns 300] [--threads 8]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from airisk.workspace import AgentCreate, AgentUpdate, CompanyCreate, Invite, Workspace, generate_secret_key


def _postgres_url() -> tuple[str, object] | None:
    base = os.environ.get("AIRISK_TEST_DATABASE_URL")
    if not base:
        return None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"airisk_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(url: str, label: str, turns: int, threads: int) -> None:
    ws = Workspace(url, secret_key=generate_secret_key())
    root = ws.as_actor(ws.create_server_admin("bench@example.com"))
    company = root.companies.create(CompanyCreate(name="Bench"))
    invitation = root.users.invite(Invite(email="admin@bench.example", role="admin"), company_id=company.id)
    admin = ws.as_actor(ws.accept_invitation(invitation.token))
    agent = admin.agents.create(AgentCreate(name="echo"))

    conversation = admin.conversations.open(agent.id)
    latencies = []
    for index in range(turns):
        conversation.history.clear()
        started = time.perf_counter()
        conversation.ask(f"message number {index}")
        latencies.append((time.perf_counter() - started) * 1000)
    print(
        f"{label}: recorded turn (2 messages) median {statistics.median(latencies):.2f} ms, "
        f"p95 {_percentile(latencies, 0.95):.2f} ms over {turns} turns"
    )

    ids = [admin.conversations.open(agent.id).id for _ in range(threads)]
    per_thread = max(1, turns // threads)

    def worker(conversation_id: str) -> None:
        live = admin.conversations.resume(conversation_id)
        for index in range(per_thread):
            live.history.clear()
            live.ask(f"concurrent {index}")

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(cid,)) for cid in ids]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    print(
        f"{label}: {threads} threads x {per_thread} turns: {threads * per_thread / elapsed:.0f} turns/s "
        f"({threads * per_thread * 2} messages, none lost: "
        f"{sum(admin.conversations.get(c).message_count for c in ids) == threads * per_thread * 2})"
    )

    for _ in range(200):
        admin.agents.update(agent.id, AgentUpdate(description=uuid.uuid4().hex))
    started = time.perf_counter()
    result = admin.audit.verify()
    elapsed = time.perf_counter() - started
    print(
        f"{label}: audit verify {result.checked} rows in {elapsed * 1000:.0f} ms "
        f"({result.checked / elapsed:.0f} rows/s), ok={result.ok}"
    )

    start = ws.now()
    ws.clock = lambda: start + timedelta(days=2)
    started = time.perf_counter()
    archived = admin.archive.run(older_than_days=1, progress=False)
    elapsed = time.perf_counter() - started
    print(
        f"{label}: archive {archived.conversations} conversations / {archived.messages} messages in "
        f"{elapsed * 1000:.0f} ms, {sum(a.size for a in archived.archives)} bytes compressed"
    )
    ws.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(str(Path(folder) / "bench.db"), "sqlite", args.turns, args.threads)
    postgres = _postgres_url()
    if postgres is not None:
        url, drop = postgres
        try:
            run(url, "postgresql", args.turns, args.threads)
        finally:
            drop()  # type: ignore[operator]
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
