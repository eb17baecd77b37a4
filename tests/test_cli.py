"""The command line: scan from argument, file and stdin; JSON and table output; exit codes."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airisk.cli import main

pytestmark = pytest.mark.usefixtures("test_registry")


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "input:\n  - type: test_keyword\n    keywords: [jailbreak]\n  - type: test_digits\n"
        "output:\n  - type: test_keyword\n    keywords: [oops]\n    action: flag\n"
    )
    return path


def test_scan_argument_exit_codes(policy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--policy", str(policy), "hello there"]) == 0
    assert "verdict: PASS" in capsys.readouterr().out
    assert main(["scan", "--policy", str(policy), "a jailbreak attempt"]) == 5
    assert "test_keyword" in capsys.readouterr().out
    assert main(["scan", "--policy", str(policy), "pin 123456"]) == 4
    assert "sanitised: pin <NUM>" in capsys.readouterr().out
    assert main(["scan", "--policy", str(policy), "--direction", "output", "oops"]) == 3


def test_scan_json_from_file(policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = tmp_path / "message.txt"
    message.write_text("card 98765432")
    assert main(["scan", "--policy", str(policy), "--file", str(message), "--json"]) == 4
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "redact" and report["sanitized_text"] == "card <NUM>"


def test_scan_stdin(policy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"jailbreak from stdin")))
    assert main(["scan", "--policy", str(policy), "--json"]) == 5
    assert json.loads(capsys.readouterr().out)["verdict"] == "block"


def test_bad_input_and_bad_policy_are_clear_errors(
    policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe\x00broken")))
    assert main(["scan", "--policy", str(policy)]) == 2
    assert "not valid UTF-8" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("input:\n  - type: test_digits\n    min_digits: lots\n")
    assert main(["scan", "--policy", str(bad), "x"]) == 2
    assert "input[0].min_digits" in capsys.readouterr().err
    assert main(["scan", "--policy", "no-such-policy", "x"]) == 2
    assert "built-in" in capsys.readouterr().err


def test_chat_reads_stdin_and_streams(
    policy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("hello 1234567\nplease jailbreak\n"))
    assert main(["chat", "--policy", str(policy), "--show-reports"]) == 0
    out = capsys.readouterr().out
    assert "You said: hello <NUM>" in out
    assert "Sorry" in out and "verdict: BLOCK" in out


def test_module_entry_point_help() -> None:
    result = subprocess.run([sys.executable, "-m", "airisk", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("scan", "chat", "demo"):
        assert command in result.stdout


@pytest.mark.parametrize("option", ["--file", "--attach"])
def test_a_missing_file_is_a_clear_error_not_a_traceback(
    option: str, policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.txt"
    args = ["scan", "--policy", str(policy), option, str(missing)] + (["hi"] if option == "--attach" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("airisk: error:") and "nowhere.txt" in err


def test_demo_shows_every_guard(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first command: each scripted turn ends the way the demo says it does."""
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    statuses = re.findall(r"^ {10}\[(\w+)\]", out, flags=re.MULTILINE)
    assert statuses == ["BLOCKED", "REDACTED", "PASSED", "STREAMED", "BLOCKED"]
    assert "4111 1111" not in out.split("agent  >", 2)[2].split("\n")[0]  # the engine got the placeholder
    assert "sk-proj-" not in out.split("Which API key")[1].split("\n")[1]
    assert "tool result/prompt_injection: block" in out and "engine calls: 1" in out
