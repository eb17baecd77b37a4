"""``airisk scan``: scan a text from the command line; the exit code tells the verdict."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from airisk.cli._format import EXIT_CODES, report_table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="scan a text (argument, --file or stdin)",
        description="Scan a message. Exit code: 0 pass, 3 flag, 4 redact, 5 block, 2 error.",
    )
    parser.add_argument("text", nargs="?", help="text to scan (default: --file or stdin)")
    parser.add_argument("--file", "-f", help="read the text from this file (UTF-8)")
    parser.add_argument("--policy", "-p", default="default", help="policy file or built-in name (default: default)")
    parser.add_argument("--direction", choices=["input", "output"], default="input")
    parser.add_argument("--client-ip", help="client IP for geographic gating")
    parser.add_argument("--attach", action="append", default=[], metavar="PATH", help="a file sent with the message")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.set_defaults(handler=run)


def _read_text(args: argparse.Namespace) -> bytes:
    if args.text is not None and args.file:
        from airisk.errors import ConfigurationError

        raise ConfigurationError("give the text as an argument or with --file, not both")
    if args.text is not None:
        return str(args.text).encode("utf-8", errors="surrogatepass")
    if args.file:
        with open(args.file, "rb") as handle:
            return handle.read()
    return sys.stdin.buffer.read()


def run(args: argparse.Namespace) -> int:
    from airisk.pipeline import ScannerPipeline
    from airisk.policies import resolve
    from airisk.types import FileAttachment, ScanContext

    pipeline = ScannerPipeline.from_policy(resolve(args.policy))
    ctx = ScanContext(client_ip=args.client_ip, files=[FileAttachment.from_path(path) for path in args.attach])
    report = pipeline.scan(_read_text(args), args.direction, ctx)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report_table(report))
    return EXIT_CODES[report.verdict]
