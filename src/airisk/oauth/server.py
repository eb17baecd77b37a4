"""The OAuth2 authorization server: Authlib's grant logic on the airisk store.

What is ours is only the glue Authlib asks a framework integration for (request and
response objects, ``query_client``, ``save_token``, the grants' storage hooks) and the
airisk rules on top:

- authorization code with PKCE S256 required, exact redirect-URI matching, single-use
  codes that live ``code_ttl`` seconds, ``state`` echoed (Authlib);
- client credentials for app-wide ("generic") tokens; ``userid=...`` on that request
  yields a token for one application user of the client's company;
- refresh tokens rotate on every use; presenting a rotated refresh token again revokes
  its whole family (every token descended from the same authorization);
- revocation (RFC 7009): revoking a refresh token revokes its family;
- every secret (client secret, user token, code, access and refresh token) is stored as
  a SHA-256 digest; comparisons are constant-time.

The server is framework-neutral except for :meth:`AuthorizationServer.handle_response`,
which builds a Starlette response; the FastAPI routes live in ``airisk.server.oauth_routes``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

try:
    from authlib.oauth2 import rfc6749
except ImportError:  # pragma: no cover - depends on the installed extras
    from airisk.errors import MissingDependencyError

    raise MissingDependencyError("the OAuth2 authorization server", "server", "authlib") from None
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, JsonPayload, JsonRequest
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import delete, or_, select, update

from airisk.oauth.models import ApplicationUser, OAuthClient, OAuthCode, OAuthToken, digest
from airisk.store.models import new_id, utcnow

log = logging.getLogger("airisk.oauth")

SCOPES: tuple[str, ...] = ("chat", "scan", "admin")
USER_SCOPES: tuple[str, ...] = ("chat", "scan")
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token")


def _scopes(text: str | None) -> list[str]:
    return [part for part in (text or "").split() if part]


# identities Authlib passes around -------------------------------------------------------------


@dataclass(frozen=True)
class AppUserRef:
    """An application user as the grants see it: enough to bind codes and tokens."""

    id: str
    userid: str
    user_id: str
    company_id: str

    def get_user_id(self) -> str:
        return self.id


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    """A registered API client (a detached copy of its row)."""

    client_id: str
    company_id: str
    secret_hash: str
    redirect_uris: list[str]
    scope: str
    service_user_id: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # only when exactly one is registered; otherwise the request must name it
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = _scopes(self.scope)
        if not scope:
            return " ".join(allowed)
        return " ".join(part for part in _scopes(scope) if part in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(digest(client_secret or ""), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass
class Code(rfc6749.AuthorizationCodeMixin):  # type: ignore[misc]
    code_hash: str
    client_id: str
    app_user_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token(TokenMixin):  # type: ignore[misc]
    """An issued token (detached copy of its row)."""

    id: str
    client_id: str
    app_user_id: str | None
    scope: str
    family_id: str
    expires_at: datetime
    refresh_expires_at: datetime | None
    revoked: bool
    presented_refresh: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - utcnow()).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked


def _token(row: OAuthToken) -> Token:
    return Token(
        id=row.id,
        client_id=row.client_id,
        app_user_id=row.app_user_id,
        scope=row.scope,
        family_id=row.family_id,
        expires_at=row.expires_at,
        refresh_expires_at=row.refresh_expires_at,
        revoked=row.revoked_at is not None,
    )


@dataclass(frozen=True)
class AccessGrant:
    """What a valid bearer token allows: whom it acts as, in which company, with which scopes."""

    token_id: str
    client_id: str
    company_id: str
    user_id: str
    app_user_id: str | None
    scopes: frozenset[str]

    @property
    def generic(self) -> bool:
        return self.app_user_id is None


class InvalidToken(Exception):
    """The bearer token is unknown, expired or revoked (RFC 6750 ``invalid_token``)."""


# requests -----------------------------------------------------------------------------------------


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth2 request built from an already-read HTTP request.

    The protocol parameters are the query string's for the authorization endpoint and the
    form body's for the token and revocation endpoints (``protocol_from``); the other source
    never overrides them. ``form`` and ``args`` stay available as read.
    """

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        form: bytes,
        *,
        protocol_from: str = "form",
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args = _multi(query)
        self._form = _multi(parse_qsl(form.decode("utf-8", errors="replace"), keep_blank_values=True))
        source = self._args if protocol_from == "query" else self._form
        self.payload = BasicOAuth2Payload(_first(source))
        self.payload._datalist = {key: list(values) for key, values in source.items()}

    @property
    def args(self) -> dict[str, str]:
        return _first(self._args)

    @property
    def form(self) -> dict[str, str]:
        return _first(self._form)


class _JsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


class JsonBodyRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: Mapping[str, str], data: dict[str, Any]) -> None:
        super().__init__(method, uri, headers)
        self.payload = _JsonPayload(data)


def _multi(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _first(values: Mapping[str, list[str]]) -> dict[str, str]:
    return {key: items[0] for key, items in values.items() if items}


# grants -----------------------------------------------------------------------------------------


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE required for every client, S256 only (plain is refused)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE 'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: Code) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Code) -> str:
        return authorization_code.code_challenge_method


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    server: AuthorizationServer

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        user: AppUserRef = request.user
        data = request.payload.data
        with self.server.store.write() as session:
            session.add(
                OAuthCode(
                    code_hash=digest(code),
                    client_id=request.client.client_id,
                    app_user_id=user.id,
                    redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
                    scope=self.server.user_scope(request.scope),
                    code_challenge=data["code_challenge"],
                    code_challenge_method=data["code_challenge_method"],
                    expires_at=utcnow() + timedelta(seconds=self.server.code_ttl),
                )
            )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        """Find and consume the code in one step: a code works once, even under concurrent use."""
        with self.server.store.write() as session:
            row = session.get(OAuthCode, digest(code))
            if row is None:
                return None
            session.delete(row)
            if row.client_id != client.client_id or row.expires_at <= utcnow():
                return None
            return Code(
                code_hash=row.code_hash,
                client_id=row.client_id,
                app_user_id=row.app_user_id,
                redirect_uri=row.redirect_uri,
                scope=row.scope,
                code_challenge=row.code_challenge,
                code_challenge_method=row.code_challenge_method,
            )

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Already consumed by :meth:`query_authorization_code`."""

    def authenticate_user(self, authorization_code: Code) -> AppUserRef | None:
        return self.server.app_user(authorization_code.app_user_id)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    """App-wide tokens; ``userid`` makes the token act for one application user instead."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    server: AuthorizationServer

    def validate_token_request(self) -> None:
        super().validate_token_request()
        userid = self.request.form.get("userid")
        self.request.user = None
        if userid is not None:
            user = self.server.find_app_user(self.request.client.company_id, userid)
            if user is None:
                raise InvalidRequestError("unknown 'userid' for this client's company")
            self.request.user = user

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: Client = self.request.client
        scope = client.get_allowed_scope(self.request.payload.scope)
        if self.request.user is not None:
            scope = self.server.user_scope(scope)
        token = self.generate_token(user=self.request.user, scope=scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: AuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        with self.server.store.write() as session:
            row = session.scalar(select(OAuthToken).where(OAuthToken.refresh_hash == digest(refresh_token)))
            if row is None:
                return None
            if row.rotated_at is not None:
                log.warning("refresh token reused; revoking token family %s", row.family_id)
                self.server.revoke_family(session, row.family_id)
                return None
            if row.revoked_at is not None or (row.refresh_expires_at and row.refresh_expires_at <= utcnow()):
                return None
            return _token(row)

    def authenticate_user(self, refresh_token: Token) -> AppUserRef | None:
        return self.server.app_user(refresh_token.app_user_id) if refresh_token.app_user_id else None

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Rotate: the old refresh token (and its access token) stop working; a concurrent twin loses."""
        with self.server.store.write() as session:
            now = utcnow()
            done = session.execute(
                update(OAuthToken)
                .where(OAuthToken.id == refresh_token.id, OAuthToken.rotated_at.is_(None))
                .values(rotated_at=now, revoked_at=now)
            )
            if getattr(done, "rowcount", 1) == 0:
                self.server.revoke_family(session, refresh_token.family_id)
        if getattr(done, "rowcount", 1) == 0:
            raise InvalidGrantError("refresh token already used")


class RevocationEndpoint(_RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS
    server: AuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        hashed = digest(token_string)
        with self.server.store.read() as session:
            if token_type_hint == "access_token":
                clause = OAuthToken.access_hash == hashed
            elif token_type_hint == "refresh_token":
                clause = OAuthToken.refresh_hash == hashed
            else:
                clause = or_(OAuthToken.access_hash == hashed, OAuthToken.refresh_hash == hashed)
            row = session.scalar(select(OAuthToken).where(clause))
            if row is None:
                return None
            token = _token(row)
            token.presented_refresh = row.refresh_hash == hashed
            return token

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        with self.server.store.write() as session:
            if token.presented_refresh:
                self.server.revoke_family(session, token.family_id)
            else:
                session.execute(
                    update(OAuthToken)
                    .where(OAuthToken.id == token.id, OAuthToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )


# the server -----------------------------------------------------------------------------------------


class AuthorizationServer(rfc6749.AuthorizationServer):  # type: ignore[misc]
    """Authlib's AuthorizationServer on the airisk store, answering with Starlette responses."""

    def __init__(
        self,
        store: Any,
        *,
        access_ttl: int = 3600,
        refresh_ttl: int = 30 * 24 * 3600,
        code_ttl: int = 60,
    ) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.store = store
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.code_ttl = code_ttl
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: secrets.token_urlsafe(32),
                refresh_token_generator=lambda **_: secrets.token_urlsafe(48),
                expires_generator=lambda client, grant_type: access_ttl,
            ),
        )
        self.register_grant(AuthorizationCodeGrant, [S256Only(required=True)])
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(RevocationEndpoint)

    # what Authlib asks of an integration -------------------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        with self.store.read() as session:
            row = session.get(OAuthClient, client_id)
            if row is None or row.revoked_at is not None:
                return None
            return Client(
                client_id=row.id,
                company_id=row.company_id,
                secret_hash=row.secret_hash,
                redirect_uris=list(row.redirect_uris or []),
                scope=row.scope,
                service_user_id=row.service_user_id,
            )

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        user: AppUserRef | None = request.user
        old: Token | None = getattr(request, "refresh_token", None)
        now = utcnow()
        refresh = token.get("refresh_token")
        with self.store.write() as session:
            session.add(
                OAuthToken(
                    id=new_id("tok"),
                    client_id=request.client.client_id,
                    app_user_id=user.id if user is not None else None,
                    access_hash=digest(token["access_token"]),
                    refresh_hash=digest(refresh) if refresh else None,
                    scope=token.get("scope") or "",
                    family_id=old.family_id if isinstance(old, Token) else new_id("fam"),
                    issued_at=now,
                    expires_at=now + timedelta(seconds=int(token.get("expires_in") or self.access_ttl)),
                    refresh_expires_at=now + timedelta(seconds=self.refresh_ttl) if refresh else None,
                )
            )

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("build the request with FormRequest(...) before calling the server")

    def create_json_request(self, request: Any) -> JsonRequest:
        if isinstance(request, JsonRequest):
            return request
        raise TypeError("build the request with JsonBodyRequest(...) before calling the server")

    def handle_response(self, status: int, body: Any, headers: Sequence[tuple[str, str]]) -> Any:
        import json

        from starlette.responses import Response

        content = json.dumps(body) if isinstance(body, dict) else (body or "")
        return Response(content=content, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        client = kwargs.get("client")
        log.info("oauth %s client=%s", name, getattr(client, "client_id", None))

    # airisk rules ----------------------------------------------------------------------------------

    def user_scope(self, scope: str | None) -> str:
        """A user-specific token never carries the ``admin`` scope."""
        return " ".join(part for part in _scopes(scope) if part in USER_SCOPES)

    def app_user(self, app_user_id: str) -> AppUserRef | None:
        with self.store.read() as session:
            row = session.get(ApplicationUser, app_user_id)
            return _ref(row) if row is not None else None

    def find_app_user(self, company_id: str, userid: str) -> AppUserRef | None:
        with self.store.read() as session:
            row = session.scalar(
                select(ApplicationUser).where(
                    ApplicationUser.company_id == company_id, ApplicationUser.userid == userid
                )
            )
            return _ref(row) if row is not None else None

    def sign_in(self, company_id: str, userid: str, user_token: str) -> AppUserRef | None:
        """The application user whose user token this is (authorization endpoint sign-in)."""
        with self.store.read() as session:
            row = session.scalar(
                select(ApplicationUser).where(
                    ApplicationUser.company_id == company_id, ApplicationUser.userid == userid
                )
            )
            if row is None or row.login_hash is None:
                return None
            if not hmac.compare_digest(row.login_hash, digest(user_token or "")):
                return None
            return _ref(row)

    @staticmethod
    def revoke_family(session: Any, family_id: str) -> None:
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.family_id == family_id, OAuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    def validate_bearer(self, access_token: str) -> AccessGrant:
        """The grant behind an access token; raises :class:`InvalidToken` when it is not usable."""
        with self.store.read() as session:
            row = session.scalar(select(OAuthToken).where(OAuthToken.access_hash == digest(access_token)))
            if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
                raise InvalidToken("the access token is unknown, expired or revoked")
            client = session.get(OAuthClient, row.client_id)
            if client is None or client.revoked_at is not None:
                raise InvalidToken("the client of this token is revoked")
            user_id = client.service_user_id
            if row.app_user_id is not None:
                app_user = session.get(ApplicationUser, row.app_user_id)
                if app_user is None:
                    raise InvalidToken("the user of this token no longer exists")
                user_id = app_user.user_id
            return AccessGrant(
                token_id=row.id,
                client_id=row.client_id,
                company_id=client.company_id,
                user_id=user_id,
                app_user_id=row.app_user_id,
                scopes=frozenset(_scopes(row.scope)),
            )

    def revoke_user_tokens(self, session: Any, app_user_id: str) -> None:
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.app_user_id == app_user_id, OAuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        session.execute(delete(OAuthCode).where(OAuthCode.app_user_id == app_user_id))


def _ref(row: ApplicationUser) -> AppUserRef:
    return AppUserRef(id=row.id, userid=row.userid, user_id=row.user_id, company_id=row.company_id)


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def new_client_id() -> str:
    return f"cli_{secrets.token_hex(12)}"


__all__ = [
    "SCOPES",
    "USER_SCOPES",
    "AccessGrant",
    "AppUserRef",
    "AuthorizationServer",
    "Client",
    "FormRequest",
    "InvalidToken",
    "JsonBodyRequest",
    "new_client_id",
    "new_client_secret",
]
