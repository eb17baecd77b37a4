"""Core benchmarks: `import airisk` time, per-scanner and whole-pipeline latency (median, p95)
on a 1 KB message, scan_many throughput against one-by-one scanning, streaming cost, peak RSS.

    python bench/bench_core.py [--policy FILE_OR_NAME] [--repeat N]

Prints a Markdown table; figures go into docs/benchmarks.md by hand, with this command.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

GENERAL_POLICY: dict[str, Any] = {
    "version": 1,
    "name": "general",
    "input": [
        {"type": "regex", "action": "redact", "presets": ["email", "credit_card", "iban", "secrets"]},
        {"type": "file_types", "allow": ["pdf", "docx", "png", "txt"]},
        {"type": "geo_gate", "allow": ["GB", "FR", "US", "DE"]},
        {"type": "language", "allowed": ["en", "fr", "de"]},
    ],
    "output": [{"type": "regex", "action": "redact", "presets": ["credit_card", "secrets"]}],
}

MESSAGE_1KB = (
    "Hello team, I am writing about the invoice we received last week from our supplier in Lyon. "
    "The total looks wrong: they charged us twice for the same delivery of office chairs, and the "
    "payment went out from the company card before anyone could check it. Could you please look at "
    "the purchase order, compare it with the delivery note, and tell me whether we should ask for a "
    "refund or a credit note? I also need to know who approved the payment, because our policy says "
    "that anything above five thousand euros needs two signatures. If it helps, the reference on the "
    "invoice is INV-2024-0117 and the delivery was received by the front desk on Tuesday morning. "
    "Please reply before Friday so that I can close the month on time. Thanks a lot for your help, "
    "and sorry for the long message; I wanted to give you every detail in one place so you do not "
    "have to search through the old email thread. Best regards from the finance office. P.S. The "
    "supplier's account manager is on holiday until the twentieth, so please copy her deputy."
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Any, repeat: int) -> list[float]:
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def import_time(runs: int = 15) -> tuple[float, float]:
    code = "import time; t=time.perf_counter(); import airisk; print((time.perf_counter()-t)*1000)"
    env_path = str(Path(__file__).resolve().parents[1] / "src")
    samples, baseline = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": env_path}
        )
        samples.append(float(out.stdout.strip()))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import airisk"], check=True, env={"PYTHONPATH": env_path})
        baseline.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), statistics.median(baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", help="policy file or built-in name (default: the general scanners)")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1000, help="messages for the scan_many comparison")
    args = parser.parse_args()

    from airisk import ScannerPipeline
    from airisk.policies import resolve
    from airisk.types import FileAttachment, ScanContext

    imported_ms, process_ms = import_time()
    pipeline = ScannerPipeline.from_policy(resolve(args.policy) if args.policy else GENERAL_POLICY)
    pipeline.warm_up()
    ctx = ScanContext(
        client_ip="81.2.69.142",
        files=[FileAttachment(name="report.pdf", content=b"%PDF-1.7\n" + b"0" * 2000)],
    )
    text = MESSAGE_1KB[:1024]

    print(f"Python {platform.python_version()} on {platform.machine()}, {len(text)}-character message\n")
    print(f"- `import airisk`: {imported_ms:.1f} ms median in-process ({process_ms:.0f} ms for the whole "
          "`python -c 'import airisk'` process)")
    print("\n| scanner | p50 ms | p95 ms |\n|---|---|---|")
    for scanner in pipeline.input:
        message_ctx = ctx.for_message()
        samples = timed(lambda s=scanner, c=message_ctx: s.scan(text, c.for_message()), args.repeat)
        print(f"| {scanner.name} ({scanner.config.action}) | {statistics.median(samples):.3f} | "
              f"{percentile(samples, 0.95):.3f} |")
    whole = timed(lambda: pipeline.scan_input(text, ctx), args.repeat)
    print(f"| **whole input pipeline** | {statistics.median(whole):.3f} | {percentile(whole, 0.95):.3f} |")

    messages = [f"{text[: 300 + (i % 700)]} #{i}" for i in range(args.batch)]
    contexts = [ctx] * len(messages)
    started = time.perf_counter()
    for message in messages:
        pipeline.scan_input(message, ctx)
    one_by_one = len(messages) / (time.perf_counter() - started)
    started = time.perf_counter()
    pipeline.scan_many(messages, contexts=contexts)
    batched = len(messages) / (time.perf_counter() - started)
    print(f"\n- one by one: {one_by_one:,.0f} messages/s; `scan_many`: {batched:,.0f} messages/s "
          f"({batched / one_by_one:.2f} times the rate)")

    answer = (text + " ") * 10
    chunks = [answer[i : i + 7] for i in range(0, len(answer), 7)]
    started = time.perf_counter()
    stream = pipeline.scan_stream(chunks)
    released = "".join(stream)
    elapsed = (time.perf_counter() - started) * 1000
    print(f"- streaming {len(answer):,} characters in {len(chunks):,} chunks: {elapsed:.1f} ms, "
          f"{stream.windows} scan windows, {stream.scanned_chars / max(1, len(answer)):.2f} scans per character "
          f"({len(released):,} characters released)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"- peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
