"""Train the prompt-injection classifier: a logistic model over hashed n-grams + MiniLM embeddings.

Usage (from the repository root, after ``airisk models prepare``)::

    PYTHONPATH=src python training/train_prompt_injection.py [--data ../shared/data] [--out PATH]

The head is trained on the embeddings of the encoder precision it will serve: int8 by default
(writes ``prompt_injection_head_int8.npz``), ``AIRISK_ENCODER_PRECISION=fp32`` for
``prompt_injection_head.npz``.

Training data:
- deepset/prompt-injections, TRAIN split only (the test split is kept for evaluation).
  Policy relabel: rows that are *only* an "I want you to act as …" role-play request (the
  awesome-chatgpt-prompts style deepset marks as injections because its target app was a
  newspaper bot) are trained as benign, since our policy treats role-play as legitimate.
  Rows that also try to override instructions keep their label.
- templated rows from ``training/pi_synthetic.py`` (see its docstring for why and what).
- ordinary traffic from the CLINC150 *train* split (``topics/clinc150_trainval.jsonl``,
  ``split == "train"`` only; val stays evaluation data): single requests and long prompts
  made by joining unrelated requests (hard negatives: before them the head blocked about a
  fifth of such prompts), and templated injections inserted at random positions of such
  text, so the head learns the injected part rather than the length
  (``pi_synthetic.generate_hard``).

- NotInject (benign prompts full of trigger words), unless ``--no-notinject``. Its false-
  positive rate is therefore reported by 5-fold cross-validation
  (``training/cv_notinject.py``), never on rows the reported head saw.

Not used for training: deepset TEST, giskard_garak, the held-out role-play set and CLINC150
val — they are evaluation data only.

The operating threshold is chosen on out-of-fold predictions (5-fold CV on the training
rows) as the lowest score keeping the false-positive rate on benign training rows at or
under ``--target-fpr``, and folded into the bias so that a score of 0.5 is that threshold.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "training"))

ROLEPLAY_ONLY = re.compile(
    r"^\s*(I want you to act as|Ich möchte, dass (Sie|du) als .{0,60}(fungieren|agieren|auftreten|handeln))",
    re.IGNORECASE,
)
OVERRIDE_CUE = re.compile(
    r"ignore|forget|vergiss|ignorier|disregard|system prompt|jailbreak|no restrictions|keine regeln|print the above",
    re.IGNORECASE,
)


def shared_data_dir() -> Path:
    """``shared/data`` beside the repository (or beside any parent folder), or $AIRISK_SHARED_DATA."""
    import os

    if os.environ.get("AIRISK_SHARED_DATA"):
        return Path(os.environ["AIRISK_SHARED_DATA"])
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return ROOT.parent / "shared" / "data"


def load_jsonl(path: Path) -> list[dict[str, object]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def training_rows(data_dir: Path) -> list[dict[str, object]]:
    from pi_synthetic import generate, generate_hard

    rows = []
    for row in load_jsonl(data_dir / "prompt_injection" / "deepset.jsonl"):
        if row["split"] != "train":
            continue
        text = str(row["text"])
        label = int(row["label"])  # type: ignore[call-overload]
        source = "deepset_train"
        if label == 1 and ROLEPLAY_ONLY.search(text) and not OVERRIDE_CUE.search(text):
            label, source = 0, "deepset_train_roleplay_relabelled"
        rows.append({"text": text, "label": label, "source": source})
    rows.extend(generate())
    clinc_rows = load_jsonl(data_dir / "topics" / "clinc150_trainval.jsonl")
    clinc = [str(r["text"]) for r in clinc_rows if r["split"] == "train"]
    rows.extend(generate_hard(clinc))
    return rows


EMBEDDING_SCALE = 0.5  # weight of the embedding block against the unit-norm n-gram block (chosen by CV)
C_GRID = (4.0, 16.0, 64.0)


def features(texts: list[str]) -> object:
    """The model's input: hashed n-grams (sparse), then scale * [mean embedding, max embedding]."""
    import scipy.sparse as sp

    from airisk.models.encoder import get_encoder, pool_chunks
    from airisk.models.ngrams import sparse_matrix

    chunks = get_encoder().encode_chunks_many(texts)
    mean = np.stack([pool_chunks(c) for c in chunks])
    top = np.stack([c.max(axis=0) for c in chunks])
    dense = sp.csr_matrix(np.hstack([mean, top]) * EMBEDDING_SCALE)
    return sp.hstack([sparse_matrix(texts), dense]).tocsr()


def _model(c: float) -> object:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000, solver="liblinear")


def out_of_fold(x: object, y: np.ndarray, c: float, folds: int = 5) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y):
        model = _model(c).fit(x[train], y[train])  # type: ignore[attr-defined, index]
        scores[test] = model.predict_proba(x[test])[:, 1]  # type: ignore[index]
    return scores


def fit_head(rows: list[dict[str, object]], x: object, target_fpr: float, *, verbose: bool = True) -> object:
    """Choose C and the operating threshold by 5-fold CV, then fit on every row; returns a HybridHead."""
    from sklearn.metrics import roc_auc_score

    from airisk.models.encoder import DIMENSION, get_encoder
    from airisk.models.heads import HybridHead
    from airisk.models.ngrams import DEFAULT_DIMENSION

    y = np.array([int(r["label"]) for r in rows])  # type: ignore[call-overload]
    best = None
    for c in C_GRID:
        oof = out_of_fold(x, y, c)
        auc = roc_auc_score(y, oof)
        if verbose:
            print(f"C={c:<5} out-of-fold ROC-AUC {auc:.4f}", file=sys.stderr)
        if best is None or auc > best[1]:
            best = (c, auc, oof)
    assert best is not None
    c, auc, oof = best
    benign = np.sort(oof[y == 0])
    allowed = math.floor(target_fpr * len(benign))
    threshold = float(benign[len(benign) - allowed - 1]) + 1e-6 if allowed < len(benign) else 0.5
    recall = float((oof[y == 1] >= threshold).mean())
    deepset = np.array([r["source"] == "deepset_train" for r in rows])
    deepset_recall = float((oof[deepset & (y == 1)] >= threshold).mean()) if deepset.any() else None
    if verbose:
        print(f"chosen C={c}, threshold {threshold:.4f}: out-of-fold recall {recall:.3f} at FPR <= {target_fpr}"
              f" (deepset train attacks: {deepset_recall})", file=sys.stderr)
    model = _model(c).fit(x, y)  # type: ignore[attr-defined]
    coef = model.coef_[0].astype(np.float32)  # type: ignore[attr-defined]
    shift = math.log(threshold / (1 - threshold))
    sources: dict[str, int] = {}
    for row in rows:
        sources[str(row["source"])] = sources.get(str(row["source"]), 0) + 1
    return HybridHead(
        ngram_weights=coef[:DEFAULT_DIMENSION],
        mean_weights=coef[DEFAULT_DIMENSION : DEFAULT_DIMENSION + DIMENSION],
        max_weights=coef[DEFAULT_DIMENSION + DIMENSION :],
        bias=float(model.intercept_[0]) - shift,  # type: ignore[attr-defined]
        embedding_scale=EMBEDDING_SCALE,
        metadata={
            "encoder": "minilm-l6-v2",
            "encoder_precision": get_encoder().precision,
            "features": f"hashed char 3-5 + word 1-2 grams ({DEFAULT_DIMENSION}), "
                        f"{EMBEDDING_SCALE} * [mean, max] of MiniLM windows",
            "trained_by": "training/train_prompt_injection.py",
            "rows": len(rows),
            "sources": sources,
            "C": c,
            "oof_roc_auc": round(float(auc), 4),
            "operating_threshold_raw": round(threshold, 6),
            "operating_point": f"score 0.5 = out-of-fold FPR <= {target_fpr} on benign training rows",
            "oof_recall_at_operating_point": round(recall, 4),
            "oof_deepset_train_recall_at_operating_point": None if deepset_recall is None else round(deepset_recall, 4),
        },
    )


def notinject_rows(data_dir: Path) -> list[dict[str, object]]:
    rows = load_jsonl(data_dir / "prompt_injection" / "notinject.jsonl")
    return [{"text": str(r["text"]), "label": 0, "source": "notinject", "category": r.get("category")} for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=shared_data_dir())
    parser.add_argument("--out", type=Path, help="default: the shipped head of the current encoder precision")
    parser.add_argument("--target-fpr", type=float, default=0.01)
    parser.add_argument("--no-notinject", action="store_true", help="leave NotInject out of training")
    args = parser.parse_args()
    if args.out is None:  # the packaged head of the current encoder precision
        from airisk.models import packaged_path
        from airisk.models.encoder import get_encoder, matched_head
        from airisk.scanners.prompt_injection import HEAD_ARTIFACT

        args.out = packaged_path(matched_head(HEAD_ARTIFACT, get_encoder().precision))

    rows = training_rows(args.data)
    if not args.no_notinject:
        rows += notinject_rows(args.data)
    started = time.perf_counter()
    x = features([str(r["text"]) for r in rows])
    print(f"encoded {len(rows)} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    head = fit_head(rows, x, args.target_fpr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    head.save(args.out)  # type: ignore[attr-defined]
    from airisk.models import sha256_file

    print(json.dumps({"out": str(args.out), "sha256": sha256_file(args.out), **head.metadata}, indent=2))  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
