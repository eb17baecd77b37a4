"""``airisk evaluate DATASET --scanner NAME [--set k=v …] | --policy FILE``: measure on labelled data.

Rows with a ``spans`` field are span-labelled (personal information): they go to
``airisk.span_evaluation.evaluate_spans``; other rows need a 0/1 label.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="measure a scanner or a policy on a labelled JSONL dataset",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", help="JSONL file: one object per line with a text and a label (or spans)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--scanner", help="registry name of one scanner, e.g. prompt_injection")
    target.add_argument("--policy", help="policy file (YAML/JSON); its input pipeline is evaluated")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="scanner setting (value parsed as YAML: 0.7, true, [a, b]); repeatable")
    parser.add_argument("--split", help="keep only rows whose 'split' field equals this")
    parser.add_argument("--text-field", default="text")
    parser.add_argument("--label-field", default="label")
    parser.add_argument("--slice-field", help="break metrics down by this field")
    parser.add_argument("--direction", choices=["input", "output"], default="input")
    parser.add_argument("--limit", type=int, help="evaluate only the first N rows (after --split)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_run)


def _settings(pairs: list[str]) -> dict[str, Any]:
    import yaml

    from airisk.errors import ConfigurationError

    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"--set expects KEY=VALUE, got {pair!r}")
        settings[key.strip()] = yaml.safe_load(value)
    return settings


def _run(args: argparse.Namespace) -> int:
    from airisk.evaluation import evaluate, load_rows

    rows = load_rows(args.dataset)
    if args.split:
        rows = [row for row in rows if row.get("split") == args.split]
    if args.limit:
        rows = rows[: args.limit]
    if args.scanner:
        from airisk.scanners import get_scanner_class

        target: Any = get_scanner_class(args.scanner)(**_settings(args.set))
    else:
        from airisk.pipeline import ScannerPipeline

        if args.set:
            from airisk.errors import ConfigurationError

            raise ConfigurationError("--set applies to --scanner; edit the policy file instead")
        target = ScannerPipeline.from_policy(args.policy)
    if rows and "spans" in rows[0]:
        result: Any = _span_evaluation(target, rows, not args.quiet)
    else:
        result = evaluate(
            target, rows, text_field=args.text_field, label_field=args.label_field, slice_field=args.slice_field,
            progress=not args.quiet, direction=args.direction,
        )
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else result.table())
    return 0


def _span_evaluation(target: Any, rows: list[dict[str, Any]], progress: bool) -> Any:
    try:
        from airisk.span_evaluation import evaluate_spans
    except ImportError as exc:
        from airisk.errors import MissingDependencyError

        if exc.name not in ("airisk.span_evaluation", None):
            raise
        raise MissingDependencyError("span evaluation (airisk.span_evaluation)", "pii") from None
    return evaluate_spans(target, rows, progress=progress)
