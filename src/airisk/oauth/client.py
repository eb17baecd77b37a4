"""``OAuth2Client``: sign an application in to an airisk deployment (Authlib's httpx integration).

Three ways to a token, all against ``{base_url}/oauth/...``:

- **authorization code + PKCE** (a person signs in): :meth:`OAuth2Client.authorization_url`
  gives the URL to send the browser to (PKCE S256 verifier and ``state`` are made and kept
  here); :meth:`OAuth2Client.exchange_code` takes the redirect back, checks ``state`` and
  trades the code for tokens;
- **client credentials** (the application itself): :meth:`OAuth2Client.client_credentials`
  gives a *generic* token, or with ``userid=`` a *user-specific* token for one person of
  your application;
- **refresh**: :meth:`OAuth2Client.access_token` always answers a token valid for at least
  ``leeway`` more seconds, refreshing (rotating refresh tokens) or fetching a new
  client-credentials token before the old one expires.

Every new token goes to ``on_token`` (persist it; pass it back as ``token=`` next time).
OAuth2 error codes become typed errors deriving from the one airisk tree. Tokens and
secrets never appear in reprs, logs or error messages.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airisk import errors
from airisk.client.errors import APIConnectionError, APIStatusError, APITimeoutError
from airisk.errors import ConfigurationError

log = logging.getLogger("airisk.oauth.client")

TokenCallback = Callable[[dict[str, Any]], Any]


# errors --------------------------------------------------------------------------------------------


class OAuth2Error(APIStatusError):
    """The authorization server refused; ``error_type`` is the OAuth2 error code."""

    @property
    def error(self) -> str | None:
        return self.error_type


class InvalidRequestError(OAuth2Error, errors.BadRequestError):
    """``invalid_request``: a parameter is missing, repeated or malformed (e.g. unknown ``userid``)."""


class InvalidClientError(OAuth2Error, errors.AuthenticationError):
    """``invalid_client``: unknown client id, wrong secret or revoked client."""


class InvalidGrantError(OAuth2Error, errors.AuthenticationError):
    """``invalid_grant``: the code or refresh token is invalid, expired, used or revoked; sign in again."""


class UnauthorizedClientError(OAuth2Error, errors.PermissionDeniedError):
    """``unauthorized_client``: this client may not use this grant."""


class UnsupportedGrantTypeError(OAuth2Error, errors.BadRequestError):
    """``unsupported_grant_type``."""


class InvalidScopeError(OAuth2Error, errors.PermissionDeniedError):
    """``invalid_scope``: the scope asked for is unknown or not allowed to this client."""


class AccessDeniedError(OAuth2Error, errors.PermissionDeniedError):
    """``access_denied``: the person declined at the authorization page."""


class StateMismatchError(OAuth2Error):
    """The redirect's ``state`` is not one this client issued (possible CSRF): nothing was exchanged."""


class OAuthServerError(OAuth2Error, errors.UnavailableError):
    """``server_error`` / ``temporarily_unavailable`` or a 5xx from the token endpoint."""


class NoTokenError(OAuth2Error, errors.AuthenticationError):
    """No token yet and none can be fetched without a person (complete the authorization code flow)."""


_ERRORS: dict[str, tuple[type[OAuth2Error], int]] = {
    "invalid_request": (InvalidRequestError, 400),
    "invalid_client": (InvalidClientError, 401),
    "invalid_grant": (InvalidGrantError, 400),
    "unauthorized_client": (UnauthorizedClientError, 400),
    "unsupported_grant_type": (UnsupportedGrantTypeError, 400),
    "unsupported_response_type": (InvalidRequestError, 400),
    "invalid_scope": (InvalidScopeError, 400),
    "access_denied": (AccessDeniedError, 403),
    "server_error": (OAuthServerError, 500),
    "temporarily_unavailable": (OAuthServerError, 503),
}


def oauth_error(code: str, description: str | None = None, *, status: int | None = None) -> OAuth2Error:
    """The typed error for an OAuth2 error code (RFC 6749 §4.1.2.1, §5.2)."""
    cls, default_status = _ERRORS.get(code, (OAuth2Error, 400))
    text = f"OAuth2 {code}" + (f": {description}" if description else "")
    return cls(text, status=status or default_status, error_type=code)


def _translate(exc: BaseException) -> errors.AiriskError:
    """An Authlib or HTTP-library exception as an airisk error (never echoing request bodies)."""
    from authlib.integrations.base_client import OAuthError as AuthlibOAuthError
    from authlib.oauth2.rfc6749.errors import OAuth2Error as AuthlibProtocolError

    if isinstance(exc, (AuthlibOAuthError, AuthlibProtocolError)):
        return oauth_error(str(exc.error), getattr(exc, "description", None))
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return OAuthServerError(
            f"token endpoint answered HTTP {status}",
            status=status,
            request_id=response.headers.get("x-request-id") if response is not None else None,
        )
    name = type(exc).__name__
    if "Timeout" in name:
        return APITimeoutError(f"token endpoint timed out ({name})")
    if any(word in name for word in ("Connect", "Network", "Protocol", "Read", "Write", "Transport")):
        return APIConnectionError(f"token endpoint unreachable ({name})")
    if isinstance(exc, ValueError):
        return OAuthServerError(f"token endpoint answered something that is not a token ({name})")
    raise exc


# tokens ---------------------------------------------------------------------------------------------


@dataclass
class OAuth2Token:
    """A token set. ``to_dict()`` is what ``on_token`` receives and ``token=`` accepts back."""

    access_token: str = field(repr=False)
    token_type: str = "Bearer"
    expires_at: float | None = None
    expires_in: float | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str = ""
    grant: str = "client_credentials"
    userid: str | None = None

    @classmethod
    def from_response(cls, raw: Mapping[str, Any], *, grant: str, userid: str | None, now: float) -> OAuth2Token:
        lifetime = raw.get("expires_in")
        expires_at = raw.get("expires_at")
        if lifetime is not None:
            expires_at = now + float(lifetime)
        return cls(
            access_token=str(raw["access_token"]),
            token_type=str(raw.get("token_type") or "Bearer"),
            expires_at=float(expires_at) if expires_at is not None else None,
            expires_in=float(lifetime) if lifetime is not None else None,
            refresh_token=raw.get("refresh_token"),
            scope=str(raw.get("scope") or ""),
            grant=grant,
            userid=userid,
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> OAuth2Token:
        known = {name: raw[name] for name in cls.__dataclass_fields__ if name in raw}
        if "access_token" not in known:
            raise ConfigurationError("a saved token needs at least 'access_token'")
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def expires_soon(self, leeway: float, now: float) -> bool:
        """True when less than ``leeway`` seconds are left (at most half the lifetime, for short tokens)."""
        if self.expires_at is None:
            return False
        margin = leeway if not self.expires_in else min(leeway, self.expires_in / 2)
        return now >= self.expires_at - margin


@dataclass
class AuthorizationRequest:
    """Where to send the person's browser, and the secrets that go with it (kept by the client too)."""

    url: str
    state: str
    code_verifier: str = field(repr=False)
    redirect_uri: str | None = None


# the shared part ---------------------------------------------------------------------------------------


class _OAuth2Base:
    def __init__(
        self,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        redirect_uri: str | None = None,
        scope: str | None = None,
        userid: str | None = None,
        token: OAuth2Token | Mapping[str, Any] | None = None,
        on_token: TokenCallback | None = None,
        leeway: float = 30.0,
        timeout: float = 30.0,
        max_retries: int = 2,
        authorize_url: str | None = None,
        token_url: str | None = None,
        revoke_url: str | None = None,
        clock: Callable[[], float] = time.time,
        **session_options: Any,
    ) -> None:
        from airisk.client.settings import ClientSettings

        settings = ClientSettings.resolve(base_url=base_url, client_id=client_id, client_secret=client_secret)
        if settings.client_id is None:
            raise ConfigurationError("an OAuth2 client needs client_id (or AIRISK_CLIENT_ID)")
        self.base_url = settings.base_url
        self.client_id: str = settings.client_id
        self._client_secret = settings.client_secret.get_secret_value() if settings.client_secret else None
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.userid = userid if userid is not None else settings.userid
        self.on_token = on_token
        self.leeway = leeway
        self.timeout = timeout
        self.max_retries = max_retries
        self.authorize_endpoint = authorize_url or f"{self.base_url}/oauth/authorize"
        self.token_endpoint = token_url or f"{self.base_url}/oauth/token"
        self.revoke_endpoint = revoke_url or f"{self.base_url}/oauth/revoke"
        self._clock = clock
        self._session_options = session_options
        self._pending: dict[str, AuthorizationRequest] = {}
        if token is None or isinstance(token, OAuth2Token):
            self._token = token
        else:
            self._token = OAuth2Token.from_dict(token)

    def __repr__(self) -> str:
        state = "none" if self._token is None else f"{self._token.grant}, expires_at={self._token.expires_at}"
        return f"{type(self).__name__}(base_url={self.base_url!r}, client_id={self.client_id!r}, token={state})"

    @property
    def token(self) -> OAuth2Token | None:
        """The current token set (None before the first sign-in or fetch)."""
        return self._token

    def invalidate(self) -> None:
        """Forget that the access token is valid (the server refused it); the next call renews it."""
        if self._token is not None:
            self._token.expires_at = self._clock() - 1

    def _session_kwargs(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "token_endpoint_auth_method": "client_secret_basic" if self._client_secret else "none",
            "timeout": self.timeout,
        }
        options.update(self._session_options)
        return options

    def _new_authorization(self, state: str | None, scope: str | None, session: Any) -> AuthorizationRequest:
        if not self.redirect_uri:
            raise ConfigurationError("the authorization code flow needs redirect_uri (registered with the client)")
        verifier = secrets.token_urlsafe(64)[:96]
        chosen_state = state or secrets.token_urlsafe(24)
        extra: dict[str, Any] = {"redirect_uri": self.redirect_uri}
        if scope or self.scope:
            extra["scope"] = scope or self.scope
        url, issued_state = session.create_authorization_url(
            self.authorize_endpoint, state=chosen_state, code_verifier=verifier, **extra
        )
        request = AuthorizationRequest(
            url=url, state=issued_state, code_verifier=verifier, redirect_uri=self.redirect_uri
        )
        self._pending[issued_state] = request
        return request

    def _code_from(
        self, callback: str, state: str | None, code_verifier: str | None
    ) -> tuple[str, str]:
        """(code, verifier) from the redirect URL (or a bare code), after checking ``state``."""
        if "?" in callback or callback.startswith(("http://", "https://")):
            query = {key: values[0] for key, values in parse_qs(urlsplit(callback).query).items()}
        else:
            query = {"code": callback, **({"state": state} if state else {})}
        returned_state = query.get("state")
        pending = self._pending.pop(returned_state, None) if returned_state else None
        if pending is None and code_verifier is None:
            raise StateMismatchError(
                "the redirect's state was not issued by this client; nothing was exchanged", error_type="state_mismatch"
            )
        if state is not None and returned_state != state:
            raise StateMismatchError("the redirect's state differs from the one expected", error_type="state_mismatch")
        if "error" in query:
            raise oauth_error(query["error"], query.get("error_description"))
        code = query.get("code")
        if not code:
            raise oauth_error("invalid_request", "the redirect carries no authorization code")
        verifier = code_verifier or (pending.code_verifier if pending else None)
        assert verifier is not None
        return code, verifier

    def _accept(self, raw: Mapping[str, Any], *, grant: str, userid: str | None) -> OAuth2Token:
        token = OAuth2Token.from_response(raw, grant=grant, userid=userid, now=self._clock())
        self._token = token
        log.info("oauth token obtained grant=%s scope=%s expires_in=%s", grant, token.scope, token.expires_in)
        return token

    def _renewal(self) -> str:
        """What renewing the current token takes: 'refresh', 'client_credentials' or 'none'."""
        token = self._token
        if token is not None and token.refresh_token:
            return "refresh"
        if self._client_secret and (token is None or token.grant == "client_credentials"):
            return "client_credentials"
        return "none"

    def _needs_renewal(self) -> bool:
        return self._token is None or self._token.expires_soon(self.leeway, self._clock())

    def _no_token(self) -> NoTokenError:
        return NoTokenError(
            "no usable token: sign in with authorization_url() and exchange_code(), or give client_secret",
            error_type="no_token",
        )


# sync ---------------------------------------------------------------------------------------------------


class OAuth2Client(_OAuth2Base):
    """Synchronous OAuth2 client for an airisk deployment; safe to share between threads."""

    def __init__(self, base_url: str | None = None, client_id: str | None = None, client_secret: str | None = None,
                 **options: Any) -> None:
        super().__init__(base_url, client_id, client_secret, **options)
        self._lock = threading.RLock()
        self._session: Any = None

    def _http(self) -> Any:
        if self._session is None:
            from authlib.integrations.httpx_client import OAuth2Client as AuthlibClient

            self._session = AuthlibClient(code_challenge_method="S256", **self._session_kwargs())
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> OAuth2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def authorization_url(self, *, state: str | None = None, scope: str | None = None) -> AuthorizationRequest:
        """The URL to send the person to (PKCE S256 + state); keep nothing, the client remembers."""
        return self._new_authorization(state, scope, self._http())

    def exchange_code(
        self, callback: str, *, state: str | None = None, code_verifier: str | None = None
    ) -> OAuth2Token:
        """Trade the redirect back (its full URL, or a bare code with ``code_verifier``) for tokens."""
        code, verifier = self._code_from(callback, state, code_verifier)
        raw = self._call(
            lambda s: s.fetch_token(
                self.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
                redirect_uri=self.redirect_uri,
            )
        )
        return self._stored(raw, grant="authorization_code", userid=None)

    def client_credentials(self, *, userid: str | None = None, scope: str | None = None) -> OAuth2Token:
        """A generic token for the application, or with ``userid`` a user-specific token."""
        userid = userid if userid is not None else self.userid
        params: dict[str, Any] = {"grant_type": "client_credentials"}
        if userid:
            params["userid"] = userid
        if scope or self.scope:
            params["scope"] = scope or self.scope
        raw = self._call(lambda s: s.fetch_token(self.token_endpoint, **params), retry=True)
        return self._stored(raw, grant="client_credentials", userid=userid)

    def refresh(self) -> OAuth2Token:
        """Trade the refresh token for a new token set (the old refresh token stops working)."""
        with self._lock:
            token = self._token
            if token is None or not token.refresh_token:
                raise self._no_token()
            refresh_token = token.refresh_token
            raw = self._call(lambda s: s.refresh_token(self.token_endpoint, refresh_token=refresh_token))
            return self._stored(raw, grant=token.grant, userid=token.userid)

    def access_token(self) -> str:
        """A valid access token, renewed first when it expires within ``leeway`` seconds."""
        with self._lock:
            if self._needs_renewal():
                self._renew()
            assert self._token is not None
            return self._token.access_token

    def _renew(self) -> None:
        how = self._renewal()
        if how == "refresh":
            self.refresh()
        elif how == "client_credentials":
            self.client_credentials(userid=self._token.userid if self._token else None)
        else:
            raise self._no_token()

    def revoke(self) -> None:
        """Revoke the refresh token (its whole family) or the access token, and forget them."""
        with self._lock:
            token = self._token
            if token is None:
                return
            value, hint = (
                (token.refresh_token, "refresh_token") if token.refresh_token else (token.access_token, "access_token")
            )
            self._call(lambda s: s.revoke_token(self.revoke_endpoint, token=value, token_type_hint=hint))
            self._token = None

    def _stored(self, raw: Mapping[str, Any], *, grant: str, userid: str | None) -> OAuth2Token:
        with self._lock:
            token = self._accept(raw, grant=grant, userid=userid)
        if self.on_token is not None:
            self.on_token(token.to_dict())
        return token

    def _call(self, work: Callable[[Any], Any], *, retry: bool = False) -> Any:
        attempts = self.max_retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                return work(self._http())
            except Exception as exc:  # noqa: BLE001 - translated into the airisk tree below
                error = _translate(exc)
                if attempt + 1 < attempts and isinstance(error, errors.UnavailableError):
                    time.sleep(min(4.0, 0.25 * 2**attempt))
                    continue
                raise error from None
        raise AssertionError("unreachable")


# async ---------------------------------------------------------------------------------------------------


class AsyncOAuth2Client(_OAuth2Base):
    """Async twin of :class:`OAuth2Client` (one event loop at a time)."""

    def __init__(self, base_url: str | None = None, client_id: str | None = None, client_secret: str | None = None,
                 **options: Any) -> None:
        super().__init__(base_url, client_id, client_secret, **options)
        self._lock: asyncio.Lock | None = None
        self._session: Any = None

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def _http(self) -> Any:
        if self._session is None:
            from authlib.integrations.httpx_client import AsyncOAuth2Client as AuthlibClient

            self._session = AuthlibClient(code_challenge_method="S256", **self._session_kwargs())
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.aclose()
            self._session = None

    async def __aenter__(self) -> AsyncOAuth2Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def authorization_url(self, *, state: str | None = None, scope: str | None = None) -> AuthorizationRequest:
        return self._new_authorization(state, scope, self._http())

    async def exchange_code(
        self, callback: str, *, state: str | None = None, code_verifier: str | None = None
    ) -> OAuth2Token:
        code, verifier = self._code_from(callback, state, code_verifier)
        raw = await self._call(
            lambda s: s.fetch_token(
                self.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
                redirect_uri=self.redirect_uri,
            )
        )
        return await self._stored(raw, grant="authorization_code", userid=None)

    async def client_credentials(self, *, userid: str | None = None, scope: str | None = None) -> OAuth2Token:
        userid = userid if userid is not None else self.userid
        params: dict[str, Any] = {"grant_type": "client_credentials"}
        if userid:
            params["userid"] = userid
        if scope or self.scope:
            params["scope"] = scope or self.scope
        raw = await self._call(lambda s: s.fetch_token(self.token_endpoint, **params), retry=True)
        return await self._stored(raw, grant="client_credentials", userid=userid)

    async def refresh(self) -> OAuth2Token:
        token = self._token
        if token is None or not token.refresh_token:
            raise self._no_token()
        refresh_token = token.refresh_token
        raw = await self._call(lambda s: s.refresh_token(self.token_endpoint, refresh_token=refresh_token))
        return await self._stored(raw, grant=token.grant, userid=token.userid)

    async def access_token(self) -> str:
        async with self._guard():
            if self._needs_renewal():
                how = self._renewal()
                if how == "refresh":
                    await self.refresh()
                elif how == "client_credentials":
                    await self.client_credentials(userid=self._token.userid if self._token else None)
                else:
                    raise self._no_token()
            assert self._token is not None
            return self._token.access_token

    async def revoke(self) -> None:
        token = self._token
        if token is None:
            return
        value, hint = (
            (token.refresh_token, "refresh_token") if token.refresh_token else (token.access_token, "access_token")
        )
        await self._call(lambda s: s.revoke_token(self.revoke_endpoint, token=value, token_type_hint=hint))
        self._token = None

    async def _stored(self, raw: Mapping[str, Any], *, grant: str, userid: str | None) -> OAuth2Token:
        token = self._accept(raw, grant=grant, userid=userid)
        if self.on_token is not None:
            outcome = self.on_token(token.to_dict())
            if isinstance(outcome, Awaitable):
                await outcome
        return token

    async def _call(self, work: Callable[[Any], Awaitable[Any]], *, retry: bool = False) -> Any:
        attempts = self.max_retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                return await work(self._http())
            except Exception as exc:  # noqa: BLE001 - translated into the airisk tree below
                error = _translate(exc)
                if attempt + 1 < attempts and isinstance(error, errors.UnavailableError):
                    await asyncio.sleep(min(4.0, 0.25 * 2**attempt))
                    continue
                raise error from None
        raise AssertionError("unreachable")


__all__ = [
    "AccessDeniedError",
    "AsyncOAuth2Client",
    "AuthorizationRequest",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "NoTokenError",
    "OAuth2Client",
    "OAuth2Error",
    "OAuth2Token",
    "OAuthServerError",
    "StateMismatchError",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "oauth_error",
]
