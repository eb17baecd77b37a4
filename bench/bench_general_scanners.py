"""Latency and memory of the general scanners (regex, file_types, geo_gate, language).

Each scanner runs in its own subprocess so its peak RSS is its own: the scanner is built,
warmed up, then scans a realistic ~1 KB support message many times; p50 and p95 are the
per-call latencies of ``scanner.scan``. A last run times all four in one ScannerPipeline.

    PYTHONPATH=src python bench/bench_general_scanners.py            # latency + RSS table
    PYTHONPATH=src python bench/bench_general_scanners.py --language-accuracy [--data FILE]

``--language-accuracy`` measures the Language scanner's detection on the lingua sentence
sample (optimistic: it comes from lingua's own test corpus) for a few configurations.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

MESSAGE = (
    "Hello support team,\n\n"
    "I am writing about order ACME-204518, which I placed on the 3rd of this month. The parcel arrived "
    "yesterday but the box was crushed and two of the three ceramic mugs inside were broken. I have "
    "attached photos of the damage and the delivery note. Could you please send replacements, or refund "
    "the broken items to the card I paid with? I would prefer replacements if they are in stock.\n\n"
    "I also noticed that the invoice lists the wrong billing address. My correct address is 14 Harbour "
    "Street, Bristol. Please update it for future orders and send me a corrected invoice by email at "
    "jane.doe@example.org when you can. If you need to reach me, the best time is after five in the "
    "afternoon on weekdays.\n\n"
    "Thank you for your help, and sorry for the long message. I have been a happy customer for years "
    "and this is the first time anything has gone wrong. The courier left the parcel on the doorstep in the "
    "rain without ringing, which may be part of the problem.\n\nBest regards,\nJane Doe"
)
ALL_PRESETS = ["email", "credit_card", "iban", "phone", "ipv4", "secrets"]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "language" / "lingua_sentences_200.jsonl"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _attachments() -> list[Any]:
    from airisk.types import FileAttachment

    docx = BytesIO()
    with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>" + "text " * 2000 + "</w:document>")
    pdf = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 1500 + b"%%EOF\n"
    photo = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 400
    return [
        FileAttachment(name="delivery-note.pdf", content=pdf),
        FileAttachment(name="damage.jpg", content=photo),
        FileAttachment(name="invoice.docx", content=docx.getvalue()),
    ]


def _build(name: str) -> tuple[Any, Any]:
    """The scanner (or pipeline) under test and the scan context it gets."""
    from airisk.pipeline import ScannerPipeline
    from airisk.scanners.file_types import FileTypes
    from airisk.scanners.geo_gate import GeoGate
    from airisk.scanners.language import Language
    from airisk.scanners.regex import Regex
    from airisk.types import ScanContext

    ctx = ScanContext(client_ip="81.2.69.142", files=_attachments(), user="jane")
    makers = {
        "regex (all presets, block)": lambda: Regex(presets=ALL_PRESETS, deny={"order": r"ACME-\d{6}"}),
        "regex (all presets, redact)": lambda: Regex(
            presets=ALL_PRESETS, deny={"order": r"ACME-\d{6}"}, action="redact"
        ),
        "file_types (3 attachments)": lambda: FileTypes(allow=["pdf", "jpg", "png", "docx"]),
        "geo_gate (bundled GeoLite2)": lambda: GeoGate(allow=["GB", "FR"]),
        "language (default, low accuracy)": lambda: Language(allowed=["en", "fr"]),
        "language (high accuracy)": lambda: Language(allowed=["en", "fr"], accuracy="high"),
        "pipeline (all four, scan_input)": lambda: ScannerPipeline(
            input=[
                Regex(presets=ALL_PRESETS, action="redact"),
                FileTypes(allow=["pdf", "jpg", "png", "docx"]),
                GeoGate(allow=["GB", "FR"]),
                Language(allowed=["en", "fr"]),
            ]
        ),
    }
    return makers[name](), ctx


def _measure(name: str, iterations: int) -> dict[str, Any]:
    rss_before = _peak_rss_mb()
    target, ctx = _build(name)
    target.warm_up()
    is_pipeline = hasattr(target, "scan_input")
    run = (lambda: target.scan_input(MESSAGE, ctx)) if is_pipeline else (lambda: target.scan(MESSAGE, ctx))
    for _ in range(50):
        run()
    timings = []
    cpu = []
    for _ in range(iterations):
        started, cpu_started = time.perf_counter(), time.thread_time()
        run()
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - cpu_started) * 1000)
    timings.sort()
    inside: dict[str, float] = {}
    if is_pipeline:
        per_scanner: dict[str, list[float]] = {}
        for _ in range(min(iterations, 1000)):
            for result in run().results:
                per_scanner.setdefault(result.scanner, []).append(result.elapsed_ms)
        inside = {scanner: statistics.median(values) for scanner, values in per_scanner.items()}
    return {
        "inside_pipeline_p50_ms": inside,
        "name": name,
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
        "cpu_p50_ms": statistics.median(cpu),
        "cpu_p95_ms": sorted(cpu)[int(len(cpu) * 0.95) - 1],
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": rss_before,
        "verdict": run().verdict.value,
    }


def _latency_table(iterations: int) -> None:
    names = [
        "regex (all presets, block)",
        "regex (all presets, redact)",
        "file_types (3 attachments)",
        "geo_gate (bundled GeoLite2)",
        "language (default, low accuracy)",
        "language (high accuracy)",
        "pipeline (all four, scan_input)",
    ]
    print(f"message: {len(MESSAGE)} characters; {iterations} scans each after 50 warm-up scans")
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f} when started\n")
    columns = ("p50 ms", "p95 ms", "CPU p50", "CPU p95", "peak RSS MB")
    print(f"| {'scanner':<34} | " + " | ".join(columns) + " | verdict |")
    print(f"|{'-' * 36}|" + "|".join("-" * (len(c) + 2) for c in columns) + "|---------|")
    inside = ""
    for name in names:
        row = json.loads(_run_self("--one", name, "--iterations", str(iterations)))
        values = [row["p50_ms"], row["p95_ms"], row["cpu_p50_ms"], row["cpu_p95_ms"]]
        cells = " | ".join(f"{value:{len(column)}.3f}" for value, column in zip(values, columns, strict=False))
        print(f"| {row['name']:<34} | {cells} | {row['peak_rss_mb']:11.0f} | {row['verdict']:<7} |")
        if row["inside_pipeline_p50_ms"]:
            inside = ", ".join(f"{name} {value:.3f}" for name, value in row["inside_pipeline_p50_ms"].items())
    print(f"\np50 ms of each scanner inside that pipeline (as the report records it): {inside}")
    baseline = subprocess.run(
        [sys.executable, "-c", "import resource, airisk.types; print(resource.getrusage(0).ru_maxrss / 1024)"],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"\nbaseline peak RSS of a process that imports airisk.types: {float(baseline.stdout):.0f} MB")


_ACCURACY_CONFIGS: dict[str, dict[str, Any]] = {
    "25 default candidates, low accuracy (default)": {},
    "25 default candidates, high accuracy": {"accuracy": "high"},
    "all 75 languages, low accuracy": {"candidates": "all"},
    "all 75 languages, high accuracy": {"candidates": "all", "accuracy": "high"},
}


def _accuracy_row(data: Path, label: str, sample_chars: int | None) -> str:
    """One configuration measured in this (fresh) process: accuracy by length, time, peak RSS."""
    from airisk.scanners.language import DEFAULT_CANDIDATES, SUPPORTED, Language

    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    if sample_chars is None:
        settings = dict(_ACCURACY_CONFIGS[label])
        if settings.get("candidates") == "all":
            settings["candidates"] = sorted(SUPPORTED)
        else:
            rows = [r for r in rows if r["lang"] in DEFAULT_CANDIDATES]
    else:
        settings = {"sample_chars": sample_chars}
        by_language: dict[str, list[str]] = {}
        for row in rows:
            if row["lang"] in DEFAULT_CANDIDATES:
                by_language.setdefault(row["lang"], []).append(row["text"])
        rows = [
            {"lang": code, "text": " ".join(texts[start : start + 12])}
            for code, texts in by_language.items()
            for start in range(0, len(texts) - 11, 12)
        ]
    scanner = Language(**settings)
    scanner.warm_up()
    started = time.perf_counter()
    buckets: dict[str, list[int]] = {"short": [0, 0], "medium": [0, 0], "long": [0, 0], "all": [0, 0]}
    for row in rows:
        length = len(row["text"])
        bucket = "short" if length < 40 else "medium" if length < 100 else "long"
        ranked = scanner.detect(row["text"])
        hit = int(bool(ranked) and ranked[0][1] > 0 and ranked[0][0] == row["lang"])
        for key in (bucket, "all"):
            buckets[key][0] += hit
            buckets[key][1] += 1
    elapsed_ms = (time.perf_counter() - started) * 1000 / max(1, len(rows))
    cells = " | ".join(f"{100 * ok / total:.1f}% ({total})" if total else "-" for ok, total in buckets.values())
    return f"| {label} | {cells} | {elapsed_ms:.3f} | {_peak_rss_mb():.0f} |"


def _language_accuracy(data: Path) -> None:
    rows = [line for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"data: {data.name}, {len(rows)} sentences (200 per language, lingua's own test corpus)\n")
    header = "| configuration | < 40 chars | 40-99 chars | >= 100 chars | all | ms per text | peak RSS MB |"
    rule = "|---|---|---|---|---|---|---|"
    print("Top detection correct, on sentences whose language is a candidate; each row in a fresh process.\n")
    print(header)
    print(rule)
    for label in _ACCURACY_CONFIGS:
        print(_run_self("--accuracy-row", label, "--data", str(data)))
    print("\nsample_chars on long texts: 12 sentences of one language joined (mean ~1200 characters),")
    print("25 default languages, default settings otherwise.\n")
    print(header)
    print(rule)
    for limit in (5000, 1000, 600, 400, 300, 90):
        print(_run_self("--accuracy-row", f"sample_chars={limit}", "--data", str(data)))


def _run_self(*args: str) -> str:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--language-accuracy", action="store_true")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--accuracy-row", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.accuracy_row:
        label = args.accuracy_row
        limit = int(label.split("=", 1)[1]) if label.startswith("sample_chars=") else None
        print(_accuracy_row(args.data, label, limit))
    elif args.one:
        print(json.dumps(_measure(args.one, args.iterations)))
    elif args.language_accuracy:
        _language_accuracy(args.data)
    else:
        _latency_table(args.iterations)


if __name__ == "__main__":
    main()
