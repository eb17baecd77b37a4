"""Train the default toxicity head: MiniLM embedding + lexical cues -> small MLP (numpy at scan time).

Data
  ../shared/data/toxicity/davidson_twitter.jsonl   (Davidson et al. 2017, MIT): label 1 = hate or offensive,
                                                   class hate_speech -> identity_attack
  ../shared/data/toxicity/toxigen_demonstrations.jsonl (ToxiGen, MIT + CDLA-P-2.0): implicit hate -> both labels
  training/data/toxicity_handwritten.jsonl          hard cases written for this repository
                                                   (python training/make_toxicity_examples.py)
  ../shared/data/topics/clinc150_trainval.jsonl     CLINC150 (CC-BY-3.0): benign assistant-style requests, all
                                                   domains; only rows with split "train" or "oos_train" are
                                                   trained on (as negatives), never "val"/"oos_val"
A stratified 20 % of the public data (seed 0) is held back and never trained on; it is written to
build/eval/toxicity_heldback.jsonl for `airisk evaluate`. The CLINC150 validation rows are written, labelled 0,
to build/eval/clinc150_val_benign.jsonl to measure false positives on ordinary requests; they are neither
trained on nor used to choose anything. tests/data/toxicity_functional.jsonl is only scored here for the report,
never trained on.

    PYTHONPATH=src python training/train_toxicity.py      # writes src/airisk/models/data/toxicity_head_int8.npz
    AIRISK_ENCODER_PRECISION=fp32 PYTHONPATH=src python training/train_toxicity.py   # ... toxicity_head.npz

Each head is trained on the embeddings of the encoder precision it will serve (int8 by default).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from embedding_cache import embed  # noqa: E402

from airisk.models import sha256_file  # noqa: E402
from airisk.models.encoder import get_encoder  # noqa: E402
from airisk.scanners.toxicity import features  # noqa: E402
from airisk.scanners.toxicity_cues import CUE_NAMES, cues  # noqa: E402


def shared_data() -> Path:
    """../shared/data beside the repository (or $AIRISK_SHARED_DATA; worktrees sit one level deeper)."""
    import os

    configured = os.environ.get("AIRISK_SHARED_DATA")
    candidates = [Path(configured)] if configured else []
    candidates += [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


DATA = shared_data() / "toxicity"
CLINC = shared_data() / "topics" / "clinc150_trainval.jsonl"
CLINC_TRAIN_SPLITS = ("train", "oos_train")
CLINC_VAL_SPLITS = ("val", "oos_val")
HANDWRITTEN = ROOT / "training" / "data" / "toxicity_handwritten.jsonl"
FUNCTIONAL = ROOT / "tests" / "data" / "toxicity_functional.jsonl"


def shipped_head() -> Path:
    """The packaged head for the current encoder precision (toxicity_head.npz for fp32)."""
    from airisk.models import packaged_path
    from airisk.models.encoder import matched_head
    from airisk.scanners.toxicity import HEAD_ARTIFACT

    return packaged_path(matched_head(HEAD_ARTIFACT, get_encoder().precision))
HELDBACK = ROOT / "build" / "eval" / "toxicity_heldback.jsonl"
CLINC_VAL = ROOT / "build" / "eval" / "clinc150_val_benign.jsonl"
HANDWRITTEN_WEIGHT = 5  # each hand-written example counts this many times
CLINC_WEIGHT = 0.3  # 15,100 rows x 0.3 = 4,530: less than the other negatives together (6,676 with repeats)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def public_rows(data_dir: Path) -> list[dict]:
    rows = []
    for row in read_jsonl(data_dir / "davidson_twitter.jsonl"):
        rows.append(
            {
                "text": row["text"],
                "label": int(row["label"]),
                "identity_attack": int(row["class"] == "hate_speech"),
                "source": "davidson",
                "slice": row["class"],
            }
        )
    for row in read_jsonl(data_dir / "toxigen_demonstrations.jsonl"):
        label = int(row["label"])
        rows.append(
            {"text": row["text"], "label": label, "identity_attack": label, "source": "toxigen", "slice": "toxigen"}
        )
    return rows


def clinc_rows(path: Path, splits: tuple[str, ...]) -> list[dict]:
    """Benign assistant-style requests (CLINC150) of the given splits, all labelled non-toxic."""
    return [
        {"text": row["text"], "label": 0, "identity_attack": 0, "domain": row["domain"]}
        for row in read_jsonl(path)
        if row["split"] in splits
    ]


def split(rows: list[dict], seed: int = 0, fraction: float = 0.2) -> tuple[list[int], list[int]]:
    """Stratified by source and label; the same split every run."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    strata: dict[tuple[str, int], list[int]] = {}
    for index, row in enumerate(rows):
        strata.setdefault((row["source"], row["label"]), []).append(index)
    for key in sorted(strata):
        members = np.array(strata[key])
        rng.shuffle(members)
        cut = round(len(members) * fraction)
        held.extend(members[:cut].tolist())
        train.extend(members[cut:].tolist())
    return sorted(train), sorted(held)


def featurise(texts: list[str]) -> np.ndarray:
    return features(embed(texts), [cues(text) for text in texts])


def merge_members(members: list) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One-hidden-layer MLPs trained with different seeds, merged into one wider MLP whose logits are the
    members' mean logits (the same numpy head at scan time; a single seed's functional-suite figures move
    by about 0.03 from seed to seed, the mean of several does not)."""
    hidden_weights = np.hstack([m.coefs_[0] for m in members])
    hidden_biases = np.concatenate([m.intercepts_[0] for m in members])
    output_weights = np.vstack([m.coefs_[1] for m in members]) / len(members)
    output_biases = np.mean([m.intercepts_[1] for m in members], axis=0)
    weights = [hidden_weights.astype(np.float32), output_weights.astype(np.float32)]
    return weights, [hidden_biases.astype(np.float32), output_biases.astype(np.float32)]


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def evaluate_only(data: Path, head_path: Path) -> dict:
    """The headline figures of an existing head, without training: held-back ROC-AUC and functional suite."""
    from sklearn.metrics import balanced_accuracy_score

    from airisk.scanners.toxicity import _MLPHead

    head = _MLPHead(head_path)
    rows = public_rows(data)
    _, held_idx = split(rows)
    held_rows = [rows[i] for i in held_idx]
    held = head.predict(featurise([row["text"] for row in held_rows]))
    functional = read_jsonl(FUNCTIONAL)
    p_functional = head.predict(featurise([row["text"] for row in functional]))[:, 0]
    y_functional = np.array([row["label"] for row in functional])
    report = {
        "encoder_precision": get_encoder().precision,
        "head": str(head_path),
        "heldback_rows": len(held_rows),
        "heldback_toxicity_auc": round(auc(np.array([r["label"] for r in held_rows]), held[:, 0]), 4),
        "heldback_identity_attack_auc": round(
            auc(np.array([r["identity_attack"] for r in held_rows]), held[:, 1]), 4
        ),
        "functional_balanced_accuracy": round(
            float(balanced_accuracy_score(y_functional, (p_functional >= 0.5).astype(int))), 4
        ),
        "functional_auc": round(auc(y_functional, p_functional), 4),
    }
    print(json.dumps(report, indent=2))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", choices=["mlp", "linear"], default="mlp")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--alpha", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", type=Path, help="default: the shipped head of the current encoder precision")
    parser.add_argument("--seeds", type=int, default=5, help="MLPs trained with seeds 0..N-1, merged (mean logit)")
    parser.add_argument(
        "--dev",
        action="store_true",
        help="hold back 20%% of the CLINC150 training rows (seed 0) and report the false-positive rate on them; "
        "for choosing the CLINC weight and the threshold without touching CLINC150 val",
    )
    parser.add_argument("--balance", action="store_true", help="repeat non-toxic rows to balance the classes")
    parser.add_argument("--clinc", type=Path, default=CLINC, help="CLINC150 JSONL (benign requests as negatives)")
    parser.add_argument(
        "--clinc-weight", type=float, default=CLINC_WEIGHT, help="sample weight of each CLINC150 training row"
    )
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="train nothing: score the head at --out (default: the shipped one) on the held-back split and the "
        "functional suite with the current encoder (e.g. AIRISK_ENCODER_PRECISION=int8)",
    )
    args = parser.parse_args()
    args.out = args.out or shipped_head()
    if args.evaluate:
        evaluate_only(args.data, args.out)
        return

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.neural_network import MLPClassifier

    rows = public_rows(args.data)
    train_idx, held_idx = split(rows)
    HELDBACK.parent.mkdir(parents=True, exist_ok=True)
    with HELDBACK.open("w", encoding="utf-8") as handle:
        for index in held_idx:
            row = rows[index]
            handle.write(json.dumps({"text": row["text"], "label": row["label"], "slice": row["slice"]}) + "\n")
    with CLINC_VAL.open("w", encoding="utf-8") as handle:
        for row in clinc_rows(args.clinc, CLINC_VAL_SPLITS):
            handle.write(json.dumps({"text": row["text"], "label": 0, "domain": row["domain"]}) + "\n")
    handwritten = read_jsonl(HANDWRITTEN)
    functional = read_jsonl(FUNCTIONAL)
    benign = clinc_rows(args.clinc, CLINC_TRAIN_SPLITS)
    benign_dev: list[dict] = []
    if args.dev:
        permutation = np.random.default_rng(0).permutation(len(benign))
        cut = round(len(benign) * 0.8)
        benign_dev = [benign[i] for i in sorted(permutation[cut:])]
        benign = [benign[i] for i in sorted(permutation[:cut])]

    x_public = featurise([row["text"] for row in rows])
    x_hand = featurise([row["text"] for row in handwritten])
    y_public = np.array([[row["label"], row["identity_attack"]] for row in rows])
    y_hand = np.array([[row["label"], row["identity_attack"]] for row in handwritten])
    x_benign = featurise([row["text"] for row in benign])
    y_benign = np.zeros((len(benign), 2), dtype=y_public.dtype)
    x_train = np.vstack([x_public[train_idx], *([x_hand] * HANDWRITTEN_WEIGHT), x_benign])
    y_train = np.vstack([y_public[train_idx], *([y_hand] * HANDWRITTEN_WEIGHT), y_benign])
    sample_weight = np.ones(len(x_train))
    sample_weight[len(x_train) - len(benign) :] = args.clinc_weight

    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0) + 1e-6
    z_train = (x_train - mean) / scale
    # Davidson is 83 % offensive; --balance repeats the non-toxic rows (measured slightly worse on both the
    # held-back split and the functional suite, so the shipped head is trained without it)
    negatives = np.flatnonzero(y_train[:, 0] == 0)
    positives = np.flatnonzero(y_train[:, 0] == 1)
    repeat = max(1, round(len(positives) / max(1, len(negatives)))) if args.balance else 1
    order = np.concatenate([positives, *([negatives] * repeat)])
    if args.model == "mlp":
        members = [
            MLPClassifier(
                hidden_layer_sizes=(args.hidden,), alpha=args.alpha, max_iter=args.epochs, random_state=seed
            ).fit(z_train[order], y_train[order], sample_weight=sample_weight[order])
            for seed in range(args.seeds)
        ]
        weights, biases = merge_members(members)
    else:
        heads = [
            LogisticRegression(max_iter=3000).fit(z_train[order], y_train[order, j], sample_weight=sample_weight[order])
            for j in range(2)
        ]
        weights = [np.hstack([h.coef_.T for h in heads]).astype(np.float32)]
        biases = [np.concatenate([h.intercept_ for h in heads]).astype(np.float32)]

    def predict(x: np.ndarray) -> np.ndarray:
        hidden = (x - mean) / scale
        for weight, bias in zip(weights[:-1], biases[:-1], strict=True):
            hidden = np.maximum(hidden @ weight + bias, 0.0)
        return 1.0 / (1.0 + np.exp(-(hidden @ weights[-1] + biases[-1])))

    held = predict(x_public[held_idx])
    y_held = y_public[held_idx]
    x_functional = featurise([row["text"] for row in functional])
    p_functional = predict(x_functional)[:, 0]
    y_functional = np.array([row["label"] for row in functional])
    categories = [row["category"] for row in functional]
    predicted = (p_functional >= 0.5).astype(int)
    report = {
        "heldback_rows": len(held_idx),
        "heldback_toxicity_auc": round(auc(y_held[:, 0], held[:, 0]), 4),
        "heldback_identity_attack_auc": round(auc(y_held[:, 1], held[:, 1]), 4),
        "functional_balanced_accuracy": round(float(balanced_accuracy_score(y_functional, predicted)), 4),
        "functional_auc": round(auc(y_functional, p_functional), 4),
        "functional_accuracy_by_category": {
            category: round(
                float(
                    np.mean(
                        [p == y for p, y, c in zip(predicted, y_functional, categories, strict=False) if c == category]
                    )
                ),
                3,
            )
            for category in dict.fromkeys(categories)
        },
    }
    held_negatives = held[y_held[:, 0] == 0, 0]
    report["heldback_negative_fpr_by_threshold"] = {
        str(threshold): round(float((held_negatives >= threshold).mean()), 4) for threshold in (0.5, 0.7, 0.9)
    }
    if benign_dev:
        p_dev = predict(featurise([row["text"] for row in benign_dev]))[:, 0]
        report["clinc_dev_rows"] = len(benign_dev)
        report["clinc_dev_fpr_by_threshold"] = {
            str(threshold): round(float((p_dev >= threshold).mean()), 4) for threshold in (0.5, 0.7, 0.9)
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"W{i}": w for i, w in enumerate(weights)} | {f"b{i}": b for i, b in enumerate(biases)}
    metadata = {
        "encoder_precision": get_encoder().precision,
        "model": args.model,
        "hidden": args.hidden if args.model == "mlp" else 0,
        "seeds": args.seeds if args.model == "mlp" else 0,
        "train_rows": len(order),
        "handwritten_weight": HANDWRITTEN_WEIGHT,
        "clinc_weight": args.clinc_weight,
        "data": [
            "davidson_twitter (80%)",
            "toxigen_demonstrations (80%)",
            "training/data/toxicity_handwritten.jsonl",
            "clinc150 train + oos_train (negatives)" + (" minus 20% dev" if args.dev else ""),
        ],
        "report": report,
    }
    with args.out.open("wb") as handle:
        np.savez(
            handle,
            labels=np.array(["toxicity", "identity_attack"]),
            cue_names=np.array(CUE_NAMES),
            mean=mean.astype(np.float32),
            scale=scale.astype(np.float32),
            layers=np.array(len(weights)),
            metadata=np.array(json.dumps(metadata, sort_keys=True)),
            **arrays,
        )
    print(json.dumps(report, indent=2))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) sha256 {sha256_file(args.out)}")
    print(f"held-back split for evaluation: {HELDBACK}")
    print(f"CLINC150 validation requests (label 0) for the false-positive rate: {CLINC_VAL}")


if __name__ == "__main__":
    main()
