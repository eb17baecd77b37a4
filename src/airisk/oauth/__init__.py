"""OAuth2 for airisk: the authorization server (``airisk.oauth.server``) and its tables, and the
client applications use to sign in (``airisk.oauth.client``, exported here lazily)."""

from __future__ import annotations

import importlib
from typing import Any

_CLIENT_NAMES = {
    "OAuth2Client",
    "AsyncOAuth2Client",
    "OAuth2Token",
    "AuthorizationRequest",
    "OAuth2Error",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "AccessDeniedError",
    "StateMismatchError",
    "NoTokenError",
}


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        return getattr(importlib.import_module("airisk.oauth.client"), name)
    raise AttributeError(f"module 'airisk.oauth' has no attribute {name!r}")
