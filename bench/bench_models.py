"""Speed and memory of the shared encoder and the prompt-injection scanner on this machine.

    PYTHONPATH=src python bench/bench_models.py [--rounds 200]
    AIRISK_ENCODER_PRECISION=int8 PYTHONPATH=src python bench/bench_models.py   # the int8 encoder

Prints medians and p95 in milliseconds, scan_many throughput and peak RSS (resource.getrusage).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable

PROMPT_500 = (
    "Hi! I'm preparing a short presentation for my team about our quarterly customer-support numbers. "
    "Could you help me structure it into five slides, suggest a title for each, and propose one chart per slide? "
    "We handled 12% more tickets than last quarter, first-response time dropped from 6 to 4 hours, and "
    "satisfaction stayed at 4.5 out of 5. Please keep the tone upbeat but factual, and add a closing slide "
    "with two concrete goals for next quarter. Thanks a lot!"
)[:500]
SHORT = "How do I reset my password?"


def timed(fn: Callable[[], object], rounds: int, warm: int = 5) -> tuple[float, float]:
    for _ in range(warm):
        fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    from airisk.models.encoder import get_encoder
    from airisk.pipeline import ScannerPipeline
    from airisk.scanners.prompt_injection import PromptInjection
    from airisk.types import ScanContext

    started = time.perf_counter()
    encoder = get_encoder()
    load_ms = (time.perf_counter() - started) * 1000
    print(f"encoder ({encoder.precision}) load: {load_ms:.0f} ms (includes checksum verification)")
    tokens = len(encoder._windows([PROMPT_500])[0][0])
    for label, text in (("short sentence (7 tokens)", SHORT), (f"500-char prompt ({tokens} tokens)", PROMPT_500)):
        p50, p95 = timed(lambda text=text: encoder.encode([text]), args.rounds)
        print(f"encoder, {label}: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    batch = [f"{SHORT} ({i})" for i in range(256)]
    started = time.perf_counter()
    encoder.encode(batch)
    print(f"encoder, batch of 256 short sentences: {256 / (time.perf_counter() - started):.0f} sentences/s")

    scanner = PromptInjection()
    scanner.warm_up()
    p50, p95 = timed(lambda: scanner.scan(PROMPT_500, ScanContext().for_message()), args.rounds)
    print(f"prompt_injection.scan, 500-char prompt: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    signatures = PromptInjection(classifier=False)
    p50, p95 = timed(lambda: signatures.scan(PROMPT_500, ScanContext().for_message()), args.rounds)
    print(f"prompt_injection signatures only, 500-char prompt: p50 {p50:.3f} ms, p95 {p95:.3f} ms")
    pipeline = ScannerPipeline(input=[scanner])
    p50, p95 = timed(lambda: pipeline.scan_input(PROMPT_500), args.rounds)
    print(f"pipeline.scan_input([prompt_injection]), 500-char prompt: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    prompts = [f"{PROMPT_500[: 200 + (i % 300)]} #{i}" for i in range(args.batch)]
    started = time.perf_counter()
    pipeline.scan_many(prompts)
    elapsed = time.perf_counter() - started
    print(f"pipeline.scan_many, {args.batch} prompts of 200-500 chars: {args.batch / elapsed:.0f} prompts/s")
    exact = [f"#{i} {PROMPT_500}"[:500] for i in range(args.batch)]
    started = time.perf_counter()
    pipeline.scan_many(exact)
    elapsed = time.perf_counter() - started
    print(f"pipeline.scan_many, {args.batch} prompts of 500 chars: {args.batch / elapsed:.0f} prompts/s")
    short_prompts = [f"{SHORT} #{i}" for i in range(args.batch)]
    started = time.perf_counter()
    pipeline.scan_many(short_prompts)
    elapsed = time.perf_counter() - started
    print(f"pipeline.scan_many, {args.batch} short prompts: {args.batch / elapsed:.0f} prompts/s")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
