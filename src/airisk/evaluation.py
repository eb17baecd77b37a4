"""Measure a scanner or a whole pipeline on a labelled dataset: ``airisk.evaluate(target, dataset)``.

For notebooks and CI: the dataset is a JSONL path, a list of dicts or a pandas DataFrame
with a text column and a 0/1 label column (1 = should be caught). Messages are scanned with
``scan_many`` (batched, so model-based scanners embed many messages per call). A message
counts as caught when the verdict is not ``pass``; the score (the scanner's score, or the
highest scanner score in a pipeline) drives ROC-AUC, recall at fixed false-positive rates
and the threshold sweep. Metrics are plain Python; matplotlib is needed only for ``plot``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airisk.errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    from airisk.pipeline import ScannerPipeline
    from airisk.scanners.base import Scanner

DEFAULT_FPRS = (0.01, 0.05)
DEFAULT_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))


# metrics (pure functions, checked against scikit-learn in the tests) ------------------------


@dataclass(frozen=True)
class Confusion:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.tn + self.fp

    def to_dict(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn}


def confusion(labels: Sequence[int], predicted: Sequence[bool]) -> Confusion:
    tp = fp = tn = fn = 0
    for label, hit in zip(labels, predicted, strict=True):
        if label:
            tp, fn = (tp + 1, fn) if hit else (tp, fn + 1)
        else:
            fp, tn = (fp + 1, tn) if hit else (fp, tn + 1)
    return Confusion(tp, fp, tn, fn)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def classification_metrics(matrix: Confusion) -> dict[str, float | None]:
    """Precision, recall, F1, false-positive rate, accuracy and balanced accuracy (None when undefined)."""
    precision = _ratio(matrix.tp, matrix.tp + matrix.fp)
    recall = _ratio(matrix.tp, matrix.positives)
    specificity = _ratio(matrix.tn, matrix.negatives)
    f1 = None
    if precision is not None and recall is not None:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    balanced = None
    if recall is not None and specificity is not None:
        balanced = (recall + specificity) / 2
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fpr": None if specificity is None else 1 - specificity,
        "accuracy": _ratio(matrix.tp + matrix.tn, matrix.positives + matrix.negatives),
        "balanced_accuracy": balanced,
    }


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged); None with one class."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda item: item[0])
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    rank_sum = 0.0
    index = 0
    while index < len(pairs):
        end = index
        while end + 1 < len(pairs) and pairs[end + 1][0] == pairs[index][0]:
            end += 1
        average_rank = (index + end) / 2 + 1
        rank_sum += average_rank * sum(1 for k in range(index, end + 1) if pairs[k][1])
        index = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def recall_at_fpr(labels: Sequence[int], scores: Sequence[float], fpr: float) -> tuple[float | None, float | None]:
    """Best recall with a false-positive rate at most ``fpr``, and the score threshold giving it.

    A message is caught when its score is at or above the threshold; ties with a negative
    that must stay uncaught are not caught. None when there are no positives or negatives.
    """
    negatives = sorted((s for s, label in zip(scores, labels, strict=True) if not label), reverse=True)
    positives = [s for s, label in zip(scores, labels, strict=True) if label]
    if not negatives or not positives:
        return None, None
    allowed = math.floor(fpr * len(negatives) + 1e-9)
    if allowed >= len(negatives):
        return 1.0, min(min(positives), negatives[-1])
    cutoff = negatives[allowed]
    caught = [s for s in positives if s > cutoff]
    threshold = min(caught) if caught else math.nextafter(cutoff, math.inf)
    return len(caught) / len(positives), threshold


# the evaluation ---------------------------------------------------------------------------


@dataclass
class Evaluation:
    """What ``evaluate`` measured. ``table()`` for people, ``to_dict()`` for machines."""

    target: str
    n: int
    confusion: Confusion
    metrics: dict[str, float | None]
    roc_auc: float | None
    recall_at_fpr: dict[str, float | None]
    thresholds_at_fpr: dict[str, float | None]
    sweep: list[dict[str, float | None]]
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: list[int] = field(default_factory=list, repr=False)
    scores: list[float] = field(default_factory=list, repr=False)
    predicted: list[bool] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "n": self.n,
            "positives": self.confusion.positives,
            "negatives": self.confusion.negatives,
            "confusion": self.confusion.to_dict(),
            **self.metrics,
            "roc_auc": self.roc_auc,
            "recall_at_fpr": self.recall_at_fpr,
            "thresholds_at_fpr": self.thresholds_at_fpr,
            "sweep": self.sweep,
            "slices": self.slices,
        }

    def table(self) -> str:
        def fmt(value: Any) -> str:
            return "—" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))

        m = self.metrics
        c = self.confusion
        lines = [
            f"evaluation of {self.target}: {self.n} messages ({c.positives} positive, {c.negatives} negative)",
            "",
            f"  precision {fmt(m['precision'])}   recall {fmt(m['recall'])}   F1 {fmt(m['f1'])}   "
            f"FPR {fmt(m['fpr'])}   ROC-AUC {fmt(self.roc_auc)}",
            "  " + "   ".join(f"recall@FPR≤{key} {fmt(value)}" for key, value in self.recall_at_fpr.items()),
            f"  confusion: TP {c.tp}  FP {c.fp}  TN {c.tn}  FN {c.fn}",
        ]
        if self.slices:
            width = max(len(name) for name in self.slices)
            lines += ["", f"  {'slice':<{width}}      n  precision  recall     F1    FPR"]
            for name, item in self.slices.items():
                lines.append(
                    f"  {name:<{width}}  {item['n']:>5}  {fmt(item['precision']):>9}  {fmt(item['recall']):>6}  "
                    f"{fmt(item['f1']):>5}  {fmt(item['fpr']):>5}"
                )
        lines += ["", "  threshold  precision  recall     F1    FPR"]
        for row in self.sweep:
            lines.append(
                f"  {row['threshold']:>9.2f}  {fmt(row['precision']):>9}  {fmt(row['recall']):>6}  "
                f"{fmt(row['f1']):>5}  {fmt(row['fpr']):>5}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def plot(self, ax: Any = None) -> Any:
        """ROC curve and the threshold sweep (needs the ``plots`` extra: matplotlib)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise MissingDependencyError("evaluation plots", "plots", "matplotlib") from None
        if ax is None:
            _, axes = plt.subplots(1, 2, figsize=(10, 4))
        else:
            axes = ax if isinstance(ax, (list, tuple)) or hasattr(ax, "__len__") else [ax]
        roc_points = _roc_points(self.labels, self.scores)
        axes[0].plot([p[0] for p in roc_points], [p[1] for p in roc_points], label=f"AUC {self.roc_auc or 0:.3f}")
        axes[0].plot([0, 1], [0, 1], linestyle="--", linewidth=0.8)
        axes[0].set_xlabel("false-positive rate")
        axes[0].set_ylabel("recall")
        axes[0].set_title(f"ROC — {self.target}")
        axes[0].legend(loc="lower right")
        if len(axes) > 1:
            xs = [row["threshold"] for row in self.sweep]
            for key in ("precision", "recall", "fpr"):
                axes[1].plot(xs, [row[key] if row[key] is not None else float("nan") for row in self.sweep], label=key)
            axes[1].set_xlabel("threshold")
            axes[1].legend()
            axes[1].set_title("threshold sweep")
        return axes


def _roc_points(labels: Sequence[int], scores: Sequence[float]) -> list[tuple[float, float]]:
    positives = sum(1 for label in labels if label) or 1
    negatives = (len(labels) - sum(1 for label in labels if label)) or 1
    points = [(0.0, 0.0)]
    tp = fp = 0
    ordered = sorted(zip(scores, labels, strict=True), key=lambda item: -item[0])
    for index, (score, label) in enumerate(ordered):
        tp += 1 if label else 0
        fp += 0 if label else 1
        if index + 1 == len(ordered) or ordered[index + 1][0] != score:
            points.append((fp / negatives, tp / positives))
    return points


def load_rows(dataset: Any) -> list[dict[str, Any]]:
    """Rows from a JSONL path, an iterable of dicts, or a pandas DataFrame."""
    if isinstance(dataset, (str, Path)):
        path = Path(dataset)
        if not path.is_file():
            raise InputError(f"dataset {path} does not exist")
        rows = []
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        return rows
    if hasattr(dataset, "to_dict") and hasattr(dataset, "columns"):
        return list(dataset.to_dict("records"))
    if isinstance(dataset, Iterable):
        rows = list(dataset)
        if not all(isinstance(row, dict) for row in rows):
            raise InputError("dataset rows must be dicts")
        return rows
    raise InputError(f"cannot read a dataset from {type(dataset).__name__}")


def _label(value: Any, index: int, field_name: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in {"0", "1", "true", "false"}:
        return int(value.strip().lower() in {"1", "true"})
    raise InputError(f"row {index}: {field_name!r} must be 0/1 or true/false, got {value!r}")


def _target_name(target: Any) -> str:
    from airisk.scanners.base import Scanner

    if isinstance(target, Scanner):
        return target.name
    return getattr(target, "name", None) or "pipeline"


def _metrics_at(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, float | None]:
    matrix = confusion(labels, [score >= threshold for score in scores])
    chosen = classification_metrics(matrix)
    return {"threshold": threshold, **{k: chosen[k] for k in ("precision", "recall", "f1", "fpr")}}


def evaluate(
    target: Scanner | ScannerPipeline,
    dataset: Any,
    *,
    text_field: str = "text",
    label_field: str = "label",
    slice_field: str | None = None,
    thresholds: Sequence[float] | None = None,
    progress: bool = False,
    direction: str = "input",
    fprs: Sequence[float] = DEFAULT_FPRS,
    batch_size: int = 64,
) -> Evaluation:
    """Scan every row's text with ``target`` and compare with its label.

    ``target`` is a scanner (evaluated alone) or a pipeline (a message is caught when the
    pipeline's verdict is not pass). ``slice_field`` breaks the metrics down by that
    column; ``thresholds`` sets the sweep (default 0.05 … 0.95).
    """
    from airisk.pipeline import ScannerPipeline
    from airisk.scanners.base import Scanner
    from airisk.types import Verdict

    rows = load_rows(dataset)
    if not rows:
        raise InputError("dataset is empty")
    texts: list[str] = []
    labels: list[int] = []
    for index, row in enumerate(rows):
        if text_field not in row or label_field not in row:
            raise InputError(f"row {index} lacks {text_field!r} or {label_field!r}")
        texts.append(str(row[text_field]))
        labels.append(_label(row[label_field], index, label_field))
    if isinstance(target, Scanner):
        pipeline = ScannerPipeline(input=[target], output=[target])
    elif isinstance(target, ScannerPipeline):
        pipeline = target
    else:
        raise InputError(f"evaluate() needs a Scanner or a ScannerPipeline, not {type(target).__name__}")
    reports = pipeline.scan_many(texts, direction, batch_size=batch_size, progress=progress)
    scores = [max((result.score for result in report.results), default=0.0) for report in reports]
    predicted = [report.verdict is not Verdict.PASS for report in reports]
    matrix = confusion(labels, predicted)
    at_fpr = {str(f): recall_at_fpr(labels, scores, f) for f in fprs}
    sweep = [_metrics_at(labels, scores, t) for t in (thresholds or DEFAULT_THRESHOLDS)]
    slices: dict[str, dict[str, Any]] = {}
    if slice_field is not None:
        groups: dict[str, list[int]] = {}
        for index, row in enumerate(rows):
            groups.setdefault(str(row.get(slice_field)), []).append(index)
        for name in sorted(groups):
            members = groups[name]
            sub = confusion([labels[i] for i in members], [predicted[i] for i in members])
            slices[name] = {"n": len(members), **sub.to_dict(), **classification_metrics(sub)}
    return Evaluation(
        target=_target_name(target),
        n=len(rows),
        confusion=matrix,
        metrics=classification_metrics(matrix),
        roc_auc=roc_auc(labels, scores),
        recall_at_fpr={key: value[0] for key, value in at_fpr.items()},
        thresholds_at_fpr={key: value[1] for key, value in at_fpr.items()},
        sweep=sweep,
        slices=slices,
        labels=labels,
        scores=scores,
        predicted=predicted,
    )
