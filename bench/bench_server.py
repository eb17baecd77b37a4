"""Server throughput and latency on loopback: the scan endpoint and a chat turn on the echo engine.

Starts ``airisk serve`` (uvicorn) with 1 and then 2 worker processes on a fresh SQLite
database, and drives it with a small bounded async httpx load generator on 127.0.0.1
(fixed request count, fixed concurrency, hard time limit). Prints requests per second and
p50/p95 latency per case as a Markdown table.

    PYTHONPATH=src python bench/bench_server.py [--requests 400] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "airisk", *args], env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.splitlines()[0]))


def _setup(env: dict[str, str], policy: str) -> dict[str, str]:
    init = _cli(env, "init", "--company", "Bench", "--admin-email", "ops@example.com")
    client = _cli(env, "clients", "create", "--company", "Bench", "--redirect-uri", "http://127.0.0.1:1/cb")
    agent = _cli(env, "agents", "create", "--company", "Bench", "--name", "echo-bot", "--policy", policy)
    return {**init, **client, **agent}


async def _drive(url: str, requests: int, concurrency: int, make_request: object, limit_s: float) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(index)
    deadline = time.monotonic() + limit_s

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty() and time.monotonic() < deadline:
            index = queue.get_nowait()
            started = time.perf_counter()
            response = await make_request(client, index)  # type: ignore[operator]
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_case(workers: int, args: argparse.Namespace) -> list[tuple[str, int, float, float, float, int]]:
    folder = tempfile.mkdtemp(prefix="airisk-bench-")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "AIRISK_DATABASE_URL": str(Path(folder) / "bench.db"),
        "AIRISK_RATE_LIMIT_PER_MINUTE": "0",
        "AIRISK_ACCESS_LOG": "false",
        "AIRISK_DEFAULT_POLICY": args.policy,
    }
    ids = _setup(env, args.policy)
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airisk",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        token = httpx.post(
            f"{url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(ids["client_id"], ids["client_secret"]),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        conversation = httpx.post(
            f"{url}/api/v1/conversations", json={"agent_id": ids["agent_id"]}, headers=headers
        ).json()["id"]
        text = "My card 4111 1111 1111 1111 was declined, can you help me understand why?"

        async def scan(client: httpx.AsyncClient, index: int) -> httpx.Response:
            return await client.post("/api/v1/scan", json={"text": text}, headers=headers)

        async def ask(client: httpx.AsyncClient, index: int) -> httpx.Response:
            return await client.post(f"/api/v1/agents/{ids['agent_id']}/ask", json={"text": text}, headers=headers)

        async def turn(client: httpx.AsyncClient, index: int) -> httpx.Response:
            return await client.post(
                f"/api/v1/conversations/{conversation}/messages", json={"text": text}, headers=headers
            )

        rows = []
        for name, request, count in (
            ("scan", scan, args.requests),
            ("ask (new conversation)", ask, args.requests // 2),
            ("chat turn (one conversation)", turn, args.requests // 8),
        ):
            asyncio.run(_drive(url, min(20, count), args.concurrency, request, 30))  # warm-up
            started = time.perf_counter()
            latencies = asyncio.run(_drive(url, count, args.concurrency, request, args.time_limit))
            elapsed = time.perf_counter() - started
            rows.append(
                (
                    name,
                    workers,
                    len(latencies) / elapsed,
                    statistics.median(latencies),
                    _percentile(latencies, 0.95),
                    len(latencies),
                )
            )
        return rows
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--policy", default="basic", help="policy of the agent and of /scan (built-in name or file)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per case at most")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, concurrency {args.concurrency}, SQLite, policy {args.policy!r}, echo engine\n")
    print("| case | workers | req/s | p50 ms | p95 ms | requests |")
    print("|---|---|---|---|---|---|")
    for workers in (1, 2):
        for name, count, rps, p50, p95, done in run_case(workers, args):
            print(f"| {name} | {count} | {rps:.0f} | {p50:.1f} | {p95:.1f} | {done} |", flush=True)


if __name__ == "__main__":
    main()
