"""Client benchmarks: what the SDK adds on top of plain HTTP, against a real server on 127.0.0.1.

    python bench/bench_client.py [--repeat N]

Starts a deployment (SQLite in a temporary folder, empty scanner policy, echo engine) under
uvicorn in this process, then times, with medians and p95 over N calls:
plain httpx POST /scan vs ``client.scan``; ``conversation.ask`` (JSON turn) vs
``conversation.stream`` (SSE turn); walking 300 conversations page by page (limit 100 and 20);
the async client's ``scan``. Peak RSS from resource.getrusage. Prints Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path) -> tuple[str, dict[str, Any], Any]:
    import uvicorn

    from airisk.oauth.registry import create_app_user, create_client
    from airisk.server.app import create_app
    from airisk.server.settings import ServerSettings
    from airisk.workspace import AgentCreate, CompanyCreate

    policy = folder / "policy.json"
    policy.write_text(json.dumps({"version": 1}))
    settings = ServerSettings(
        database_url=str(folder / "bench.db"), default_policy=str(policy), rate_limit_per_minute=0, access_log=True
    )
    app = create_app(settings)
    ws = app.state.airisk.workspace
    root = ws.as_actor(ws.create_server_admin("root@example.com"))
    company = root.companies.create(CompanyCreate(name="Bench"))
    agent = root.agents.create(AgentCreate(name="echo", engine="echo"), company_id=company.id)
    client = create_client(ws, root, company_id=company.id, redirect_uris=["http://127.0.0.1:1/cb"])
    create_app_user(ws, root, userid="bench", agent_ids=[agent.id], company_id=company.id)
    port = _port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    facts = {"agent_id": agent.id, "client_id": client.client_id, "client_secret": client.client_secret}
    return f"http://127.0.0.1:{port}", facts, server


def timed(work: Callable[[], Any], repeat: int) -> tuple[float, float]:
    work()  # warm
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    import httpx

    from airisk.client import AsyncClient, Client

    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url, facts, server = start_server(Path(tmp))
        with Client(url, client_id=facts["client_id"], client_secret=facts["client_secret"], userid="bench") as client:
            token = client.oauth.access_token()
            raw = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
            body = {"text": "Hello, how do I reset my password?"}
            turns = args.repeat // 4
            plain = lambda: raw.post("/api/v1/scan", json=body).json()  # noqa: E731
            rows.append(("plain httpx POST /scan", *timed(plain, args.repeat)))
            rows.append(("client.scan(...)", *timed(lambda: client.scan(body["text"]), args.repeat)))
            conversation = client.conversations.create(agent=facts["agent_id"])
            rows.append(("conversation.ask (JSON turn)", *timed(lambda: conversation.ask("hello there"), turns)))
            rows.append(("conversation.stream (SSE turn)", *timed(lambda: list(conversation.stream("hi")), turns)))
            for _ in range(300):
                client.conversations.create(agent=facts["agent_id"])
            for limit in (100, 20):
                rows.append(
                    (
                        f"walk 301 conversations, limit={limit}",
                        *timed(lambda limit=limit: sum(1 for _ in client.conversations.list(limit=limit)), 10),
                    )
                )
            raw.close()

        async def async_scans() -> tuple[float, float]:
            async with AsyncClient(url, client_id=facts["client_id"], client_secret=facts["client_secret"]) as aclient:
                await aclient.scan("warm")
                samples = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    await aclient.scan(body["text"])
                    samples.append((time.perf_counter() - started) * 1000)
                samples.sort()
                return statistics.median(samples), samples[int(len(samples) * 0.95)]

        rows.append(("async client.scan(...)", *asyncio.run(async_scans())))
        server.should_exit = True
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Python {platform.python_version()} on {platform.machine()}, server and client in one process, loopback\n")
    print("| operation | median ms | p95 ms |\n|---|---:|---:|")
    for name, median, p95 in rows:
        print(f"| {name} | {median:.2f} | {p95:.2f} |")
    print(f"\npeak RSS (server + client process): {rss:.0f} MB")


if __name__ == "__main__":
    main()
