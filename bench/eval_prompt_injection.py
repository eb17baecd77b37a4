"""Quality figures for the prompt-injection scanner, all measured with ``airisk.evaluate``.

    PYTHONPATH=src python bench/eval_prompt_injection.py [--data ../shared/data] [--json]

Datasets (none used for training except where stated):
- deepset/prompt-injections TEST split, as labelled, and under our policy (rows that are only
  a role-play request — which deepset labels as injections — left out);
- giskard_garak (all attacks: recall);
- training/data/benign_roleplay_heldout.jsonl (all benign: false-positive rate), written for
  this repository separately from the training templates, and benign_roleplay_heldout_2.jsonl
  (120 more, 50 of them long, in four languages, written in the sixth session by someone who
  read neither the training data nor the detector);
- NotInject: the shipped head trained on it, so this script prints the in-training figure
  and ``training/cv_notinject.py`` gives the honest cross-validated one;
- ordinary traffic (all benign: false-positive rate) from the CLINC150 *val* split only (the
  head trains on train-split requests): 1,000 single requests, and 400 prompts of 500
  characters made by joining unrelated val requests the way ``bench/bench_default_pipeline.py``
  does.
Each is run for the full scanner and for each layer alone.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROLEPLAY_ONLY = re.compile(
    r"(I want you to act as|Ich möchte, dass Sie als|Seb and Irene act|Seb und Irene fungieren)", re.IGNORECASE
)


def shared_data() -> Path:
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return ROOT.parent / "shared" / "data"


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def clinc_val(data: Path, seed: int = 7) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Single CLINC150 val requests and 500-character multi-request prompts made of them (all benign)."""
    import random

    sentences = [r["text"] for r in load(data / "topics" / "clinc150_trainval.jsonl") if r["split"] == "val"]
    rng = random.Random(seed)
    single = [{"text": text, "label": 0} for text in rng.sample(sentences, 1000)]
    multi = []
    for _ in range(400):
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < 500:
            parts.append(rng.choice(sentences).capitalize())
        multi.append({"text": (". ".join(parts) + ".")[:500], "label": 0})
    return single, multi


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=shared_data())
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--head", type=Path, help="a different .npz head than the shipped one (e.g. a retrained one)")
    args = parser.parse_args()

    from airisk import evaluate
    from airisk.scanners.prompt_injection import PromptInjection

    pi = args.data / "prompt_injection"
    deepset_test = [r for r in load(pi / "deepset.jsonl") if r["split"] == "test"]
    policy_test = [r for r in deepset_test if not (r["label"] == 1 and ROLEPLAY_ONLY.search(r["text"]))]
    datasets = {
        "deepset test (as labelled)": deepset_test,
        "deepset test (role-play rows excluded)": policy_test,
        "giskard_garak (attacks)": load(pi / "giskard_garak.jsonl"),
        "held-out benign role-play": load(ROOT / "training" / "data" / "benign_roleplay_heldout.jsonl"),
        "held-out benign role-play, second set": load(ROOT / "training" / "data" / "benign_roleplay_heldout_2.jsonl"),
        "NotInject (in training; see cv_notinject.py)": load(pi / "notinject.jsonl"),
    }
    single, multi = clinc_val(args.data)
    datasets["CLINC150 val single requests"] = single
    datasets["CLINC150 val 500-char multi-request prompts"] = multi
    head = {"head_path": str(args.head)} if args.head else {}
    variants = {
        "full": PromptInjection(**head),
        "signatures only": PromptInjection(classifier=False),
        "classifier only": PromptInjection(signatures=False, **head),
    }
    out: dict[str, dict[str, Any]] = {}
    for data_name, rows in datasets.items():
        for variant, scanner in variants.items():
            if data_name.startswith("CLINC") and variant != "full":
                continue  # ordinary traffic: the full scanner's false positives are what matters
            slice_field = "slice" if data_name.startswith("held-out") else None
            result = evaluate(scanner, rows, slice_field=slice_field)
            out[f"{data_name} | {variant}"] = result.to_dict()
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print("| dataset | layers | n | recall | FPR | precision | ROC-AUC | recall@FPR≤1% | recall@FPR≤5% |")
    print("|---|---|---|---|---|---|---|---|---|")

    def fmt(value: Any) -> str:
        return "—" if value is None else f"{value:.3f}"

    for key, item in out.items():
        data_name, variant = key.split(" | ")
        print(
            f"| {data_name} | {variant} | {item['n']} | {fmt(item['recall'])} | {fmt(item['fpr'])} | "
            f"{fmt(item['precision'])} | {fmt(item['roc_auc'])} | {fmt(item['recall_at_fpr']['0.01'])} | "
            f"{fmt(item['recall_at_fpr']['0.05'])} |"
        )
    for key, item in out.items():
        if item["slices"]:
            slices = ", ".join(f"{name}: FPR {fmt(s['fpr'])} (n={s['n']})" for name, s in item["slices"].items())
            print(f"\n{key}: {slices}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
