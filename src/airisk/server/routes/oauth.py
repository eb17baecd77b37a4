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

router = APIRouter(prefix="/oauth", tags=["oauth2"], include_in_schema=False)

_FORM = """<!doctype html><html><head><meta charset="utf-8"><title>Sign in - airisk</title></head>
<body><h1>Allow access</h1><p>{message}</p>
<form method="post" action="{action}">
<label>User id <input name="userid" autocomplete="username"></label>
<label>User token <input name="user_token" type="password" autocomplete="current-password"></label>
<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Deny</button>
</form></body></html>"""


async def _oauth_request(request: Request) -> FormRequest:
    body = await request.body() if request.method == "POST" else b""
    return FormRequest(
        request.method, str(request.url), request.headers, list(request.query_params.multi_items()), body
    )


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


@router.get("/authorize")
async def authorize_page(request: Request) -> Response:
    server = context(request).oauth
    oauth_request = await _oauth_request(request)
    grant, failure = await run_in_threadpool(_consent, server, oauth_request)
    if failure is not None:
        return failure
    client_id = html.escape(grant.client.client_id)
    page = _FORM.format(
        message=f"Application <code>{client_id}</code> asks to chat on your behalf.",
        action=html.escape(str(request.url)),
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


@router.post("/authorize")
async def authorize(request: Request) -> Response:
    """The user signs in with their userid and user token and allows (or denies) the client."""
    server = context(request).oauth
    oauth_request = await _oauth_request(request)

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


@router.post("/token")
async def token(request: Request) -> Response:
    server = context(request).oauth
    oauth_request = await _oauth_request(request)
    return await run_in_threadpool(server.create_token_response, oauth_request)  # type: ignore[no-any-return]


@router.post("/revoke")
async def revoke(request: Request) -> Response:
    server = context(request).oauth
    oauth_request = await _oauth_request(request)
    return await run_in_threadpool(server.create_endpoint_response, "revocation", oauth_request)  # type: ignore[no-any-return]
