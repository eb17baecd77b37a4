"""Server settings, read from ``AIRISK_*`` environment variables (or given directly)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "AIRISK_"


class ServerSettings(BaseModel):
    """Everything a deployment tunes; every instance of one deployment must share these."""

    model_config = ConfigDict(extra="forbid")

    database_url: str = Field(default="airisk.db", description="SQLite file path or postgresql+psycopg:// URL")
    redis_url: str | None = Field(default=None, description="shared rate limits across instances when set")
    secret_key: str | None = Field(
        default=None, repr=False, exclude=True, description="encrypts secrets and vaults at rest (AIRISK_SECRET_KEY)"
    )
    migrate_on_start: bool = Field(default=True, description="run Alembic migrations when the app starts")
    default_policy: str = Field(default="basic", description="policy for scans without an agent or company policy")
    max_request_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_message_chars: int = Field(default=32_000, gt=0)
    max_files_per_request: int = Field(default=10, ge=0)
    rate_limit_per_minute: int = Field(default=600, ge=0, description="requests per token per minute; 0 = off")
    rate_limit_burst: int = Field(default=60, ge=1)
    access_token_ttl: int = Field(default=3600, gt=0)
    refresh_token_ttl: int = Field(default=30 * 24 * 3600, gt=0)
    code_ttl: int = Field(default=60, gt=0, description="authorization code lifetime in seconds")
    access_log: bool = True
    idempotency_ttl: int = Field(default=24 * 3600, gt=0, description="how long an Idempotency-Key's outcome is kept")
    idempotency_lease: int = Field(
        default=600, gt=0, description="seconds after which a still-running keyed request counts as abandoned"
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> ServerSettings:
        """Settings from ``AIRISK_<FIELD>`` variables (e.g. AIRISK_DATABASE_URL), then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = raw.lower() in {"1", "true", "yes", "on"} if name in _BOOLS else raw
        values.update(overrides)
        return cls(**values)


_BOOLS = {"migrate_on_start", "access_log"}

__all__ = ["ServerSettings"]
