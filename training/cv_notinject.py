"""NotInject false-positive rate by 5-fold cross-validation, measured with ``airisk.evaluate``.

The shipped head trains on NotInject, so its NotInject figure must come from heads that did
not see the rows they are scored on: for each fold, a head is trained exactly as
``train_prompt_injection.py`` does on every other row, saved to a temporary file, and the
full scanner (signatures + that head) is evaluated on the held-out fold.

    PYTHONPATH=src python training/cv_notinject.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_prompt_injection import features, fit_head, notinject_rows, shared_data_dir, training_rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=shared_data_dir())
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from airisk import evaluate
    from airisk.scanners.prompt_injection import PromptInjection

    base = training_rows(args.data)
    held = notinject_rows(args.data)
    import scipy.sparse as sp

    x_base = features([str(r["text"]) for r in base])
    x_held = features([str(r["text"]) for r in held])
    order = np.random.default_rng(0).permutation(len(held))
    folds = np.array_split(order, args.folds)
    flagged = 0
    per_category: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, test_index in enumerate(folds):
            train_index = np.setdiff1d(order, test_index)
            rows = base + [held[i] for i in train_index]
            x = sp.vstack([x_base, x_held[train_index]]).tocsr()  # type: ignore[index]
            head = fit_head(rows, x, 0.01, verbose=False)
            path = Path(tmp) / f"fold{k}.npz"
            head.save(path)  # type: ignore[attr-defined]
            fold_rows = [held[i] for i in test_index]
            result = evaluate(PromptInjection(head_path=str(path)), fold_rows, slice_field="category")
            flagged += result.confusion.fp
            for name, item in result.slices.items():
                counts = per_category.setdefault(name, [0, 0])
                counts[0] += item["fp"]
                counts[1] += item["n"]
            print(f"fold {k}: {result.confusion.fp}/{result.n} flagged", file=sys.stderr)
    summary = {
        "rows": len(held),
        "false_positives": flagged,
        "fpr": flagged / len(held),
        "by_category": {name: {"fp": fp, "n": n, "fpr": fp / n} for name, (fp, n) in sorted(per_category.items())},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"NotInject, {args.folds}-fold CV: {flagged}/{len(held)} flagged = FPR {summary['fpr']:.3f}")
        for name, item in summary["by_category"].items():
            print(f"  {name:<20} {item['fp']:>3}/{item['n']:<4} {item['fpr']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
