"""OAuth2 endpoints: /oauth/authorize (sign-in and consent), /oauth/token, /oauth/revoke.

Authlib's grants do the protocol work in a worker thread (the store is synchronous); the
routes only read the HTTP request and hand it over.
"""

from __future__ import annotations

import html
from typing import Any

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from airisk.oauth.server import AuthorizationServer, FormRequest
from airisk.server.auth import context

router = APIRouter(prefix="/oauth", tags=["oauth2"])

_OAUTH_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
        "error_uri": {"type": "string"},
        "state": {"type": "string"},
    },
}
_NO_STORE = {"Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]}}}


def _form(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}}


_TOKEN_DOC = _form(
    {
        "grant_type": {"type": "string", "enum": ["authorization_code", "client_credentials", "refresh_token"]},
        "code": {"type": "string"},
        "redirect_uri": {"type": "string"},
        "code_verifier": {"type": "string"},
        "refresh_token": {"type": "string"},
        "scope": {"type": "string", "description": "space-separated: chat scan admin"},
        "userid": {"type": "string", "description": "client credentials only: a token for this application user"},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
    },
    ["grant_type"],
)
_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the token (RFC 6749 §5.1)",
        "headers": _NO_STORE,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["access_token", "token_type", "expires_in"],
                    "properties": {
                        "access_token": {"type": "string"},
                        "token_type": {"type": "string"},
                        "expires_in": {"type": "integer"},
                        "scope": {"type": "string"},
                        "refresh_token": {"type": "string"},
                    },
                }
            }
        },
    },
    400: {
        "description": "RFC 6749 §5.2 error",
        "headers": _NO_STORE,
        "content": {"application/json": {"schema": _OAUTH_ERROR}},
    },
    401: {
        "description": "invalid_client (WWW-Authenticate: Basic when Basic auth was used)",
        "headers": _NO_STORE,
        "content": {"application/json": {"schema": _OAUTH_ERROR}},
    },
}
_AUTHORIZE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the sign-in and consent page", "content": {"text/html": {"schema": {"type": "string"}}}},
    302: {"description": "back to the client's redirect URI with code and state, or error and state"},
    400: {
        "description": "unknown client or redirect URI (never redirected)",
        "content": {"application/json": {"schema": _OAUTH_ERROR}},
    },
    401: {"description": "wrong user id or user token", "content": {"text/html": {"schema": {"type": "string"}}}},
}

_FORM = """<!doctype html><html><head><meta charset="utf-8"><title>Sign in - airisk</title></head>
<body><h1>Allow access</h1><p>{message}</p>
<form method="post" action="{action}">
<label>User id <input name="userid" autocomplete="username"></label>
<label>User token <input name="user_token" type="password" autocomplete="current-password"></label>
<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Deny</button>
</form></body></html>"""


async def _oauth_request(request: Request, *, protocol_from: str = "form") -> FormRequest:
    body = await request.body() if request.method == "POST" else b""
    query = list(request.query_params.multi_items())
    return FormRequest(request.method, str(request.url), request.headers, query, body, protocol_from=protocol_from)


def _bad_request(error: OAuth2Error) -> JSONResponse:
    """Errors about the client or redirect URI are never redirected (RFC 6749 §4.1.2.1)."""
    status, body, headers = error()
    return JSONResponse(body, status_code=status, headers=dict(headers))


def _consent(server: AuthorizationServer, oauth_request: FormRequest) -> Any:
    """The grant for this authorization request, or the error response to send."""
    try:
        return server.get_consent_grant(oauth_request), None
    except OAuth2Error as error:
        if error.redirect_uri:
            return None, server.handle_error_response(oauth_request, error)
        return None, _bad_request(error)


_AUTHORIZE_PARAMETERS = {
    "parameters": [
        {"name": name, "in": "query", "required": required, "schema": schema}
        for name, required, schema in (
            ("response_type", True, {"type": "string", "enum": ["code"]}),
            ("client_id", True, {"type": "string"}),
            ("redirect_uri", False, {"type": "string"}),
            ("scope", False, {"type": "string"}),
            ("state", False, {"type": "string"}),
            ("code_challenge", True, {"type": "string"}),
            ("code_challenge_method", True, {"type": "string", "enum": ["S256"]}),
        )
    ]
}


@router.get(
    "/authorize",
    responses=_AUTHORIZE_RESPONSES,
    response_class=HTMLResponse,
    openapi_extra=_AUTHORIZE_PARAMETERS,
    summary="Authorization endpoint: sign-in and consent page (code + PKCE S256)",
)
async def authorize_page(request: Request) -> Response:
    server = context(request).oauth
    oauth_request = await _oauth_request(request, protocol_from="query")
    grant, failure = await run_in_threadpool(_consent, server, oauth_request)
    if failure is not None:
        return failure
    client_id = html.escape(grant.client.client_id)
    page = _FORM.format(
        message=f"Application <code>{client_id}</code> asks to chat on your behalf.",
        action=html.escape(str(request.url)),
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


@router.post(
    "/authorize",
    responses=_AUTHORIZE_RESPONSES,
    response_class=HTMLResponse,
    summary="Submit the sign-in form (userid, user_token, decision=allow|deny)",
    openapi_extra={
        **_AUTHORIZE_PARAMETERS,
        **_form(
            {
                "userid": {"type": "string"},
                "user_token": {"type": "string"},
                "decision": {"type": "string", "enum": ["allow", "deny"]},
            }
        ),
    },
)
async def authorize(request: Request) -> Response:
    """The user signs in with their userid and user token and allows (or denies) the client."""
    server = context(request).oauth
    oauth_request = await _oauth_request(request, protocol_from="query")

    def work() -> Response:
        grant, failure = _consent(server, oauth_request)
        if failure is not None:
            return failure  # type: ignore[no-any-return]
        form = oauth_request.form
        if form.get("decision") == "deny":
            return server.create_authorization_response(oauth_request, grant_user=None, grant=grant)  # type: ignore[no-any-return]
        user = server.sign_in(grant.client.company_id, form.get("userid", ""), form.get("user_token", ""))
        if user is None:
            page = _FORM.format(message="Unknown user id or user token.", action=html.escape(str(request.url)))
            return HTMLResponse(page, status_code=401, headers={"Cache-Control": "no-store"})
        return server.create_authorization_response(oauth_request, grant_user=user, grant=grant)  # type: ignore[no-any-return]

    return await run_in_threadpool(work)


@router.post("/token", responses=_TOKEN_RESPONSES, summary="Token endpoint (RFC 6749)", openapi_extra=_TOKEN_DOC)
async def token(request: Request) -> Response:
    server = context(request).oauth
    oauth_request = await _oauth_request(request)
    return await run_in_threadpool(server.create_token_response, oauth_request)  # type: ignore[no-any-return]


@router.post(
    "/revoke",
    summary="Revocation endpoint (RFC 7009)",
    responses={
        200: {"description": "revoked (or unknown)", "content": {"application/json": {"schema": {"type": "object"}}}},
        400: {"description": "invalid_request", "content": {"application/json": {"schema": _OAUTH_ERROR}}},
        401: {"description": "invalid_client", "content": {"application/json": {"schema": _OAUTH_ERROR}}},
    },
    openapi_extra=_form({"token": {"type": "string"}, "token_type_hint": {"type": "string"}}, ["token"]),
)
async def revoke(request: Request) -> Response:
    server = context(request).oauth
    oauth_request = await _oauth_request(request)
    return await run_in_threadpool(server.create_endpoint_response, "revocation", oauth_request)  # type: ignore[no-any-return]
