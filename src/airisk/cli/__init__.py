"""The ``airisk`` command line. Each sub-command lives in its own module with a
``register(subparsers)`` function; modules are imported when the parser is built, and
their heavy dependencies only when the command runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# sub-command modules, in the order ``airisk --help`` lists them
COMMAND_MODULES = (
    "airisk.cli.scan",
    "airisk.cli.chat",
    "airisk.cli.demo",
    "airisk.cli.models",
    "airisk.cli.evaluate",
    "airisk.cli.serve",
    "airisk.cli.admin",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airisk", description="Guardrails for LLM messages.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from airisk.errors import AiriskError

    try:
        return int(args.handler(args) or 0)
    except AiriskError as exc:
        print(f"airisk: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file named on the command line that cannot be read or written
        where = f": {exc.filename}" if exc.filename else ""
        print(f"airisk: error: {exc.strerror or type(exc).__name__}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("airisk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
