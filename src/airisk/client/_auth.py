"""Where the bearer credential of each request comes from: a fixed key or token, or an OAuth2 client."""

from __future__ import annotations

import asyncio
from typing import Any

from airisk.client.settings import ClientSettings
from airisk.errors import ConfigurationError


class CredentialSource:
    """A fixed credential (agent API key or a bearer token obtained elsewhere), or none."""

    renewable = False

    def __init__(self, secret: str | None) -> None:
        self._secret = secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}(set={self._secret is not None})"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._secret}"} if self._secret else {}

    async def aheaders(self) -> dict[str, str]:
        return self.headers()

    def invalidate(self) -> None:
        """A fixed credential cannot be renewed."""

    def close(self) -> None:
        """Nothing to release."""

    async def aclose(self) -> None:
        """Nothing to release."""


class OAuthSource(CredentialSource):
    """Tokens from an OAuth2 client, renewed before expiry and after an ``invalid_token`` answer."""

    renewable = True

    def __init__(self, oauth: Any, *, owned: bool) -> None:
        super().__init__(None)
        self.oauth = oauth
        self.owned = owned

    def __repr__(self) -> str:
        return f"OAuthSource({self.oauth!r})"

    def headers(self) -> dict[str, str]:
        from airisk.oauth.client import AsyncOAuth2Client

        if isinstance(self.oauth, AsyncOAuth2Client):
            raise ConfigurationError("the synchronous Client needs a synchronous OAuth2Client")
        return {"Authorization": f"Bearer {self.oauth.access_token()}"}

    async def aheaders(self) -> dict[str, str]:
        from airisk.oauth.client import AsyncOAuth2Client

        if isinstance(self.oauth, AsyncOAuth2Client):
            token = await self.oauth.access_token()
        else:
            token = await asyncio.to_thread(self.oauth.access_token)
        return {"Authorization": f"Bearer {token}"}

    def invalidate(self) -> None:
        self.oauth.invalidate()

    def close(self) -> None:
        if self.owned and hasattr(self.oauth, "close"):
            self.oauth.close()

    async def aclose(self) -> None:
        if not self.owned:
            return
        if hasattr(self.oauth, "aclose"):
            await self.oauth.aclose()
        elif hasattr(self.oauth, "close"):
            self.oauth.close()


def credential_source(settings: ClientSettings, oauth: Any, *, use_async: bool) -> CredentialSource:
    """The source for these settings: ``oauth`` given, else API key, access token, client credentials."""
    if oauth is not None:
        return OAuthSource(oauth, owned=False)
    kind = settings.credential_kind
    if kind == "api_key":
        assert settings.api_key is not None
        return CredentialSource(settings.api_key.get_secret_value())
    if kind == "access_token":
        assert settings.access_token is not None
        return CredentialSource(settings.access_token.get_secret_value())
    if kind == "client_credentials":
        from airisk.oauth.client import AsyncOAuth2Client, OAuth2Client

        assert settings.client_secret is not None
        cls = AsyncOAuth2Client if use_async else OAuth2Client
        client = cls(
            settings.base_url,
            settings.client_id,
            settings.client_secret.get_secret_value(),
            userid=settings.userid,
            scope=settings.scope,
            timeout=settings.timeout,
        )
        return OAuthSource(client, owned=True)
    return CredentialSource(None)
