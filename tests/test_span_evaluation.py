"""Span evaluation: matching rules, averages, entity mapping, pipelines and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airisk.errors import InputError
from airisk.pipeline import ScannerPipeline
from airisk.span_evaluation import EntityScore, evaluate_spans, load_rows, main

pytest.importorskip("presidio_analyzer")

from airisk.scanners.personal_information import PersonalInformation

TEXT = "write to alice@example.com or bob@example.org from 81.2.69.142"
ROWS = [
    {
        "text": TEXT,
        "spans": [
            {"type": "EMAIL_ADDRESS", "start": 9, "end": 26, "value": "alice@example.com"},
            {"type": "PERSON", "start": 30, "end": 33, "value": "bob"},  # a detector without NER misses it
        ],
    },
    {"text": "nothing to see", "spans": []},
]


@pytest.fixture(scope="module")
def scanner() -> PersonalInformation:
    return PersonalInformation(action="flag")


def test_overlap_matching_counts(scanner: PersonalInformation) -> None:
    result = evaluate_spans(scanner, ROWS)
    email = result.per_entity["EMAIL_ADDRESS"]
    # alice matched; bob@example.org is not labelled as an e-mail in the gold data
    assert (email.true_positives, email.false_positives, email.false_negatives) == (1, 1, 0)
    assert result.per_entity["PERSON"].false_negatives == 1
    assert result.per_entity["IP_ADDRESS"].false_positives == 1
    micro = result.micro
    assert (micro.true_positives, micro.false_positives, micro.false_negatives) == (1, 2, 1)
    assert result.macro == {"precision": 0.25, "recall": 0.5, "f1": 0.3333}
    assert result.rows == 2


def test_exact_matching_needs_identical_boundaries(scanner: PersonalInformation) -> None:
    rows = [{"text": TEXT, "spans": [{"type": "EMAIL_ADDRESS", "start": 9, "end": 20}]}]
    assert evaluate_spans(scanner, rows, matching="overlap", entities=["EMAIL_ADDRESS"]).micro.true_positives == 1
    exact = evaluate_spans(scanner, rows, matching="exact", entities=["EMAIL_ADDRESS"]).per_entity["EMAIL_ADDRESS"]
    assert (exact.true_positives, exact.false_positives, exact.false_negatives) == (0, 2, 1)


def test_token_matching_counts_tokens(scanner: PersonalInformation) -> None:
    rows = [{"text": "ip 81.2.69.142 here", "spans": [{"type": "IP_ADDRESS", "start": 0, "end": 14}]}]
    score = evaluate_spans(scanner, rows, matching="token").per_entity["IP_ADDRESS"]
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 0, 1)


def test_entity_map_and_entity_filter(scanner: PersonalInformation) -> None:
    rows = [{"text": "from 81.2.69.142", "spans": [{"type": "ip", "start": 5, "end": 16}]}]
    mapped = evaluate_spans(scanner, rows, entity_map={"ip": "IP_ADDRESS"})
    assert mapped.per_entity["IP_ADDRESS"].true_positives == 1
    filtered = evaluate_spans(scanner, ROWS, entities=["EMAIL_ADDRESS"])
    assert set(filtered.per_entity) == {"EMAIL_ADDRESS"}


def test_pipeline_target_realigns_normalised_text() -> None:
    text = "x\u200b\u200b mail alice@example.com"
    start = text.index("alice")
    rows = [{"text": text, "spans": [{"type": "EMAIL_ADDRESS", "start": start, "end": start + 17}]}]
    pipeline = ScannerPipeline(input=[PersonalInformation(action="flag")])
    result = evaluate_spans(pipeline, rows, matching="exact")
    assert result.realigned_rows == 1
    assert result.per_entity["EMAIL_ADDRESS"].true_positives == 1


def test_scores_and_reports() -> None:
    score = EntityScore("X", true_positives=3, false_positives=1, false_negatives=2)
    assert score.precision == 0.75 and score.recall == 0.6 and round(score.f1, 4) == 0.6667
    assert EntityScore("Y").f1 == 0.0


def test_table_and_dict(scanner: PersonalInformation) -> None:
    result = evaluate_spans(scanner, ROWS)
    table = result.table()
    assert table.splitlines()[0].startswith("| entity | support")
    assert "| EMAIL_ADDRESS | 1 | 1 | 1 | 0 | 0.500 | 1.000 | 0.667 |" in table
    data = result.to_dict()
    assert data["micro"]["true_positives"] == 1 and data["per_entity"]["PERSON"]["recall"] == 0.0
    json.dumps(data)


@pytest.mark.parametrize(
    "bad",
    [
        {"spans": []},
        {"text": "abc"},
        {"text": "abc", "spans": [{"type": "X", "start": 2, "end": 9}]},
        {"text": "abc", "spans": [{"type": "X", "start": 0, "end": 1, "value": "b"}]},
        {"text": "abc", "spans": [{"start": 0, "end": 1}]},
    ],
)
def test_bad_rows_are_clear_errors(bad: dict) -> None:
    with pytest.raises(InputError):
        load_rows([bad])


def test_files_limits_and_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in ROWS * 3) + "\n", encoding="utf-8")
    assert len(load_rows(path, limit=4)) == 4
    with pytest.raises(InputError, match="no such dataset"):
        load_rows(tmp_path / "missing.jsonl")
    (tmp_path / "broken.jsonl").write_text('{"text": "a", "spans": []}\nnot json\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.jsonl:2"):
        load_rows(tmp_path / "broken.jsonl")
    assert main([str(path), "--limit", "2", "--entities", "EMAIL_ADDRESS", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 rows, matching=overlap") and "| EMAIL_ADDRESS | 1 | 1 | 1 | 0 |" in out
    assert main([str(path), "--json", "--matching", "exact", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"] == 6 and data["matching"] == "exact"


def test_progress_bar_is_shown_when_asked(scanner: PersonalInformation, capsys: pytest.CaptureFixture[str]) -> None:
    evaluate_spans(scanner, ROWS, progress=True)
    assert "evaluating personal_information" in capsys.readouterr().err
    pipeline = ScannerPipeline(input=[scanner])
    evaluate_spans(pipeline, ROWS, progress=True)
    assert "scanning" in capsys.readouterr().err
