"""Hostile messages end to end: how long until a verdict, and whether work goes on afterwards.

    PYTHONPATH=src python bench/bench_hostile_messages.py [--skip-pipeline]

1. Personal information (pattern engine, redacting) on one log line with an e-mail address, a
   phone number and an IBAN repeated to 5,000 to 80,000 characters: time per scan and findings.
2. The whole default input pipeline (``bench_default_pipeline.DEFAULT_INPUT``) on three hostile
   messages: the verdict, the time to it, the scanners that failed, and the process CPU time
   used 5 to 10 s after the verdict (abandoned work, such as encoding a message whose scan timed
   out, should have stopped by then).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

LOG_LINE = "john.doe@x.com 555-123-4567 DE89370400440532013000 "


def personal_information() -> None:
    from airisk.policy import Policy
    from airisk.types import ScanContext

    pipeline = Policy.from_dict({"input": [{"type": "personal_information", "action": "redact"}]}).build()
    pipeline.warm_up()
    scanner = pipeline.scanners("input")[0]
    print("| characters | findings | ms |\n|---|---|---|")
    for size in (5_000, 10_000, 20_000, 80_000):
        text = (LOG_LINE * (size // len(LOG_LINE) + 1))[:size]
        started = time.perf_counter()
        result = scanner.scan(text, ScanContext())
        print(f"| {size:,} | {len(result.findings):,} | {(time.perf_counter() - started) * 1000:,.0f} |", flush=True)


def whole_pipeline() -> None:
    from bench_default_pipeline import DEFAULT_INPUT

    from airisk.policy import Policy
    from airisk.types import ScanContext

    pipeline = Policy.from_dict({"input": DEFAULT_INPUT}).build()
    pipeline.warm_up()
    print("\n| message | verdict | s to verdict | failed scanners | CPU s used 5-10 s later |\n|---|---|---|---|---|")
    for name, text in [
        ("`a-` pairs, 200,000 characters", "a-" * 100_000),
        ("newlines, 200,000 characters", "\n" * 200_000),
        ("the log line, 100,000 characters", (LOG_LINE * 2_000)[:100_000]),
    ]:
        started = time.perf_counter()
        report = pipeline.scan_input(text, ScanContext(client_ip="81.2.69.142"))
        wall = time.perf_counter() - started
        time.sleep(5)
        before = time.process_time()
        time.sleep(5)
        idle = time.process_time() - before
        failed = ", ".join(sorted(report.errors)) or "-"
        print(f"| {name} | {report.verdict.value} | {wall:.1f} | {failed} | {idle:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-pipeline", action="store_true", help="only the personal-information table")
    args = parser.parse_args()
    import logging

    logging.getLogger("airisk").setLevel(logging.ERROR)  # the time-outs are expected here
    personal_information()
    if not args.skip_pipeline:
        whole_pipeline()


if __name__ == "__main__":
    main()
