"""Where ``scan_many``'s CPU goes, thread by thread: the default input pipeline on 500-character
prompts, CPU milliseconds per prompt for each thread of the process (from /proc, Linux only).

    PYTHONPATH=src python bench/bench_thread_cpu.py [--prompts 1200] [--batch-size 64] [--rounds 3]

Threads are grouped by name: the encoder's fan-out workers, the scanner pool, the calling thread
(inline scanners and the pipeline's own work), the embedding prefetcher, and native threads
that Python does not know (onnxruntime's and BLAS's own). Rounds alternate between the heads'
products as shipped (``airisk.models.heads.product``, no BLAS) and through numpy's ``@`` (BLAS,
free to split them across every core, as before the sixth session), so both see the same
machine load.
"""

from __future__ import annotations

import argparse
import operator
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_default_pipeline import DEFAULT_INPUT, prompts

TICKS = os.sysconf("SC_CLK_TCK")


def group(name: str) -> str:
    for prefix, label in (
        ("airisk-encoder", "encoder workers"),
        ("airisk-scan", "scanner pool"),
        ("airisk-embed", "embedding prefetch"),
        ("MainThread", "calling thread"),
    ):
        if name.startswith(prefix):
            return label
    return "native threads" if name.startswith("native") else "other Python threads"


def cpu_by_thread() -> dict[str, float]:
    """Seconds of CPU (user + system) per thread of this process, keyed by thread id and name."""
    names = {str(thread.native_id): thread.name for thread in threading.enumerate()}
    seconds = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        seconds[f"{tid}:{names.get(tid, 'native')}"] = (int(fields[11]) + int(fields[12])) / TICKS
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not Path("/proc/self/task").is_dir():
        raise SystemExit("per-thread CPU times come from /proc: Linux only")

    import airisk.models.heads as heads
    from airisk.policy import Policy
    from airisk.types import ScanContext

    shipped_product = heads.product
    texts = prompts(args.prompts + 100)
    ctx = ScanContext(client_ip="81.2.69.142")
    pipeline = Policy.from_dict({"input": DEFAULT_INPUT}).build()
    pipeline.warm_up()
    pipeline.scan_many(texts[:100], contexts=[ctx] * 100)
    batch = texts[100:]
    variants = {"as shipped": shipped_product, "products through BLAS": operator.matmul}
    rates: dict[str, list[float]] = {name: [] for name in variants}
    per_group: dict[str, dict[str, list[float]]] = {name: {} for name in variants}
    for _ in range(args.rounds):
        for name, product in variants.items():
            heads.product = product  # type: ignore[assignment]
            before = cpu_by_thread()
            started = time.perf_counter()
            pipeline.scan_many(batch, contexts=[ctx] * len(batch), batch_size=args.batch_size)
            elapsed = time.perf_counter() - started
            after = cpu_by_thread()
            rates[name].append(len(batch) / elapsed)
            totals: dict[str, float] = {}
            for key, seconds in after.items():
                label = group(key.split(":", 1)[1])
                totals[label] = totals.get(label, 0.0) + seconds - before.get(key, 0.0)
            totals["all threads"] = sum(totals.values())
            for label, seconds in totals.items():
                per_group[name].setdefault(label, []).append(seconds * 1000 / len(batch))
    heads.product = shipped_product

    print(f"{len(batch)} distinct 500-character prompts, batch size {args.batch_size}, {os.cpu_count()} CPUs, "
          f"{args.rounds} alternated rounds; medians\n")
    names = list(variants)
    print("| CPU ms per prompt | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    labels = sorted({label for name in names for label in per_group[name]}, key=lambda s: (s == "all threads", s))
    for label in labels:
        cells = [f"{statistics.median(per_group[name].get(label, [0.0])):.2f}" for name in names]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("| **prompts/s** | " + " | ".join(f"**{statistics.median(rates[name]):.0f}**" for name in names) + " |")


if __name__ == "__main__":
    main()
