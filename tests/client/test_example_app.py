"""The example application, run end to end exactly as examples/README.md says (a real `airisk serve`)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "examples" / "README.md"

needs_regex = pytest.mark.skipif(
    importlib.util.find_spec("airisk.scanners.regex") is None,
    reason="the example policy uses the regex scanner, which is not in this tree yet",
)


def _block_after(heading: str, language: str) -> str:
    text = README.read_text()
    section = text[text.index(heading) :]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block after {heading!r}"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(tmp_path: Path) -> dict[str, str]:
    """PATH with `python` and `airisk` meaning this interpreter and this source tree."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shims = {"python": f'exec "{sys.executable}" "$@"', "airisk": f'exec "{sys.executable}" -m airisk "$@"'}
    for name, command in shims.items():
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\n{command}\n")
        shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRISK_")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
        PORT=str(_free_port()),
        HF_HUB_OFFLINE="1",
    )
    return env


@needs_regex
def test_example_application_runs_from_its_readme(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    script = "set -euo pipefail\n" + _block_after("## Run it", "bash")
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=_environment(tmp_path), capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "agents you may use:" in out and re.search(r"helpdesk\s+agt_\w+\s+engine=echo", out)
    assert "bot> You said: Hello! What can you help me with?" in out
    assert re.search(r"- regex: credit_card at \d+-\d+ \(score [\d.]+, redact\)", out)
    answer = out.split("you> My card is 4111 1111 1111 1111")[1].split("you>")[0]
    assert "bot> You said: My card is <credit_card>, why was it declined?" in answer
    assert "4111 1111 1111 1111" not in answer
    assert re.search(r"- regex: project_code at \d+-\d+ \(score [\d.]+, block\) 'ACME-123456'", out)
    assert "blocked by the input scanners" in out
    assert "client_secret" not in done.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("airisk.evaluation") is None or importlib.util.find_spec("airisk.scanners.regex") is None,
    reason="airisk.evaluate and the regex scanner are merged from other branches",
)
def test_policy_evaluation_script_runs(tmp_path: Path) -> None:
    command = _block_after("## Evaluate a policy", "bash").strip()
    done = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=_environment(tmp_path), capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "17 rows, 8 to catch" in done.stdout
    assert "precision" in done.stdout and "recall" in done.stdout
    assert "project_code" in done.stdout  # the per-slice table
    assert "missed: 'Card 4111.1111.1111.1111 was refused'" in done.stdout


def test_example_browser_sign_in_then_silent_reuse(
    deployment: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The --browser path: the 'browser' submits the sign-in form and follows the redirect to the
    example's loopback callback; the second run reuses the saved token without a browser."""
    import threading
    import webbrowser

    import httpx

    from airisk.oauth.registry import create_client

    port = _free_port()
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    registered = create_client(deployment.ws, deployment.root, company_id=deployment.company_id,
                               redirect_uris=[redirect_uri], name="example-browser")
    for key, value in (("AIRISK_BASE_URL", deployment.url), ("AIRISK_CLIENT_ID", registered.client_id),
                       ("AIRISK_CLIENT_SECRET", registered.client_secret)):
        monkeypatch.setenv(key, value)

    def person_signs_in(url: str) -> bool:
        def act() -> None:
            with httpx.Client(follow_redirects=True) as browser:
                browser.get(url)
                browser.post(url, data={"userid": "alice", "user_token": deployment.user_tokens["alice"],
                                        "decision": "allow"})

        threading.Thread(target=act, daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open", person_signs_in)
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import remote_chat

    token_file = tmp_path / "tokens.json"
    argv = ["--browser", "--redirect-uri", redirect_uri, "--token-file", str(token_file), "hello from alice"]
    assert remote_chat.main(argv) == 0
    first = capsys.readouterr().out
    assert "Open this page to sign in" in first and "bot> You said: hello from alice" in first
    saved = json.loads(token_file.read_text())
    assert saved["grant"] == "authorization_code" and saved["refresh_token"]
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"

    monkeypatch.setattr(webbrowser, "open", lambda url: pytest.fail("no second sign-in expected"))
    assert remote_chat.main(["--browser", "--token-file", str(token_file), "forbidden again"]) == 0
    second = capsys.readouterr().out
    assert "Open this page" not in second and "blocked by the input scanners" in second
    conversations = deployment.ws.as_actor(deployment.users["alice"].id).conversations.list()
    assert len(conversations.data) == 2  # both runs acted as alice
