"""Latency, throughput and memory of the toxicity, topics and AI-policy scanners.

    PYTHONPATH=src python bench/bench_detectors.py [--rounds 200] [--batch 500]

For each configuration: p50/p95 of ``pipeline.scan_input`` on a 500-character prompt (a fresh
message every time, so the shared embedding is computed each round), the marginal cost of the
scanner once the embedding is already in ``ctx.shared``, and ``scan_many`` throughput on
``--batch`` distinct prompts. Peak RSS is the whole process (encoder included). The AI-policy
judge runs on the offline echo engine, so its figure is airisk's overhead, not an LLM's latency.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time
from collections.abc import Callable

from airisk.models.encoder import CHUNKS_KEY, EMBEDDING_KEY, get_encoder, pool_chunks
from airisk.pipeline import ScannerPipeline
from airisk.providers.echo import Echo
from airisk.scanners.ai_policy import AIPolicy
from airisk.scanners.base import Scanner
from airisk.scanners.topics import Topics
from airisk.scanners.toxicity import Toxicity
from airisk.types import ScanContext

PROMPT = (
    "Hi team, I'm preparing the quarterly review for our customer support group and I need help "
    "summarising the main complaints we received about delayed deliveries in the north region. "
    "Could you draft three short paragraphs: one on what went wrong with the courier hand-over, one "
    "on how we compensated affected customers, and one on the changes we are making to the "
    "warehouse schedule? Keep the tone factual and friendly, avoid blaming individual colleagues, "
    "and end with a list of next steps."
)
assert 480 <= len(PROMPT) <= 520, len(PROMPT)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[int], object], rounds: int) -> dict[str, float]:
    samples = []
    for index in range(rounds):
        started = time.perf_counter()
        fn(index)
        samples.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(samples), 3), "p95_ms": round(percentile(samples, 0.95), 3)}


def variants(count: int) -> list[str]:
    """Distinct prompts of the same length, so no cache or memo helps."""
    return [f"{PROMPT[:-12]} (ticket {index:05d})" for index in range(count)]


def judge_replies(count: int) -> list[str]:
    return [json.dumps({"violation": False, "score": 0.05, "reason": "fine", "categories": []})] * count


def build() -> dict[str, Callable[[], list[Scanner]]]:
    return {
        "toxicity": lambda: [Toxicity()],
        "topics (banned: weapons, medical advice, politics)": lambda: [
            Topics(banned=["weapons", "medical advice", "politics"])
        ],
        "ai_policy (echo judge, cache off)": lambda: [
            AIPolicy(policy="No competitor talk.", engine=Echo(replies=judge_replies(100_000)), cache_size=0)
        ],
        "toxicity + topics (one shared embedding)": lambda: [
            Toxicity(),
            Topics(banned=["weapons", "medical advice", "politics"]),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    encoder = get_encoder()
    prompts = variants(max(args.rounds, args.batch))
    encoder.encode(prompts[:8])
    embedding_only = timed(lambda i: encoder.encode([prompts[i]]), args.rounds)
    rows = [("shared embedding alone (MiniLM ONNX)", embedding_only, None, None)]
    for name, factory in build().items():
        scanners = factory()
        pipeline = ScannerPipeline(input=scanners)
        pipeline.warm_up()
        pipeline.scan_input(PROMPT)
        full = timed(lambda i, p=pipeline: p.scan_input(prompts[i]), args.rounds)
        planted = [encoder.encode_chunks(prompts[i]) for i in range(args.rounds)]

        def marginal(i: int, scanners: list[Scanner] = scanners, planted: list = planted) -> None:
            ctx = ScanContext()
            ctx.shared.put(CHUNKS_KEY, planted[i])
            ctx.shared.put(EMBEDDING_KEY, pool_chunks(planted[i]))
            for scanner in scanners:
                scanner.scan(prompts[i], ctx)

        extra = timed(marginal, args.rounds)
        batch = prompts[: args.batch]
        started = time.perf_counter()
        pipeline.scan_many(batch)
        throughput = len(batch) / (time.perf_counter() - started)
        rows.append((name, full, extra, round(throughput, 1)))

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()}, {platform.python_version()}, rounds={args.rounds}, batch={args.batch}")
    print("| configuration | p50 ms | p95 ms | p50 ms given the embedding | scan_many prompts/s |")
    print("|---|---|---|---|---|")
    for name, full, extra, throughput in rows:
        marginal_text = f"{extra['p50_ms']:.3f}" if extra else "-"
        throughput_text = f"{throughput}" if throughput else "-"
        print(f"| {name} | {full['p50_ms']:.2f} | {full['p95_ms']:.2f} | {marginal_text} | {throughput_text} |")
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
