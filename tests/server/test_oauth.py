"""OAuth2: Authlib's own client against a real uvicorn, and every RFC 6749 / 6750 / 7009 error case."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

REDIRECT_URI = "http://127.0.0.1:1/callback"  # the one registered in conftest.py


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _sign_in(base: str, url: str, userid: str, user_token: str, decision: str = "allow") -> httpx.Response:
    """What the user's browser does: open the authorization page, then submit the sign-in form."""
    with httpx.Client(base_url=base) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        assert "<form" in page.text
        return browser.post(url, data={"userid": userid, "user_token": user_token, "decision": decision})


def _query(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


# Authlib's client, real uvicorn -------------------------------------------------------------------------


def test_authorization_code_pkce_refresh_and_api_call(live: Any) -> None:
    from authlib.integrations.httpx_client import OAuth2Client

    d = live.deployment
    oauth = OAuth2Client(
        client_id=d.client_id,
        client_secret=d.client_secret,
        redirect_uri=REDIRECT_URI,
        scope="chat scan",
        code_challenge_method="S256",
        base_url=live.url,
    )
    verifier = secrets.token_urlsafe(48)
    url, state = oauth.create_authorization_url(f"{live.url}/oauth/authorize", code_verifier=verifier)
    redirect = _sign_in(live.url, url, "alice", d.user_tokens["alice"])
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert location.startswith(REDIRECT_URI) and _query(location)["state"] == state
    token = oauth.fetch_token(f"{live.url}/oauth/token", authorization_response=location, code_verifier=verifier)
    assert token["token_type"].lower() == "bearer" and token["refresh_token"] and token["scope"] == "chat scan"

    agents = oauth.get(f"{live.url}/api/v1/agents")
    assert agents.status_code == 200 and [a["name"] for a in agents.json()["data"]] == ["helpdesk"]
    conversation = oauth.post(f"{live.url}/api/v1/conversations", json={"agent_id": d.agent_id}).json()
    assert conversation["user_id"] == d.users["alice"].id

    old_access, old_refresh = token["access_token"], token["refresh_token"]
    refreshed = oauth.refresh_token(f"{live.url}/oauth/token")
    assert refreshed["access_token"] != old_access and refreshed["refresh_token"] != old_refresh
    assert oauth.get(f"{live.url}/api/v1/agents").status_code == 200
    assert httpx.get(f"{live.url}/api/v1/agents", headers={"Authorization": f"Bearer {old_access}"}).status_code == 401

    # reuse of the rotated refresh token: refused, and the whole family (the new tokens too) is revoked
    reuse = httpx.post(
        f"{live.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=(d.client_id, d.client_secret),
    )
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert oauth.get(f"{live.url}/api/v1/agents").status_code == 401
    again = httpx.post(
        f"{live.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        auth=(d.client_id, d.client_secret),
    )
    assert again.status_code == 400


def test_client_credentials_generic_and_user_tokens(live: Any) -> None:
    from authlib.integrations.httpx_client import OAuth2Client

    d = live.deployment
    oauth = OAuth2Client(client_id=d.client_id, client_secret=d.client_secret)
    generic = oauth.fetch_token(f"{live.url}/oauth/token", grant_type="client_credentials")
    assert "refresh_token" not in generic and set(generic["scope"].split()) == {"chat", "scan", "admin"}
    users = oauth.get(f"{live.url}/api/v1/users").json()["data"]
    assert d.users["alice"].id in {u["id"] for u in users}

    user_client = OAuth2Client(client_id=d.client_id, client_secret=d.client_secret)
    user_token = user_client.fetch_token(f"{live.url}/oauth/token", grant_type="client_credentials", userid="bob")
    assert user_token["scope"] == "chat scan"
    denied = user_client.get(f"{live.url}/api/v1/users")
    assert denied.status_code == 403
    conversation = user_client.post(f"{live.url}/api/v1/conversations", json={"agent_id": d.agent_id}).json()
    assert conversation["user_id"] == d.users["bob"].id
    turn = user_client.post(f"{live.url}/api/v1/conversations/{conversation['id']}/messages", json={"text": "hi"})
    assert turn.json()["reply"]["text"] == "You said: hi"


# RFC 6749 §4.1.2.1: authorization endpoint errors ---------------------------------------------------------


def _authorize_params(d: Any, **changes: Any) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": d.client_id,
        "redirect_uri": REDIRECT_URI,
        "state": "st-123",
        "code_challenge": _challenge("v" * 50),
        "code_challenge_method": "S256",
    }
    params.update(changes)
    return {key: value for key, value in params.items() if value is not None}


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "cli_unknown"},
        {"client_id": None},
        {"redirect_uri": "http://127.0.0.1:1/other"},
        {"redirect_uri": REDIRECT_URI + "/"},
    ],
)
def test_bad_client_or_redirect_uri_is_never_redirected(client: Any, deployment: Any, changes: dict[str, Any]) -> None:
    response = client.get("/oauth/authorize", params=_authorize_params(deployment, **changes), follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.json()["error"] in {"invalid_client", "invalid_request"}


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "launch-missiles"}, "invalid_scope"),
    ],
)
def test_authorization_errors_redirect_with_error_and_state(
    client: Any, deployment: Any, changes: dict[str, Any], error: str
) -> None:
    response = client.get("/oauth/authorize", params=_authorize_params(deployment, **changes), follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI)
    query = _query(location)
    assert query["error"] == error and query["state"] == "st-123"


def test_denied_consent_and_wrong_user_token(client: Any, deployment: Any) -> None:
    params = _authorize_params(deployment)
    denied = client.post(
        "/oauth/authorize", params=params, data={"decision": "deny", "userid": "alice"}, follow_redirects=False
    )
    assert denied.status_code == 302
    query = _query(denied.headers["location"])
    assert query["error"] == "access_denied" and query["state"] == "st-123" and "code" not in query
    wrong = client.post(
        "/oauth/authorize",
        params=params,
        data={"decision": "allow", "userid": "alice", "user_token": "wrong"},
        follow_redirects=False,
    )
    assert wrong.status_code == 401 and "location" not in wrong.headers
    # a user of another company cannot sign in through this client
    carol = client.post(
        "/oauth/authorize", params=params, data={"decision": "allow", "userid": "carol", "user_token": "x"}
    )
    assert carol.status_code == 401


# RFC 6749 §5.2: token endpoint errors ---------------------------------------------------------------------


def _code(client: Any, d: Any, verifier: str, userid: str = "alice") -> str:
    params = _authorize_params(d, code_challenge=_challenge(verifier))
    response = client.post(
        "/oauth/authorize",
        params=params,
        data={"decision": "allow", "userid": userid, "user_token": d.user_tokens[userid]},
        follow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return _query(response.headers["location"])["code"]


def _assert_token_error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")


def test_invalid_client_with_basic_auth_is_401_with_www_authenticate(client: Any, deployment: Any) -> None:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(deployment.client_id, "no"))
    _assert_token_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic ")
    unknown = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("cli_nobody", "x"))
    _assert_token_error(unknown, 401, "invalid_client")


def test_invalid_client_without_basic_auth(client: Any, deployment: Any) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": deployment.client_id, "client_secret": "wrong"},
    )
    assert response.status_code in (400, 401)
    _assert_token_error(response, response.status_code, "invalid_client")


def test_token_endpoint_error_codes(client: Any, deployment: Any) -> None:
    auth = (deployment.client_id, deployment.client_secret)
    _assert_token_error(
        client.post("/oauth/token", data={"grant_type": "password"}, auth=auth), 400, "unsupported_grant_type"
    )
    _assert_token_error(client.post("/oauth/token", data={}, auth=auth), 400, "unsupported_grant_type")
    _assert_token_error(
        client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "root"}, auth=auth),
        400,
        "invalid_scope",
    )
    _assert_token_error(
        client.post("/oauth/token", data={"grant_type": "client_credentials", "userid": "nobody"}, auth=auth),
        400,
        "invalid_request",
    )
    bad_code = {
        "grant_type": "authorization_code",
        "code": "nope",
        "redirect_uri": REDIRECT_URI,
        "code_verifier": "v" * 50,
    }
    _assert_token_error(client.post("/oauth/token", data=bad_code, auth=auth), 400, "invalid_grant")
    _assert_token_error(
        client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "nope"}, auth=auth),
        400,
        "invalid_grant",
    )


def test_codes_are_single_use_and_bound_to_verifier_and_redirect_uri(client: Any, deployment: Any) -> None:
    auth = (deployment.client_id, deployment.client_secret)
    verifier = "a" * 60
    code = _code(client, deployment, verifier)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    assert client.post("/oauth/token", data=exchange, auth=auth).status_code == 200
    _assert_token_error(client.post("/oauth/token", data=exchange, auth=auth), 400, "invalid_grant")

    code = _code(client, deployment, verifier)
    wrong_verifier = {**exchange, "code": code, "code_verifier": "b" * 60}
    _assert_token_error(client.post("/oauth/token", data=wrong_verifier, auth=auth), 400, "invalid_grant")

    code = _code(client, deployment, verifier)
    no_verifier = {key: value for key, value in {**exchange, "code": code}.items() if key != "code_verifier"}
    _assert_token_error(client.post("/oauth/token", data=no_verifier, auth=auth), 400, "invalid_request")

    code = _code(client, deployment, verifier)
    wrong_redirect = {**exchange, "code": code, "redirect_uri": "http://127.0.0.1:1/other"}
    _assert_token_error(client.post("/oauth/token", data=wrong_redirect, auth=auth), 400, "invalid_grant")

    code = _code(client, deployment, verifier)
    other = (deployment.other_client_id, deployment.other_client_secret)
    _assert_token_error(client.post("/oauth/token", data={**exchange, "code": code}, auth=other), 400, "invalid_grant")


def test_expired_code_is_invalid_grant(deployment_factory: Any) -> None:
    from fastapi.testclient import TestClient

    from airisk.oauth.models import OAuthCode
    from airisk.store.models import utcnow

    d = deployment_factory()
    with TestClient(d.app, base_url="http://127.0.0.1") as c:
        verifier = "c" * 60
        code = _code(c, d, verifier)
        with d.ws.store.write() as session:
            for row in session.query(OAuthCode):
                row.expires_at = utcnow()
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
        _assert_token_error(
            c.post("/oauth/token", data=data, auth=(d.client_id, d.client_secret)), 400, "invalid_grant"
        )


# RFC 6750: protected resources -----------------------------------------------------------------------------


def test_bearer_errors(client: Any, deployment: Any) -> None:
    missing = client.get("/api/v1/agents")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "error=" not in missing.headers["www-authenticate"]
    invalid = client.get("/api/v1/agents", headers={"Authorization": "Bearer not-a-token"})
    assert invalid.status_code == 401
    assert invalid.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert invalid.json()["error"] == "invalid_token"
    malformed = client.get("/api/v1/agents", headers={"Authorization": "Basic abc"})
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_request"
    scan_only = deployment.token(client, scope="scan")
    forbidden = client.get("/api/v1/agents", headers={"Authorization": f"Bearer {scan_only}"})
    assert forbidden.status_code == 403
    assert forbidden.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    assert forbidden.json()["error"] == "insufficient_scope"


def test_expired_access_token_is_invalid_token(client: Any, deployment: Any) -> None:
    from airisk.oauth.models import OAuthToken
    from airisk.store.models import utcnow

    token = deployment.token(client)
    with deployment.ws.store.write() as session:
        for row in session.query(OAuthToken):
            row.expires_at = utcnow()
    response = client.get("/api/v1/agents", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]


# RFC 7009: revocation ---------------------------------------------------------------------------------------


def test_revocation(client: Any, deployment: Any) -> None:
    auth = (deployment.client_id, deployment.client_secret)
    access = deployment.token(client)
    headers = {"Authorization": f"Bearer {access}"}
    assert client.get("/api/v1/agents", headers=headers).status_code == 200
    revoked = client.post("/oauth/revoke", data={"token": access, "token_type_hint": "access_token"}, auth=auth)
    assert revoked.status_code == 200
    assert client.get("/api/v1/agents", headers=headers).status_code == 401
    # unknown tokens are not an error (RFC 7009 §2.2); a missing token parameter is
    assert client.post("/oauth/revoke", data={"token": "whatever"}, auth=auth).status_code == 200
    _assert_token_error(client.post("/oauth/revoke", data={}, auth=auth), 400, "invalid_request")
    _assert_token_error(
        client.post("/oauth/revoke", data={"token": "x"}, auth=(deployment.client_id, "bad")), 401, "invalid_client"
    )

    verifier = "d" * 60
    code = _code(client, deployment, verifier)
    tokens = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=auth,
    ).json()
    assert client.post("/oauth/revoke", data={"token": tokens["refresh_token"]}, auth=auth).status_code == 200
    user_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/v1/agents", headers=user_headers).status_code == 401
    refresh = client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=auth
    )
    _assert_token_error(refresh, 400, "invalid_grant")


def test_plain_http_off_loopback_is_refused(deployment: Any) -> None:
    from fastapi.testclient import TestClient

    with TestClient(deployment.app, base_url="http://airisk.example.com") as remote:
        response = remote.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(deployment.client_id, "x")
        )
        _assert_token_error(response, 400, "insecure_transport")
    with TestClient(deployment.app, base_url="https://airisk.example.com") as secure:
        token = secure.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(deployment.client_id, deployment.client_secret),
        )
        assert token.status_code == 200


def test_openapi_documents_oauth2_flows_and_scopes(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["authorizationCode"]["tokenUrl"] == "/oauth/token"
    assert set(flows["clientCredentials"]["scopes"]) == {"chat", "scan", "admin"}
    assert spec["paths"]["/api/v1/users"]["get"]["security"] == [{"oauth2": ["admin"]}]
    assert {"oauth2": ["chat"]} in spec["paths"]["/api/v1/conversations"]["post"]["security"]
    assert "application/x-www-form-urlencoded" in spec["paths"]["/oauth/token"]["post"]["requestBody"]["content"]


def test_form_fields_cannot_override_authorization_parameters(client: Any, deployment: Any) -> None:
    params = _authorize_params(deployment)
    response = client.post(
        "/oauth/authorize",
        params=params,
        data={
            "decision": "allow",
            "userid": "alice",
            "user_token": deployment.user_tokens["alice"],
            "redirect_uri": "http://127.0.0.1:1/elsewhere",
            "state": "forged",
        },
        follow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    assert _query(response.headers["location"])["state"] == "st-123"


def test_token_parameters_in_the_query_string_are_ignored(client: Any, deployment: Any) -> None:
    response = client.post(
        "/oauth/token",
        params={"grant_type": "client_credentials"},
        auth=(deployment.client_id, deployment.client_secret),
    )
    _assert_token_error(response, 400, "unsupported_grant_type")
