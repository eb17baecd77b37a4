"""What the server answers, as typed objects.

These mirror the server's schemas but live on the client side so ``pip install
'airisk[client]'`` needs no database or web framework. Unknown fields are kept
(``extra="allow"``), so a newer server never breaks an older client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from airisk.types import ScanReport


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class AgentInfo(_Model):
    id: str
    name: str
    company_id: str | None = None
    kind: str = "agent"
    description: str = ""
    system_prompt: str | None = None
    engine: str = ""
    engine_settings: dict[str, Any] = Field(default_factory=dict)
    temperature: float | None = None
    max_tokens: int | None = None
    max_messages: int | None = None
    scanner_policy: dict[str, Any] = Field(default_factory=dict)
    message_storage: str | None = None
    template_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ConversationInfo(_Model):
    id: str
    company_id: str | None = None
    agent_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    title: str = ""
    client_ip: str | None = None
    country: str | None = None
    message_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    blocked_count: int = 0
    flagged_count: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    archived_at: datetime | None = None
    archive_id: str | None = None


class MessageInfo(_Model):
    """A stored message with the scan report it was given."""

    id: str
    conversation_id: str
    seq: int
    role: str
    content: str | None = None
    content_state: str = "original"
    verdict: str = "pass"
    blocked: bool = False
    report: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    engine: str | None = None
    model: str | None = None
    latency_ms: float | None = None
    created_at: datetime | None = None


class FileInfo(_Model):
    id: str
    name: str
    media_type: str | None = None
    size: int = 0
    sha256: str = ""
    created_at: datetime | None = None
    report: ScanReport | None = None


class UserInfo(_Model):
    id: str
    company_id: str | None = None
    email: str = ""
    name: str = ""
    role: str = "user"
    status: str = "active"
    default_agent_id: str | None = None
    created_at: datetime | None = None


class ApplicationUser(_Model):
    """A person of your application (``userid``), backed by a workspace user (``id``)."""

    id: str
    userid: str
    company_id: str | None = None
    chat_settings: dict[str, Any] = Field(default_factory=dict)
    agent_ids: list[str] = Field(default_factory=list)
    has_user_token: bool = False
    created_at: datetime | None = None


class UserToken(_Model):
    """The token a user signs in with at /oauth/authorize; shown once."""

    user_id: str
    userid: str | None = None
    user_token: str = Field(repr=False)


class GroupInfo(_Model):
    id: str
    name: str
    company_id: str | None = None
    description: str = ""
    member_ids: list[str] = Field(default_factory=list)
    agent_ids: list[str] = Field(default_factory=list)
    created_at: datetime | None = None


class ApiKeyInfo(_Model):
    id: str
    agent_id: str
    name: str = ""
    prefix: str = ""
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyInfo):
    """A new API key: the only time the full key is shown."""

    key: str = Field(repr=False)


class SecretInfo(_Model):
    """A secret's name and description; values never come back."""

    id: str
    name: str
    company_id: str | None = None
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


class AuditEvent(_Model):
    seq: int
    id: str
    action: str
    company_id: str | None = None
    actor_id: str | None = None
    actor_role: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    created_at: datetime | None = None
    hash: str = ""


class AuditVerification(_Model):
    ok: bool
    checked: int = 0
    head_seq: int = 0
    head_hash: str = ""
    problem: str | None = None
    bad_seq: int | None = None


class ArchiveInfo(_Model):
    id: str
    company_id: str | None = None
    conversation_count: int = 0
    message_count: int = 0
    cutoff: datetime | None = None
    sha256: str = ""
    size: int = 0
    created_at: datetime | None = None
    restored_at: datetime | None = None


class ArchiveRun(_Model):
    archives: list[ArchiveInfo] = Field(default_factory=list)
    conversations: int = 0
    messages: int = 0


class CompanyInfo(_Model):
    id: str
    name: str
    description: str = ""
    website: str | None = None
    contact_email: str | None = None
    message_storage: str = "original"
    retention_days: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ProviderSettings(_Model):
    """A company's settings for one engine: the names of what is set, never the values."""

    engine: str
    keys: list[str] = Field(default_factory=list)


class Health(_Model):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


__all__ = [
    "AgentInfo",
    "ApiKeyCreated",
    "ApiKeyInfo",
    "ApplicationUser",
    "ArchiveInfo",
    "ArchiveRun",
    "AuditEvent",
    "AuditVerification",
    "CompanyInfo",
    "ConversationInfo",
    "FileInfo",
    "GroupInfo",
    "Health",
    "MessageInfo",
    "ProviderSettings",
    "SecretInfo",
    "UserInfo",
    "UserToken",
]
