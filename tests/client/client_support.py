"""Helpers the client tests import (conftest modules are not importable by name)."""

from __future__ import annotations

REDIRECT_URI = "http://127.0.0.1:1/callback"
# the helpdesk agent's policy; its scanners are registered by conftest.py
POLICY = {
    "version": 1,
    "input": [
        {"type": "client_test_keyword", "words": ["forbidden"], "action": "block"},
        {"type": "client_test_keyword", "id": "watch", "words": ["watchword"], "action": "flag"},
        {"type": "client_test_file_types", "allow": ["txt", "pdf"]},
    ],
    "output": [{"type": "client_test_keyword", "words": ["secretword"], "action": "block"}],
}


def sign_in(base_url: str, url: str, userid: str, user_token: str, decision: str = "allow") -> str:
    """What the person's browser does at the authorization page; returns the redirect Location."""
    import httpx

    with httpx.Client() as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        answer = browser.post(url, data={"userid": userid, "user_token": user_token, "decision": decision})
        assert answer.status_code in (302, 303), answer.text
        return str(answer.headers["location"])
