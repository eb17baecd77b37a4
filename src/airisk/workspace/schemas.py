"""Pydantic models the services take and return; the server exposes them unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airisk.workspace.permissions import Role

MessageStorage = Literal["original", "redacted", "dropped"]
UserStatus = Literal["invited", "active", "disabled", "deleted"]
AgentKind = Literal["agent", "template", "default"]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# companies ----------------------------------------------------------------------------


class CompanyCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    website: str | None = None
    contact_email: str | None = None
    message_storage: MessageStorage = "redacted"
    retention_days: int | None = Field(default=None, ge=1)


class CompanyUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    website: str | None = None
    contact_email: str | None = None
    message_storage: MessageStorage | None = None
    retention_days: int | None = Field(default=None, ge=1)


class CompanyOut(_Out):
    id: str
    name: str
    description: str
    website: str | None
    contact_email: str | None
    message_storage: MessageStorage
    retention_days: int | None
    created_at: datetime
    updated_at: datetime


class ProviderSettingsOut(_Out):
    """Company-wide engine settings with every value masked: names only, never credentials."""

    engine: str
    keys: list[str]


# users --------------------------------------------------------------------------------


class UserOut(_Out):
    id: str
    company_id: str | None
    email: str
    name: str
    role: str
    server_admin: bool
    status: UserStatus
    default_agent_id: str | None
    created_at: datetime


class UserUpdate(_In):
    name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    status: Literal["active", "disabled"] | None = None


class InvitationOut(_Out):
    """An invitation; ``token`` is present only in the answer to ``invite`` (shown once)."""

    id: str
    company_id: str
    user_id: str
    email: str
    role: str
    expires_at: datetime
    accepted_at: datetime | None = None
    token: str | None = Field(default=None, repr=False)


class UserFilter(_In):
    role: Role | None = None
    status: UserStatus | None = None
    email_contains: str | None = None
    group_id: str | None = None


def _email(value: str) -> str:
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        raise ValueError("not an email address")
    return value


class Invite(_In):
    email: str
    role: Role = "user"
    name: str = ""
    valid_for_hours: float = Field(default=72.0, gt=0, le=24 * 30)

    _check_email = field_validator("email")(_email)


# groups --------------------------------------------------------------------------------


class GroupCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class GroupOut(_Out):
    id: str
    company_id: str
    name: str
    description: str
    created_at: datetime
    member_ids: list[str] = Field(default_factory=list)
    agent_ids: list[str] = Field(default_factory=list)


# agents --------------------------------------------------------------------------------


class AgentCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    system_prompt: str | None = None
    engine: str = "echo"
    engine_settings: dict[str, Any] = Field(default_factory=dict)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_messages: int | None = Field(default=None, ge=2)
    scanner_policy: dict[str, Any] = Field(default_factory=dict)
    message_storage: MessageStorage | None = None


class AgentUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    system_prompt: str | None = None
    engine: str | None = None
    engine_settings: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_messages: int | None = Field(default=None, ge=2)
    scanner_policy: dict[str, Any] | None = None
    message_storage: MessageStorage | None = None


class AgentOut(_Out):
    id: str
    company_id: str | None
    kind: AgentKind
    name: str
    description: str
    system_prompt: str | None
    engine: str
    engine_settings: dict[str, Any]
    temperature: float | None
    max_tokens: int | None
    max_messages: int | None
    scanner_policy: dict[str, Any]
    message_storage: MessageStorage | None
    template_id: str | None
    created_at: datetime
    updated_at: datetime


class ApiKeyOut(_Out):
    id: str
    agent_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    """The answer to creating a key: the only time the full key is ever shown."""

    key: str = Field(repr=False)


class FileOut(_Out):
    id: str
    name: str
    media_type: str | None
    size: int
    sha256: str
    created_at: datetime
    report: dict[str, Any] | None = Field(
        default=None, description="the input scanners' report on this file, when it was just added"
    )


# conversations -----------------------------------------------------------------------------


class ConversationOut(_Out):
    id: str
    company_id: str
    agent_id: str | None
    user_id: str | None
    api_key_id: str | None
    title: str
    client_ip: str | None
    country: str | None
    message_count: int
    input_tokens: int
    output_tokens: int
    blocked_count: int
    flagged_count: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    archive_id: str | None


class MessageOut(_Out):
    id: str
    conversation_id: str
    seq: int
    role: str
    content: str | None
    content_state: MessageStorage
    verdict: str
    blocked: bool
    report: dict[str, Any] | None
    usage: dict[str, Any] | None
    engine: str | None
    model: str | None
    latency_ms: float | None
    client_ip: str | None
    country: str | None
    created_at: datetime


class ConversationFilter(_In):
    agent_id: str | None = None
    user_id: str | None = None
    flagged_only: bool = False
    blocked_only: bool = False
    since: datetime | None = None
    until: datetime | None = None


class ArchivedConversation(_Out):
    conversation: ConversationOut
    messages: list[MessageOut]
    archive_id: str


# audit, archive, secrets ----------------------------------------------------------------------


class AuditEventOut(_Out):
    seq: int
    id: str
    company_id: str | None
    actor_id: str | None
    actor_role: str | None
    action: str
    target_type: str | None
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime
    hash: str


class AuditFilter(_In):
    actor_id: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditVerification(BaseModel):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    bad_seq: int | None = None


class ArchiveOut(_Out):
    id: str
    company_id: str
    conversation_count: int
    message_count: int
    cutoff: datetime
    sha256: str
    size: int
    created_at: datetime
    restored_at: datetime | None


class ArchiveRun(BaseModel):
    archives: list[ArchiveOut]
    conversations: int
    messages: int


class SecretOut(_Out):
    """A secret's metadata; the value is never returned after creation."""

    id: str
    company_id: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


__all__ = [
    "AgentCreate",
    "AgentOut",
    "AgentUpdate",
    "ApiKeyCreated",
    "ApiKeyOut",
    "ArchiveOut",
    "ArchiveRun",
    "ArchivedConversation",
    "AuditEventOut",
    "AuditFilter",
    "AuditVerification",
    "CompanyCreate",
    "CompanyOut",
    "CompanyUpdate",
    "ConversationFilter",
    "ConversationOut",
    "FileOut",
    "GroupCreate",
    "GroupOut",
    "InvitationOut",
    "Invite",
    "MessageOut",
    "ProviderSettingsOut",
    "SecretOut",
    "UserFilter",
    "UserOut",
    "UserUpdate",
]
