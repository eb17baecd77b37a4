"""Calibrate and evaluate the Topics scanner on CLINC150 with each domain held out as banned.

For every one of the 10 CLINC150 domains: that domain is the banned topic, described by at most
10 example sentences taken from the *train* split (one per intent, seed 0) and optionally a
one-line description naming its intents; in the contrastive setting the other 9 domains are
allowed topics built the same way. Messages are the *val* split (3,000 in-domain + 100
out-of-scope queries); positives are the banned domain's val queries.

    PYTHONPATH=src python training/topics_clinc.py tune       # the rule's constants on the train split
    PYTHONPATH=src python training/topics_clinc.py evaluate   # F1 per held-out domain on the val split
    PYTHONPATH=src python training/topics_clinc.py off-topic  # flag_off_topic: out-of-scope val queries
    PYTHONPATH=src python training/topics_clinc.py export     # policy + JSONL per domain for `airisk evaluate`

`tune` never reads val: it scores every train query (minus the example sentences) and picks the
spread rule's slope and offset (SPREAD_*, CONTRASTIVE_*, and ALLOWED_* for the off-topic check)
for the nearest/keyword weights it sweeps; the module constants in airisk/scanners/topics.py are the best mean train F1.
`evaluate` uses the Topics scanner itself (scan_batch), with each message's embedding computed
once and shared through ctx.shared exactly as in a pipeline run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from embedding_cache import embed  # noqa: E402

from airisk.models.encoder import CHUNKS_KEY, EMBEDDING_KEY  # noqa: E402
from airisk.scanners.topics import Topic, Topics, _Keywords, _Prototypes  # noqa: E402
from airisk.types import ScanContext, Verdict  # noqa: E402

EXAMPLES_PER_TOPIC = 10
SETTINGS = ("examples", "examples+description", "examples+allowed", "examples+description+allowed")


def shared_data() -> Path:
    configured = os.environ.get("AIRISK_SHARED_DATA")
    candidates = [Path(configured)] if configured else []
    candidates += [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def load() -> list[dict]:
    path = shared_data() / "topics" / "clinc150_trainval.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def topics_for(rows: list[dict], *, description: bool) -> dict[str, Topic]:
    """Per domain: one train example from each of 10 intents (seed 0), and optionally its intents as a description."""
    rng = np.random.default_rng(0)
    topics = {}
    for domain in sorted({r["domain"] for r in rows} - {"out_of_scope"}):
        train = [r for r in rows if r["domain"] == domain and r["split"] == "train"]
        intents = sorted({r["intent"] for r in train})
        rng.shuffle(intents)
        examples = []
        for intent in intents[:EXAMPLES_PER_TOPIC]:
            candidates = [r["text"] for r in train if r["intent"] == intent]
            examples.append(candidates[int(rng.integers(len(candidates)))])
        text = ", ".join(sorted(intent.replace("_", " ") for intent in intents)) if description else ""
        topics[domain] = Topic(name=domain.replace("_", " "), description=text, examples=examples)
    return topics


def f1(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    tp = float((truth & predicted).sum())
    fp = float((~truth & predicted).sum())
    fn = float((truth & ~predicted).sum())
    precision = tp / max(1.0, tp + fp)
    recall = tp / max(1.0, tp + fn)
    return 2 * tp / max(1.0, 2 * tp + fp + fn), precision, recall


def tune(rows: list[dict]) -> None:
    """The rule's constants, chosen on the train split (never val): messages are every train query
    (minus the sentences used as examples) and the out-of-scope train queries."""
    import airisk.scanners.topics as module

    topics_by_setting = {setting: topics_for(rows, description="description" in setting) for setting in SETTINGS}
    example_texts = {t for topics in topics_by_setting.values() for topic in topics.values() for t in topic.examples}
    sample = [r for r in rows if r["split"] in ("train", "oos_train") and r["text"] not in example_texts]
    texts = [r["text"] for r in sample]
    embeddings = embed(texts)
    domains = np.array([r["domain"] for r in sample])
    grid = np.round(np.arange(-0.2, 0.8, 0.01), 2)

    def mean_f1(scores: np.ndarray, names: list[str], thresholds: np.ndarray) -> float:
        return float(np.mean([f1(domains == n, scores[:, i] >= thresholds[i])[0] for i, n in enumerate(names)]))

    def scores_for(setting: str) -> tuple[np.ndarray, list[str], np.ndarray]:
        topics = topics_by_setting[setting]
        prototypes = _Prototypes(list(topics.values()), augment="allowed" in setting)
        sims, _ = prototypes.similarities(embeddings)
        spreads = np.array([np.nan if s is None else s for s in prototypes.spreads])  # CLINC topics all have one
        if "allowed" in setting:
            sims = sims + module.KEYWORD_WEIGHT * _Keywords(list(topics.values())).scores(texts)
            contrast = np.empty_like(sims)
            for index in range(sims.shape[1]):
                others = np.delete(sims, index, axis=1).max(axis=1)
                contrast[:, index] = np.where(sims[:, index] > others, sims[:, index], sims[:, index] - 1.0)
            sims = contrast
        return sims, list(topics), spreads

    def best_rule(settings: list[str]) -> tuple[float, float, float]:
        """(mean train F1, slope, offset) of the best threshold = slope * spread + offset over these settings."""
        scored = [scores_for(setting) for setting in settings]
        return max(
            (float(np.mean([mean_f1(s, n, slope * spread + offset) for s, n, spread in scored])), slope, offset)
            for slope in (0.0, 0.2, 0.4, 0.6, 0.8)
            for offset in grid
        )

    print("threshold = slope * spread + offset, one rule for examples and examples+description")
    oos = domains == "out_of_scope"
    scored_allowed = []
    for setting in ("examples", "examples+description"):
        prototypes = _Prototypes(list(topics_by_setting[setting].values()))
        sims, _ = prototypes.similarities(embeddings)
        scored_allowed.append((sims, np.array([np.nan if s is None else s for s in prototypes.spreads])))
    print(
        "  allowed topics, off-topic check (positives: out-of-scope train queries):"
        "  slope {1:.1f} offset {2:.2f}  mean train F1 {0:.3f}".format(
            *max(
                (
                    float(np.mean([f1(oos, ~(sims >= slope * spread + offset).any(axis=1))[0]
                                   for sims, spread in scored_allowed])),
                    slope,
                    offset,
                )
                for slope in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
                for offset in np.round(np.arange(-0.4, 0.5, 0.01), 2)
            )
        )
    )
    print(
        "  on their own:  slope {1:.1f} offset {2:.2f}  mean train F1 {0:.3f}".format(
            *best_rule([s for s in SETTINGS if "allowed" not in s])
        )
    )
    for nearest_weight in (0.5, 0.7, 1.0):
        for keyword_weight in (0.0, 0.02, 0.03):
            module.NEAREST_WEIGHT, module.KEYWORD_WEIGHT = nearest_weight, keyword_weight
            print(
                f"  with allowed, nearest weight {nearest_weight:.1f}, keyword weight {keyword_weight:.2f}:"
                " slope {1:.1f} offset {2:.2f}  mean train F1 {0:.3f}".format(
                    *best_rule([s for s in SETTINGS if "allowed" in s])
                )
            )


def embedded_contexts(embeddings: np.ndarray) -> list[ScanContext]:
    """One context per message holding its embedding, as a pipeline run would have shared it."""
    contexts = []
    for vector in embeddings:
        ctx = ScanContext()
        ctx.shared.put(CHUNKS_KEY, vector[None, :])
        ctx.shared.put(EMBEDDING_KEY, vector)
        contexts.append(ctx)
    return contexts


def evaluate(rows: list[dict], out: Path | None) -> dict[str, dict[str, float]]:
    val = [r for r in rows if r["split"] in ("val", "oos_val")]
    texts = [r["text"] for r in val]
    embeddings = embed(texts)
    report: dict[str, dict[str, float]] = {}
    for setting in SETTINGS:
        topics = topics_for(rows, description="description" in setting)
        per_domain = []
        for domain, topic in topics.items():
            allowed = [t for d, t in topics.items() if d != domain] if "allowed" in setting else []
            scanner = Topics(banned=[topic], allowed=allowed, flag_off_topic=False)
            results = scanner.scan_batch(texts, embedded_contexts(embeddings))
            predicted = np.array([result.verdict is Verdict.BLOCK for result in results])
            truth = np.array([r["domain"] == domain for r in val])
            per_domain.append((domain, *f1(truth, predicted)))
        f1s = [row[1] for row in per_domain]
        report[setting] = {
            "mean_f1": round(float(np.mean(f1s)), 4),
            "min_f1": round(float(np.min(f1s)), 4),
            "mean_precision": round(float(np.mean([row[2] for row in per_domain])), 4),
            "mean_recall": round(float(np.mean([row[3] for row in per_domain])), 4),
        } | {f"f1_{row[0]}": round(row[1], 4) for row in per_domain}
        print(f"{setting:32s} " + json.dumps(report[setting]))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def evaluate_off_topic(rows: list[dict]) -> dict[str, float]:
    """``flag_off_topic``: all 10 domains allowed (10 train examples + description each), no
    banned topic; positives are the 100 out-of-scope val queries, negatives the 3,000 in-scope."""
    val = [r for r in rows if r["split"] in ("val", "oos_val")]
    texts = [r["text"] for r in val]
    embeddings = embed(texts)
    scanner = Topics(allowed=list(topics_for(rows, description=True).values()), flag_off_topic=True)
    results = scanner.scan_batch(texts, embedded_contexts(embeddings))
    predicted = np.array([result.verdict is Verdict.BLOCK for result in results])
    truth = np.array([r["domain"] == "out_of_scope" for r in val])
    f1_value, precision, recall = f1(truth, predicted)
    scores = np.array([result.score for result in results])
    from airisk.evaluation import roc_auc

    report = {
        "f1": round(f1_value, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "in_scope_flagged": round(float(predicted[~truth].mean()), 4),
        "roc_auc": round(float(roc_auc(truth.astype(int).tolist(), scores.tolist()) or 0.0), 4),
    }
    print(f"{'off-topic (all 10 domains allowed)':32s} " + json.dumps(report))
    return report


def export(rows: list[dict], directory: Path) -> None:
    """Per domain, a policy file (banned = that domain, allowed = the others) and the labelled val split."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    topics = topics_for(rows, description=True)
    val = [r for r in rows if r["split"] in ("val", "oos_val")]
    for domain, topic in topics.items():
        allowed = [t.model_dump(exclude_defaults=True) for d, t in topics.items() if d != domain]
        policy = {
            "version": 1,
            "input": [
                {
                    "type": "topics",
                    "banned": [topic.model_dump(exclude_defaults=True)],
                    "allowed": allowed,
                    "flag_off_topic": False,
                }
            ],
        }
        (directory / f"{domain}.yaml").write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
        with (directory / f"clinc_val_{domain}.jsonl").open("w", encoding="utf-8") as handle:
            for row in val:
                label = int(row["domain"] == domain)
                handle.write(json.dumps({"text": row["text"], "label": label, "domain": row["domain"]}) + "\n")
    print(f"wrote {len(topics)} policies and datasets to {directory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["tune", "evaluate", "off-topic", "export"])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "eval" / "topics_clinc.json")
    args = parser.parse_args()
    rows = load()
    if args.action == "tune":
        tune(rows)
    elif args.action == "off-topic":
        evaluate_off_topic(rows)
    elif args.action == "export":
        export(rows, ROOT / "build" / "eval" / "topics")
    else:
        evaluate(rows, args.out)


if __name__ == "__main__":
    main()
