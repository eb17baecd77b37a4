"""The example application: sign in to an airisk deployment, pick an agent, chat, show findings.

    python examples/remote_chat.py                      # generic token (client credentials)
    python examples/remote_chat.py --userid alice       # a token for one person of your app
    python examples/remote_chat.py --browser            # that person signs in (code + PKCE)
    python examples/remote_chat.py "My card is 4111 1111 1111 1111"

Settings come from AIRISK_BASE_URL, AIRISK_CLIENT_ID and AIRISK_CLIENT_SECRET. See
examples/README.md for a walk through the code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airisk.client import Client, RemoteConversation
from airisk.errors import AiriskError
from airisk.oauth import OAuth2Client
from airisk.types import Reply, ScanReport

SCRIPT = [
    "Hello! What can you help me with?",
    "My card is 4111 1111 1111 1111, why was it declined?",
    "What is the status of project ACME-123456?",
]


# 1. signing in ------------------------------------------------------------------------------------


def load_token(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def save_token(path: Path | None) -> Any:
    """A callback that keeps the latest token set in ``path`` (readable by its owner only)."""

    def save(token: dict[str, Any]) -> None:
        if path is None:
            return
        path.write_text(json.dumps(token))
        path.chmod(0o600)

    return save


def browser_sign_in(oauth: OAuth2Client, timeout: float) -> None:
    """Authorization code + PKCE: open the sign-in page, catch the redirect on a loopback port."""
    assert oauth.redirect_uri is not None
    redirect_uri = oauth.redirect_uri
    target = urlsplit(redirect_uri)
    received: dict[str, str] = {}

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received["url"] = f"{redirect_uri.split('?')[0]}?{urlsplit(self.path).query}"
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"Signed in; you can close this tab.")

        def log_message(self, *args: Any) -> None:
            """Keep the code out of the terminal."""

    server = HTTPServer((target.hostname or "127.0.0.1", target.port or 80), Callback)
    request = oauth.authorization_url()
    print(f"Open this page to sign in:\n  {request.url}")
    try:
        import webbrowser

        webbrowser.open(request.url)
    except Exception:  # noqa: BLE001 - no browser here: the printed URL is enough
        pass
    server.timeout = timeout
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    thread.join(timeout)
    server.server_close()
    if "url" not in received:
        raise SystemExit("no sign-in within the time limit")
    oauth.exchange_code(received["url"])


def sign_in(args: argparse.Namespace) -> OAuth2Client:
    token_file = Path(args.token_file) if args.token_file else None
    oauth = OAuth2Client(
        redirect_uri=args.redirect_uri,
        userid=args.userid,
        token=load_token(token_file),
        on_token=save_token(token_file),
    )
    if args.browser and oauth.token is None:
        browser_sign_in(oauth, timeout=300)
    return oauth


# 2. showing what the scanners found ---------------------------------------------------------------------


def describe(report: ScanReport | None, label: str) -> None:
    if report is None:
        return
    print(f"   {label}: {report.verdict.value}")
    for result in report.results:
        for finding in result.findings:
            span = report.text[finding.start : finding.end] if report.text else ""
            shown = f" {span!r}" if span and result.verdict.value != "redact" else ""
            print(
                f"     - {result.scanner}: {finding.kind} at {finding.start}-{finding.end}"
                f" (score {finding.score:.2f}, {result.verdict.value}){shown}"
            )


def show_findings(reply: Reply) -> None:
    describe(reply.input_report, "your message")
    describe(reply.output_report, "the answer")
    if reply.blocked and reply.blocked_by is not None:
        print(f"   blocked by the {reply.blocked_by.value} scanners")


# 3. chatting ---------------------------------------------------------------------------------------------------


def chat(conversation: RemoteConversation, message: str) -> Reply:
    print(f"\nyou> {message}")
    print("bot> ", end="", flush=True)
    reply: Reply | None = None
    for event in conversation.stream(message):
        if event.type == "text":
            print(event.text, end="", flush=True)  # already scanned by the server
        elif event.type == "blocked":
            print(event.text, end="")
        elif event.type == "done":
            reply = event.reply
    print()
    assert reply is not None
    show_findings(reply)
    return reply


def wait_until_ready(client: Client, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if client.ready().status == "ok":
                return
        except AiriskError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("messages", nargs="*", help="what to say (default: a short demo script)")
    parser.add_argument("--agent", help="agent name or id (default: the first one listed)")
    parser.add_argument("--userid", help="act for this application user (user-specific token)")
    parser.add_argument("--browser", action="store_true", help="sign a person in with the authorization code flow")
    parser.add_argument(
        "--redirect-uri", default=os.environ.get("EXAMPLE_REDIRECT_URI", "http://127.0.0.1:8765/callback")
    )
    parser.add_argument("--token-file", help="keep tokens here between runs")
    parser.add_argument("--wait", type=float, default=0, help="wait this long for the server to be ready")
    args = parser.parse_args(argv)

    oauth = sign_in(args)
    with oauth, Client(oauth=oauth) as client:
        if args.wait:
            wait_until_ready(client, args.wait)
        agents = list(client.agents.list())
        print("agents you may use:")
        for agent in agents:
            print(f"  {agent.name:<16} {agent.id}  engine={agent.engine}")
        chosen = next((a for a in agents if args.agent in (None, a.name, a.id)), None)
        if chosen is None:
            print(f"no agent named {args.agent!r}", file=sys.stderr)
            return 1
        conversation = chosen.conversation(title="example application")
        print(f"conversation {conversation.id} with {chosen.name}")
        for message in args.messages or SCRIPT:
            chat(conversation, message)
        print(f"\ntokens used: {conversation.usage.input_tokens} in, {conversation.usage.output_tokens} out")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AiriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
