"""The OAuth2 tables: registered API clients, application users, codes and tokens.

They share the workspace's metadata (and its Alembic history: revision ``0002_oauth``).
Every secret is stored as a SHA-256 digest only: client secrets, user login tokens,
authorization codes, access and refresh tokens. Tokens of one refresh chain share a
``family_id`` so a reused refresh token can revoke the whole chain.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from airisk.store.models import Base, utcnow


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (what the tables store instead of the secret)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class OAuthClient(Base):
    """An API client (APIUser): confidential, with exact redirect URIs, acting for one company.

    ``service_user_id`` is the workspace user a generic (app-wide) token acts as; its role
    decides what the client may do, so permissions stay the workspace's.
    """

    __tablename__ = "oauth_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    secret_hash: Mapped[str] = mapped_column(String(64))
    redirect_uris: Mapped[list[Any]] = mapped_column(default=list)
    scope: Mapped[str] = mapped_column(String(200))
    service_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class ApplicationUser(Base):
    """A person of a client application, known by the application's own ``userid``.

    Backed by a workspace user (role ``user``) so agent assignments and conversation
    ownership are the workspace's rules. ``login_hash`` is the digest of the user token
    set through the Users API, used to sign in at the authorization endpoint.
    """

    __tablename__ = "oauth_app_users"
    __table_args__ = (UniqueConstraint("company_id", "userid"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    chat_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    login_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthCode(Base):
    """A single-use, short-lived authorization code bound to client, redirect URI and PKCE challenge."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    app_user_id: Mapped[str] = mapped_column(ForeignKey("oauth_app_users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(200), default="")
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    expires_at: Mapped[datetime] = mapped_column()


class OAuthToken(Base):
    """An issued access token and (maybe) its refresh token, both stored as digests."""

    __tablename__ = "oauth_tokens"
    __table_args__ = (Index("ix_oauth_tokens_family", "family_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    app_user_id: Mapped[str | None] = mapped_column(ForeignKey("oauth_app_users.id", ondelete="CASCADE"))
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(200), default="")
    family_id: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    refresh_expires_at: Mapped[datetime | None] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


__all__ = ["ApplicationUser", "OAuthClient", "OAuthCode", "OAuthToken", "digest"]
