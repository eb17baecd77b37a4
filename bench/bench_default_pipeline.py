"""The whole default input pipeline on 500-character prompts: each scanner alone, all together,
``scan_many`` throughput and peak memory.

    PYTHONPATH=src python bench/bench_default_pipeline.py [--rounds 200] [--batch 400]

Scanners: prompt injection, toxicity, personal information (pattern engine), topics (two
banned topics), language, regex (card, IBAN and secret presets, redacting) and geographic
gating. Prompts are distinct 500-character texts assembled from CLINC150 sentences in
``../shared/data`` (so no result is served from a cache); every round uses a fresh message,
so the shared embedding is computed each time, as in production.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _shared_data() -> Path:
    """``shared/data`` beside the checkout (or beside a parent of a git worktree of it)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return here.parents[2] / "shared" / "data"


DATA = _shared_data() / "topics" / "clinc150_trainval.jsonl"

DEFAULT_INPUT: list[dict[str, Any]] = [
    {"type": "prompt_injection"},
    {"type": "toxicity"},
    {"type": "personal_information", "action": "redact"},
    {"type": "topics", "banned": ["weapons", "medical advice"]},
    {"type": "language", "allowed": ["en", "fr", "de", "es"]},
    {"type": "regex", "action": "redact", "presets": ["credit_card", "iban", "secrets"]},
    {"type": "geo_gate", "deny": ["KP", "IR"]},
]


def prompts(count: int, length: int = 500, seed: int = 7) -> list[str]:
    sentences = [json.loads(line)["text"] for line in DATA.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < length:
            parts.append(rng.choice(sentences).capitalize())
        out.append((". ".join(parts) + ".")[:length])
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(pipeline: Any, texts: list[str], ctx: Any) -> tuple[float, float]:
    pipeline.scan_input(texts[0], ctx)  # warm up
    samples = []
    for text in texts:
        started = time.perf_counter()
        pipeline.scan_input(text, ctx)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--batch", type=int, default=400)
    args = parser.parse_args()

    from airisk import ScannerPipeline
    from airisk.policy import Policy
    from airisk.types import ScanContext

    texts = prompts(args.rounds + args.batch)
    timed, batch = texts[: args.rounds], texts[args.rounds :]
    ctx = ScanContext(client_ip="81.2.69.142")
    print(f"Python {platform.python_version()} on {platform.machine()}; {len(timed)} rounds of distinct "
          f"{len(timed[0])}-character prompts; scan_many on {len(batch)}\n")
    print("| scanners | p50 ms | p95 ms | scan_many prompts/s |\n|---|---|---|---|")
    for spec in DEFAULT_INPUT:
        alone = Policy.from_dict({"input": [spec]}).build()
        alone.warm_up()
        p50, p95 = measure(alone, timed, ctx)
        started = time.perf_counter()
        alone.scan_many(batch[:100], contexts=[ctx] * 100)
        rate = 100 / (time.perf_counter() - started)
        print(f"| {spec['type']} alone | {p50:.2f} | {p95:.2f} | {rate:,.0f} |", flush=True)
    pipeline: ScannerPipeline = Policy.from_dict({"input": DEFAULT_INPUT}).build()
    pipeline.warm_up()
    p50, p95 = measure(pipeline, timed, ctx)
    started = time.perf_counter()
    reports = pipeline.scan_many(batch, contexts=[ctx] * len(batch))
    rate = len(batch) / (time.perf_counter() - started)
    print(f"| **all seven** | **{p50:.2f}** | **{p95:.2f}** | **{rate:,.0f}** |")
    blocked = sum(r.blocked for r in reports)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MB; {blocked} of {len(batch)} batch prompts blocked")


if __name__ == "__main__":
    main()
