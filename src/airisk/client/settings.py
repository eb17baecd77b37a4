"""Client settings: keyword arguments first, then ``AIRISK_*`` environment variables, then defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from airisk.errors import ConfigurationError

DEFAULT_BASE_URL = "http://127.0.0.1:8000"

# field -> environment variable
ENVIRONMENT: dict[str, str] = {
    "base_url": "AIRISK_BASE_URL",
    "api_key": "AIRISK_API_KEY",
    "access_token": "AIRISK_ACCESS_TOKEN",
    "client_id": "AIRISK_CLIENT_ID",
    "client_secret": "AIRISK_CLIENT_SECRET",
    "userid": "AIRISK_USERID",
    "scope": "AIRISK_SCOPE",
    "timeout": "AIRISK_TIMEOUT",
    "connect_timeout": "AIRISK_CONNECT_TIMEOUT",
    "max_retries": "AIRISK_MAX_RETRIES",
}

# read from the environment only when no credential (userid aside) is given as an argument
CREDENTIALS = frozenset({"api_key", "access_token", "client_id", "client_secret", "userid"})


class ClientSettings(BaseModel):
    """How to reach a deployment and whom to act as. Secrets are ``SecretStr``: never printed."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr | None = Field(default=None, description="an agent API key (chat and scan only)")
    access_token: SecretStr | None = Field(default=None, description="a bearer token obtained elsewhere")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    userid: str | None = Field(default=None, description="act for this application user (user-specific token)")
    scope: str | None = None
    timeout: float = Field(default=60.0, gt=0, description="seconds to wait for an answer")
    connect_timeout: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    backoff_initial: float = Field(default=0.5, ge=0, description="first retry delay; doubles each attempt")
    backoff_max: float = Field(default=8.0, ge=0)
    max_retry_after: float = Field(default=60.0, ge=0, description="longest Retry-After the client will wait")

    @classmethod
    def resolve(
        cls, environ: Mapping[str, str] | None = None, *, explicit_credentials: bool = False, **given: Any
    ) -> ClientSettings:
        """Settings from ``given`` (None means "not given"), then the environment, then defaults.

        Credentials are taken as a set: when any of them is given as an argument (or
        ``explicit_credentials`` says one came another way), none is read from the environment.
        """
        env = os.environ if environ is None else environ
        explicit = explicit_credentials or any(given.get(name) is not None for name in CREDENTIALS - {"userid"})
        values: dict[str, Any] = {}
        for name, variable in ENVIRONMENT.items():
            raw = env.get(variable)
            if raw and not (explicit and name in CREDENTIALS):
                values[name] = raw
        values.update({key: value for key, value in given.items() if value is not None})
        try:
            settings = cls(**values)
        except ValueError as exc:
            raise ConfigurationError(f"invalid client settings: {_safe(exc)}") from None
        settings.base_url = settings.base_url.rstrip("/")
        if settings.client_secret is not None and settings.client_id is None:
            raise ConfigurationError("client_secret is set but client_id is not (AIRISK_CLIENT_ID)")
        return settings

    @property
    def credential_kind(self) -> str:
        """Which credential requests will carry: api_key, access_token, client_credentials or none."""
        if self.api_key is not None:
            return "api_key"
        if self.access_token is not None:
            return "access_token"
        if self.client_id is not None and self.client_secret is not None:
            return "client_credentials"
        return "none"


def _safe(exc: ValueError) -> str:
    """A validation error's locations and messages, without the (possibly secret) input values."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return type(exc).__name__


__all__ = ["CREDENTIALS", "DEFAULT_BASE_URL", "ENVIRONMENT", "ClientSettings"]
