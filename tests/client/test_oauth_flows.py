"""OAuth2Client against the real authorization server: every flow, token persistence, typed errors,
and token refresh during a long session with a short token lifetime."""

from __future__ import annotations

import time
from typing import Any

import pytest
from client_support import REDIRECT_URI, sign_in

from airisk import errors
from airisk.client import AsyncClient, Client
from airisk.oauth import (
    AccessDeniedError,
    AsyncOAuth2Client,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    NoTokenError,
    OAuth2Client,
    StateMismatchError,
)


def _oauth(d: Any, **options: Any) -> OAuth2Client:
    return OAuth2Client(d.url, d.client_id, d.client_secret, redirect_uri=REDIRECT_URI, **options)


def test_authorization_code_with_pkce_then_refresh_with_rotation(deployment: Any) -> None:
    saved: list[dict[str, Any]] = []
    with _oauth(deployment, scope="chat scan", on_token=saved.append) as oauth:
        request = oauth.authorization_url()
        assert "code_challenge_method=S256" in request.url and f"state={request.state}" in request.url
        assert request.code_verifier not in request.url and request.code_verifier not in repr(request)
        location = sign_in(deployment.url, request.url, "alice", deployment.user_tokens["alice"])
        token = oauth.exchange_code(location)
        assert token.grant == "authorization_code" and token.refresh_token and token.scope == "chat scan"
        assert saved[-1]["access_token"] == token.access_token and token.access_token not in repr(token)

        with Client(deployment.url, oauth=oauth) as client:
            conversation = client.agents.get(deployment.agent_id).conversation()
            assert conversation.info.user_id == deployment.users["alice"].id
            old_refresh = token.refresh_token
            renewed = oauth.refresh()
            assert renewed.refresh_token != old_refresh and len(saved) == 2
            assert conversation.ask("still me").text == "You said: still me"
            with pytest.raises(errors.PermissionDeniedError):
                client.users.list()  # a user-specific token never carries admin

        # a later run resumes from the persisted token
        resumed = OAuth2Client(deployment.url, deployment.client_id, deployment.client_secret, token=saved[-1])
        with resumed, Client(deployment.url, oauth=resumed) as client:
            assert [a.name for a in client.agents.list()] == ["helpdesk"]
            # revoking the refresh token ends the whole session on the server
            access = saved[-1]["access_token"]
            resumed.revoke()
            assert resumed.token is None
            with Client(deployment.url, access_token=access, max_retries=0) as stale, pytest.raises(
                errors.AuthenticationError
            ):
                stale.agents.list()


def test_authorization_errors_are_typed(deployment: Any) -> None:
    with _oauth(deployment) as oauth:
        request = oauth.authorization_url()
        denied = sign_in(deployment.url, request.url, "alice", "", decision="deny")
        with pytest.raises(AccessDeniedError) as refused:
            oauth.exchange_code(denied)
        assert isinstance(refused.value, errors.PermissionDeniedError) and refused.value.error == "access_denied"

        request = oauth.authorization_url()
        location = sign_in(deployment.url, request.url, "alice", deployment.user_tokens["alice"])
        forged = location.replace(request.state, "someone-elses-state")
        with pytest.raises(StateMismatchError):
            oauth.exchange_code(forged)
        oauth.exchange_code(location)
        with pytest.raises(InvalidGrantError):  # codes work once
            oauth.exchange_code(location.split("?")[1].split("code=")[1].split("&")[0],
                                code_verifier=request.code_verifier)
    with OAuth2Client(deployment.url, deployment.client_id, "wrong-secret") as bad:
        with pytest.raises(InvalidClientError) as wrong:
            bad.client_credentials()
        assert isinstance(wrong.value, errors.AuthenticationError) and "wrong-secret" not in str(wrong.value)
    oauth = OAuth2Client(deployment.url, deployment.client_id, deployment.client_secret)
    with oauth, pytest.raises(InvalidRequestError):
        oauth.client_credentials(userid="nobody")
    with OAuth2Client(deployment.url, deployment.client_id) as public, pytest.raises(NoTokenError):
        public.access_token()


def test_generic_and_user_specific_tokens(deployment: Any) -> None:
    with OAuth2Client(deployment.url, deployment.client_id, deployment.client_secret) as oauth:
        generic = oauth.client_credentials()
        assert set(generic.scope.split()) == {"chat", "scan", "admin"} and generic.refresh_token is None
        user = oauth.client_credentials(userid="bob")
        assert user.scope == "chat scan" and user.userid == "bob"
    with deployment.client() as admin:
        assert {u.id for u in admin.users.list()} >= {deployment.users["alice"].id}
    with deployment.client(userid="bob") as bob:
        assert bob.conversations.create(agent=deployment.agent_id).info.user_id == deployment.users["bob"].id


def test_environment_settings(deployment: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRISK_BASE_URL", deployment.url)
    monkeypatch.setenv("AIRISK_CLIENT_ID", deployment.client_id)
    monkeypatch.setenv("AIRISK_CLIENT_SECRET", deployment.client_secret)
    monkeypatch.setenv("AIRISK_USERID", "alice")
    monkeypatch.setenv("AIRISK_MAX_RETRIES", "5")
    with Client() as client:
        assert client.settings.max_retries == 5 and client.settings.credential_kind == "client_credentials"
        assert client.conversations.create(agent=deployment.agent_id).info.user_id == deployment.users["alice"].id
    with Client(max_retries=1, api_key=deployment.api_key) as keyed:  # keyword arguments win
        assert keyed.settings.max_retries == 1 and keyed.settings.credential_kind == "api_key"
        assert keyed.scan("hello").verdict.value == "pass"


def test_tokens_renew_during_a_long_session(make_deployment: Any) -> None:
    d = make_deployment(access_token_ttl=1)
    issued: list[dict[str, Any]] = []
    oauth = OAuth2Client(d.url, d.client_id, d.client_secret, userid="alice", on_token=issued.append)
    with oauth, Client(d.url, oauth=oauth) as client:
        conversation = client.conversations.create(agent=d.agent_id)
        deadline = time.monotonic() + 3.5
        turns = 0
        while time.monotonic() < deadline:
            assert conversation.ask(f"turn {turns}").text == f"You said: turn {turns}"
            turns += 1
            time.sleep(0.2)
    assert len(issued) >= 3 and len({t["access_token"] for t in issued}) == len(issued)

    # authorization-code tokens renew by refresh, rotating the refresh token each time
    rotated: list[dict[str, Any]] = []
    with OAuth2Client(d.url, d.client_id, d.client_secret, redirect_uri=REDIRECT_URI, on_token=rotated.append) as oauth:
        request = oauth.authorization_url()
        oauth.exchange_code(sign_in(d.url, request.url, "bob", d.user_tokens["bob"]))
        with Client(d.url, oauth=oauth) as client:
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                assert [a.name for a in client.agents.list()] == ["helpdesk"]
                time.sleep(0.2)
    assert len(rotated) >= 3 and len({t["refresh_token"] for t in rotated}) == len(rotated)
    assert all(t["grant"] == "authorization_code" for t in rotated)


def test_a_token_revoked_on_the_server_is_replaced_once(deployment: Any) -> None:
    import httpx

    oauth = OAuth2Client(deployment.url, deployment.client_id, deployment.client_secret, userid="alice")
    with oauth, Client(deployment.url, oauth=oauth, max_retries=0) as client:
        client.agents.list()
        assert oauth.token is not None
        first = oauth.token.access_token
        revoked = httpx.post(
            f"{deployment.url}/oauth/revoke",
            data={"token": first, "token_type_hint": "access_token"},
            auth=(deployment.client_id, deployment.client_secret),
        )
        assert revoked.status_code == 200
        assert [a.name for a in client.agents.list()] == ["helpdesk"]  # 401 invalid_token -> new token
        assert oauth.token.access_token != first
    with Client(deployment.url, access_token="not-a-token", max_retries=0) as fixed:
        with pytest.raises(errors.AuthenticationError) as refused:
            fixed.agents.list()  # a fixed credential cannot be renewed: the 401 is raised
        assert refused.value.error_type == "invalid_token"  # type: ignore[attr-defined]


async def test_async_oauth_flows(deployment: Any) -> None:
    saved: list[dict[str, Any]] = []

    async def persist(token: dict[str, Any]) -> None:
        saved.append(token)

    async with AsyncOAuth2Client(
        deployment.url, deployment.client_id, deployment.client_secret, redirect_uri=REDIRECT_URI, on_token=persist
    ) as oauth:
        request = oauth.authorization_url()
        location = sign_in(deployment.url, request.url, "alice", deployment.user_tokens["alice"])
        await oauth.exchange_code(location)
        async with AsyncClient(deployment.url, oauth=oauth) as client:
            conversation = await (await client.agents.get(deployment.agent_id)).conversation()
            assert conversation.info.user_id == deployment.users["alice"].id
            await oauth.refresh()
            reply = await conversation.aask("async hello")
            assert reply.text == "You said: async hello"
        assert len(saved) == 2 and saved[0]["refresh_token"] != saved[1]["refresh_token"]
        generic = await oauth.client_credentials()
        assert "admin" in generic.scope.split()
        with pytest.raises(InvalidRequestError):
            await oauth.client_credentials(userid="nobody")


async def test_async_client_with_a_sync_oauth_client(deployment: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRISK_BASE_URL", raising=False)
    oauth = OAuth2Client(deployment.url, deployment.client_id, deployment.client_secret, userid="bob")
    async with AsyncClient(oauth=oauth) as client:  # base URL taken from the OAuth2 client
        assert client.settings.base_url == deployment.url
        assert (await client.users.me()).id == deployment.users["bob"].id
    assert oauth.token is not None  # not owned by the client: still usable
    oauth.close()


def test_token_endpoint_outages_are_retried_for_client_credentials(deployment: Any) -> None:
    from airisk.oauth import OAuth2Error

    deployment.faults.fail("POST", "/oauth/token", 503, times=2)
    with OAuth2Client(deployment.url, deployment.client_id, deployment.client_secret, max_retries=2) as oauth:
        assert oauth.client_credentials().access_token
        assert deployment.faults.count("POST", "/oauth/token") == 3
        deployment.faults.fail("POST", "/oauth/token", 503, times=3)
        with pytest.raises(errors.UnavailableError) as down:
            oauth.client_credentials()
        assert isinstance(down.value, OAuth2Error) and down.value.status == 503
