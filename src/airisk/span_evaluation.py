"""Precision, recall and F1 per entity for span detectors, on span-labelled JSONL.

Each row is ``{"text": ..., "spans": [{"type": "PERSON", "start": 0, "end": 5}, ...]}``
(extra fields are ignored). Gold types and predicted kinds both pass through
``entity_map`` (by default ``GPE``/``location`` → ``LOCATION``, ``person`` → ``PERSON``,
``DOMAIN_NAME`` → ``URL``…), so datasets and detectors can name things differently.

Three ways to match, chosen with ``matching``:

* ``overlap`` (default): a predicted span is a true positive when it overlaps, by at least
  one character, a gold span of the same entity that no other prediction has claimed
  (one-to-one, largest overlap first). Unclaimed predictions are false positives,
  unclaimed gold spans false negatives. Forgives boundary disagreements ("Mr Smith" vs
  "Smith"), which is what matters for redaction.
* ``exact``: as above, but start and end must both be equal.
* ``token``: every whitespace-separated token is labelled with the entity of the gold
  span (or prediction) covering any of its characters; counts are per token, as in
  presidio-research.

Micro averages pool the counts of every entity row (also rows with no gold spans, so
false positives of a kind the data never labels still cost precision); macro averages
are the mean over entities with at least one gold span.

Run ``python -m airisk.span_evaluation DATA.jsonl --nlp-engine pattern`` for a table.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from airisk.errors import InputError

if TYPE_CHECKING:
    from airisk.pipeline import ScannerPipeline
    from airisk.scanners.base import Scanner
    from airisk.types import Finding

Matching = Literal["overlap", "exact", "token"]

DEFAULT_ENTITY_MAP: dict[str, str] = {
    "GPE": "LOCATION",
    "location": "LOCATION",
    "person": "PERSON",
    "corporation": "ORGANIZATION",
    "group": "ORGANIZATION",
    "DOMAIN_NAME": "URL",
}

_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Span:
    entity: str
    start: int
    end: int


@dataclass
class EntityScore:
    """Counts and scores for one entity."""

    entity: str
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def support(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "support": self.support,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass
class SpanEvaluation:
    """Per-entity and averaged precision/recall/F1 of one detector on one dataset."""

    matching: str
    rows: int
    per_entity: dict[str, EntityScore] = field(default_factory=dict)
    elapsed_s: float = 0.0
    realigned_rows: int = 0

    @property
    def micro(self) -> EntityScore:
        total = EntityScore("micro")
        for score in self.per_entity.values():
            total.true_positives += score.true_positives
            total.false_positives += score.false_positives
            total.false_negatives += score.false_negatives
        return total

    @property
    def macro(self) -> dict[str, float]:
        supported = [s for s in self.per_entity.values() if s.support]
        if not supported:
            return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
        return {
            metric: round(sum(getattr(s, metric) for s in supported) / len(supported), 4)
            for metric in ("precision", "recall", "f1")
        }

    def to_dict(self) -> dict[str, Any]:
        micro = self.micro.to_dict()
        micro.pop("entity")
        return {
            "matching": self.matching,
            "rows": self.rows,
            "elapsed_s": round(self.elapsed_s, 3),
            "per_entity": {name: score.to_dict() for name, score in sorted(self.per_entity.items())},
            "micro": micro,
            "macro": self.macro,
        }

    def table(self) -> str:
        """A Markdown table: one row per entity, then micro and macro averages."""
        lines = [
            "| entity | support | TP | FP | FN | precision | recall | F1 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, s in sorted(self.per_entity.items(), key=lambda item: (-item[1].support, item[0])):
            lines.append(
                f"| {name} | {s.support} | {s.true_positives} | {s.false_positives} | {s.false_negatives} "
                f"| {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} |"
            )
        m = self.micro
        lines.append(
            f"| **micro** | {m.support} | {m.true_positives} | {m.false_positives} | {m.false_negatives} "
            f"| {m.precision:.3f} | {m.recall:.3f} | {m.f1:.3f} |"
        )
        macro = self.macro
        lines.append(f"| **macro** | | | | | {macro['precision']:.3f} | {macro['recall']:.3f} | {macro['f1']:.3f} |")
        return "\n".join(lines)


# reading rows ------------------------------------------------------------------------


def load_rows(source: Iterable[Mapping[str, Any]] | str | Path, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows from a JSONL path or an iterable of dicts, checked: bad rows are clear errors."""
    rows: list[dict[str, Any]] = []
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"no such dataset file: {path}")
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{number}: not JSON ({exc.msg})") from None
                rows.append(_checked(row, f"{path}:{number}"))
                if limit is not None and len(rows) >= limit:
                    break
    else:
        for number, row in enumerate(source, 1):
            rows.append(_checked(dict(row), f"row {number}"))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def _checked(row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise InputError(f"{where}: a row needs a string `text`")
    spans = row.get("spans")
    if not isinstance(spans, list):
        raise InputError(f"{where}: a span-labelled row needs a `spans` list")
    text = row["text"]
    for span in spans:
        if not isinstance(span, dict) or not {"type", "start", "end"} <= span.keys():
            raise InputError(f"{where}: each span needs type, start and end")
        start, end = span["start"], span["end"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text)):
            raise InputError(f"{where}: span {start}-{end} is outside the text ({len(text)} characters)")
        if "value" in span and text[start:end] != span["value"]:
            raise InputError(f"{where}: span {start}-{end} does not match its value")
    return row


# matching ----------------------------------------------------------------------------


def _score_overlap(gold: list[Span], predicted: list[Span], exact: bool, scores: dict[str, EntityScore]) -> None:
    pairs = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(predicted):
            if g.entity != p.entity:
                continue
            if exact:
                if (g.start, g.end) == (p.start, p.end):
                    pairs.append((g.end - g.start, gi, pi))
            else:
                overlap = min(g.end, p.end) - max(g.start, p.start)
                if overlap > 0:
                    pairs.append((overlap, gi, pi))
    gold_used: set[int] = set()
    pred_used: set[int] = set()
    for _, gi, pi in sorted(pairs, key=lambda item: (-item[0], item[1], item[2])):
        if gi in gold_used or pi in pred_used:
            continue
        gold_used.add(gi)
        pred_used.add(pi)
        scores.setdefault(gold[gi].entity, EntityScore(gold[gi].entity)).true_positives += 1
    for gi, g in enumerate(gold):
        if gi not in gold_used:
            scores.setdefault(g.entity, EntityScore(g.entity)).false_negatives += 1
    for pi, p in enumerate(predicted):
        if pi not in pred_used:
            scores.setdefault(p.entity, EntityScore(p.entity)).false_positives += 1


def _token_labels(text: str, spans: list[Span]) -> list[str | None]:
    labels: list[str | None] = []
    for match in _TOKEN.finditer(text):
        label = None
        for span in spans:
            if span.start < match.end() and match.start() < span.end:
                label = span.entity
                break
        labels.append(label)
    return labels


def _score_tokens(text: str, gold: list[Span], predicted: list[Span], scores: dict[str, EntityScore]) -> None:
    for truth, guess in zip(_token_labels(text, gold), _token_labels(text, predicted), strict=True):
        if truth is not None and truth == guess:
            scores.setdefault(truth, EntityScore(truth)).true_positives += 1
            continue
        if truth is not None:
            scores.setdefault(truth, EntityScore(truth)).false_negatives += 1
        if guess is not None:
            scores.setdefault(guess, EntityScore(guess)).false_positives += 1


def _realign(findings: list[Finding], scanned: str, original: str) -> list[Finding]:
    """Map spans from the pipeline's normalised text back onto the original text."""
    mapping = [0] * (len(scanned) + 1)
    for tag, a0, a1, b0, b1 in SequenceMatcher(None, scanned, original, autojunk=False).get_opcodes():
        for offset in range(a0, a1 + 1):
            mapping[offset] = b0 + min(offset - a0, b1 - b0) if tag == "equal" else (b0 if offset == a0 else b1)
    return [
        f.model_copy(update={"start": mapping[f.start], "end": max(mapping[f.start], mapping[f.end])}) for f in findings
    ]


# running -----------------------------------------------------------------------------


def _predict(
    target: Scanner | ScannerPipeline, texts: list[str], progress: bool, batch_size: int
) -> tuple[list[list[Finding]], int]:
    from airisk.pipeline import ScannerPipeline
    from airisk.types import ScanContext

    if isinstance(target, ScannerPipeline):
        reports = target.scan_many(texts, "input", batch_size=batch_size, progress=progress)
        by_name = {s.name: s for s in target.input}
        out: list[list[Finding]] = []
        realigned = 0
        for text, report in zip(texts, reports, strict=True):
            found: list[Finding] = []
            for result in report.results:
                scanner = by_name.get(result.scanner)
                found.extend(f for f in result.findings if scanner is None or f.score >= _threshold(scanner, f))
            if report.text != text:
                found = _realign(found, report.text, text)
                realigned += 1
            out.append(found)
        return out, realigned
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), unit="row", desc=f"evaluating {target.name}")
    results: list[list[Finding]] = []
    try:
        for offset in range(0, len(texts), batch_size):
            chunk = texts[offset : offset + batch_size]
            batch = target.scan_batch(chunk, [ScanContext() for _ in chunk])
            results.extend([f for f in r.findings if f.score >= _threshold(target, f)] for r in batch)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    return results, 0


def _threshold(scanner: Scanner, finding: Finding) -> float:
    per_kind = getattr(scanner, "threshold_for", None)
    return float(per_kind(finding.kind)) if callable(per_kind) else scanner.config.threshold


def evaluate_spans(
    target: Scanner | ScannerPipeline,
    rows: Iterable[Mapping[str, Any]] | str | Path,
    *,
    entity_map: Mapping[str, str] | None = None,
    entities: Sequence[str] | None = None,
    matching: Matching = "overlap",
    limit: int | None = None,
    progress: bool = False,
    batch_size: int = 64,
) -> SpanEvaluation:
    """Score a span detector (a scanner or a pipeline's input side) against labelled rows.

    ``entities`` restricts the evaluation to those (mapped) entity names, on both sides;
    by default every entity seen in the gold data or the predictions is scored.
    """
    if matching not in ("overlap", "exact", "token"):
        raise InputError(f"matching must be overlap, exact or token, not {matching!r}")
    names = dict(DEFAULT_ENTITY_MAP if entity_map is None else entity_map)
    wanted = {names.get(e, e) for e in entities} if entities else None
    data = load_rows(rows, limit=limit)
    started = time.perf_counter()
    texts = [row["text"] for row in data]
    predictions, realigned = _predict(target, texts, progress, batch_size)
    scores: dict[str, EntityScore] = {}

    def keep(spans: Iterable[Span]) -> list[Span]:
        return [s for s in spans if wanted is None or s.entity in wanted]

    for row, found in zip(data, predictions, strict=True):
        gold = keep(Span(names.get(s["type"], s["type"]), s["start"], s["end"]) for s in row["spans"])
        guessed = keep(Span(names.get(f.kind, f.kind), f.start, f.end) for f in found if f.end > f.start)
        if matching == "token":
            _score_tokens(row["text"], gold, guessed, scores)
        else:
            _score_overlap(gold, guessed, matching == "exact", scores)
    return SpanEvaluation(
        matching=matching,
        rows=len(data),
        per_entity=scores,
        elapsed_s=time.perf_counter() - started,
        realigned_rows=realigned,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airisk.span_evaluation",
        description="Per-entity precision/recall/F1 of the personal_information scanner on span-labelled JSONL.",
    )
    parser.add_argument("data", help="JSONL file with text and spans")
    parser.add_argument("--nlp-engine", choices=["pattern", "spacy"], default="pattern")
    parser.add_argument("--spacy-model", default=None, help="installed spaCy model package (with --nlp-engine spacy)")
    parser.add_argument("--entities", nargs="+", default=None, help="entity names to detect and score")
    parser.add_argument("--threshold", type=float, default=None, help="score threshold for every entity")
    parser.add_argument("--matching", choices=["overlap", "exact", "token"], default="overlap")
    parser.add_argument("--split", default=None, help="only rows whose `split` field equals this")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from airisk.scanners.personal_information import PersonalInformation

    names = DEFAULT_ENTITY_MAP
    settings: dict[str, Any] = {"nlp_engine": args.nlp_engine, "action": "flag"}
    if args.spacy_model:
        settings["spacy_model"] = args.spacy_model
    if args.entities:
        settings["entities"] = sorted({names.get(e, e) for e in args.entities})
    if args.threshold is not None:
        settings["threshold"] = args.threshold
    scanner = PersonalInformation(**settings)
    rows: Iterable[Mapping[str, Any]] | str = args.data
    if args.split:
        rows = [row for row in load_rows(args.data) if row.get("split") == args.split]
    evaluation = evaluate_spans(
        scanner,
        rows,
        entities=args.entities,
        matching=args.matching,
        limit=args.limit,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    if args.json:
        print(json.dumps(evaluation.to_dict(), indent=2))
    else:
        print(f"{evaluation.rows} rows, matching={evaluation.matching}, {evaluation.elapsed_s:.1f} s")
        print(evaluation.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
