"""How the Python regular expressions of airisk's scanners scale on hostile input.

    PYTHONPATH=src python bench/bench_hostile_patterns.py [--size 2000] [--limit 20]

Every compiled ``re`` pattern held at module level by the scanners and models (signatures inside
tuples and dataclasses included) is run with ``finditer`` over texts made of one of its own
keywords, a long run of one filler (letters, spaces, newlines, ``=``, ``%41``, ...) and the
keyword again, at ``size`` and four times ``size`` characters. A pattern that reads a character
two ways backtracks: its time grows with the square (ratio ~16) or worse instead of linearly
(ratio ~4). The table lists the worst cases; then the signature layer as a whole
(``scan_text``: every view, every signature) on 50,000-character hostile messages.

Patterns run on google-re2 (the regex scanner's) are linear by construction and not listed.
Times, not assertions: tests check what these patterns match, this script how fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import pkgutil
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

FILLERS = ["a", " ", "a ", ". ", "aa  ", "%41", "0x41 ", "a-", "\n", "ab", "1", "\t", "a.", "@", "a@", "1 ", "-",
           ":", "=", "==", "/", "ä"]
# modules without scanners' patterns over message text (and the CLI entry point, which runs on import)
SKIP = ("airisk.server", "airisk.oauth", "airisk.store", "airisk.workspace", "airisk.client", "airisk.providers",
        "airisk.cli", "airisk.__main__")


def patterns() -> dict[str, re.Pattern[str]]:
    import airisk

    found: dict[int, tuple[str, re.Pattern[str]]] = {}

    def collect(value: Any, label: str, depth: int = 0) -> None:
        if isinstance(value, re.Pattern):
            found.setdefault(id(value), (label, value))
        elif depth > 3:
            return
        elif isinstance(value, list | tuple | set | frozenset):
            for index, item in enumerate(value):
                collect(item, f"{label}[{index}]", depth + 1)
        elif isinstance(value, dict):
            for key, item in list(value.items())[:500]:
                collect(item, f"{label}[{key!r}]", depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            name = getattr(value, "name", None)
            for field in dataclasses.fields(value):
                collect(getattr(value, field.name), f"{label}({name})" if name else label, depth + 1)

    for info in pkgutil.walk_packages(airisk.__path__, "airisk."):
        if info.name.startswith(SKIP):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue  # an extra that is not installed
        for key, value in vars(module).items():
            collect(value, f"{info.name}.{key}")
    return {label: pattern for label, pattern in found.values() if isinstance(pattern.pattern, str)}


def timed(pattern: re.Pattern[str], text: str) -> float:
    started = time.perf_counter()
    for _ in pattern.finditer(text):
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000, help="filler repetitions of the smaller text")
    parser.add_argument("--limit", type=int, default=20, help="rows of the worst-cases table")
    args = parser.parse_args()

    found = patterns()
    rows = []
    for label, pattern in found.items():
        words = sorted({w.lower() for w in re.findall(r"[A-Za-z]{3,}", pattern.pattern)})[:25]
        worst = (0.0, 0.0, "", "")
        for word in ["", *words]:
            for filler in FILLERS:
                small, large = ((f"{word} " * 3 + filler * n + f" {word}" * 3) for n in (args.size, 4 * args.size))
                time_small, time_large = timed(pattern, small), timed(pattern, large)
                if time_large > worst[0]:
                    worst = (time_large, time_large / max(time_small, 1e-9), word, filler)
        rows.append((label, *worst))
    rows.sort(key=lambda row: -row[1])  # slowest first
    print(f"{len(found)} patterns; texts of ~{args.size} and ~{4 * args.size} filler repetitions\n")
    print("| pattern | slowest text (larger) ms | growth at 4x length | keyword | filler |")
    print("|---|---|---|---|---|")
    for label, seconds, growth, word, filler in rows[: args.limit]:
        print(f"| `{label}` | {seconds * 1000:.1f} | {growth:.1f} | {word or '-'} | {filler!r} |")

    from airisk.scanners._injection_signatures import scan_text

    print("\n| signature layer (`scan_text`) on 50,000 characters of | ms |\n|---|---|")
    for name, text in [
        ("one letter", "a" * 50_000),
        ("letter-hyphen pairs", "a-" * 25_000),
        ("newlines", "\n" * 50_000),
        ("equals signs", "=" * 50_000),
        ("percent escapes", "%41" * 16_667),
        ("'ignore previous ' repeated", "ignore previous " * 3_125),
    ]:
        started = time.perf_counter()
        scan_text(text)
        print(f"| {name} | {(time.perf_counter() - started) * 1000:.0f} |")


if __name__ == "__main__":
    main()
