"""Measure a scanner policy on a labelled dataset, notebook style (``# %%`` cells).

    python examples/evaluate_policy.py [policy.yaml] [dataset.jsonl]

Each row of the dataset has ``text``, ``label`` (1 = the policy should catch it) and a
``slice`` to break the results down by. ``airisk.evaluate`` scans every row in batches and
reports precision, recall, F1, ROC-AUC, the confusion matrix, per-slice figures and a
threshold sweep.
"""

# %% Load the policy and the dataset
from __future__ import annotations

import json
import sys
from pathlib import Path

import airisk
from airisk import ScannerPipeline

HERE = Path(__file__).resolve().parent
policy_path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "policy.yaml"
dataset_path = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "data" / "policy_eval.jsonl"

pipeline = ScannerPipeline.from_policy(policy_path)
rows = [json.loads(line) for line in dataset_path.read_text().splitlines() if line.strip()]
print(f"{len(rows)} rows, {sum(row['label'] for row in rows)} to catch, policy {policy_path.name}")

# %% Evaluate: every row is scanned once, in batches
evaluation = airisk.evaluate(pipeline, rows, slice_field="slice", progress=sys.stderr.isatty())
print(evaluation.table())

# %% Look at the mistakes: what was missed and what was caught wrongly
reports = pipeline.scan_many([row["text"] for row in rows], "input")
for row, report in zip(rows, reports, strict=True):
    caught = report.verdict.value != "pass"
    if caught != bool(row["label"]):
        why = "; ".join(report.reasons) or "nothing found"
        print(f"{'missed' if row['label'] else 'false alarm'}: {row['text']!r} -> {why}")

# %% Keep the figures (for CI, or to compare two versions of a policy)
summary = evaluation.to_dict()
keep = ("n", "precision", "recall", "f1", "fpr", "roc_auc", "confusion")
print(json.dumps({key: summary[key] for key in keep if key in summary}, indent=2))
