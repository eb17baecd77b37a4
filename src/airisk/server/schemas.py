"""Request and response bodies of the REST API that the workspace does not already define."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airisk.types import Direction, FileAttachment, Reply, ScanReport
from airisk.workspace import ConversationOut, MessageOut


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    type: str = Field(description="machine-readable error kind, e.g. not_found, permission_denied")
    message: str
    report: dict[str, Any] | None = Field(default=None, description="the scan report, when scanners refused")


class ErrorBody(BaseModel):
    """Every non-OAuth error of the API."""

    error: ErrorDetail


class FileIn(_In):
    name: str = Field(min_length=1, max_length=300)
    content_base64: str = Field(description="the file's bytes, standard base64")
    media_type: str | None = Field(default=None, max_length=200)

    def decoded(self) -> bytes:
        from airisk.errors import InputError

        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InputError(f"file {self.name!r}: content_base64 is not valid base64") from None

    def attachment(self) -> FileAttachment:
        return FileAttachment(name=self.name, content=self.decoded(), media_type=self.media_type)


class ScanRequest(_In):
    text: str = Field(description="the message to scan")
    direction: Direction = Direction.INPUT
    client_ip: str | None = Field(default=None, max_length=64, description="for geographic gating")
    files: list[FileIn] = Field(default_factory=list)
    agent_id: str | None = Field(
        default=None, description="scan with this agent's policy (merged with company defaults)"
    )


class ConversationCreate(_In):
    agent_id: str = Field(min_length=1, max_length=64)
    title: str = Field(default="", max_length=300)
    client_ip: str | None = Field(default=None, max_length=64)


class ChatRequest(_In):
    text: str = Field(description="the user's message")
    files: list[FileIn] = Field(default_factory=list, description="files sent with this message only")
    client_ip: str | None = Field(default=None, max_length=64)
    stream: bool = Field(default=False, description="answer as Server-Sent Events (text, blocked, done)")


class AskRequest(_In):
    text: str
    client_ip: str | None = Field(default=None, max_length=64)


def without_model_text(report: ScanReport) -> ScanReport:
    """The report without any copy of the text it scanned (whole, sanitised or per scanner)."""
    results = [result.model_copy(update={"sanitized_text": None}) for result in report.results]
    return report.model_copy(update={"text": "", "sanitized_text": "", "results": results})


def public_reply(reply: Reply) -> Reply:
    """The reply as a caller may see it: the output report keeps verdicts, spans and reasons
    but not the model's own text, which holds what was refused or redacted."""
    if reply.output_report is None:
        return reply
    return reply.model_copy(update={"output_report": without_model_text(reply.output_report)})


class TurnOut(BaseModel):
    """The answer to a chat turn: the reply (with both scan reports) and its conversation."""

    conversation_id: str
    reply: Reply

    @field_validator("reply")
    @classmethod
    def _public(cls, reply: Reply) -> Reply:
        return public_reply(reply)


class ConversationDetail(BaseModel):
    """A conversation and one page of its messages, each with its scan report."""

    conversation: ConversationOut
    messages: list[MessageOut]
    has_more: bool = False
    next_cursor: str | None = None


class FilesIn(_In):
    files: list[FileIn] = Field(min_length=1)


class AppUserCreate(_In):
    userid: str = Field(min_length=1, max_length=200, description="your application's id for this person")
    agent_ids: list[str] = Field(default_factory=list, description="agents this user may use")
    chat_settings: dict[str, Any] = Field(default_factory=dict)


class UserTokenOut(BaseModel):
    """The user token, shown once: the user signs in with it at /oauth/authorize."""

    user_id: str
    userid: str | None = None
    user_token: str


class IdIn(_In):
    id: str = Field(min_length=1, max_length=64)


class GroupIn(_In):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class FromTemplate(_In):
    template_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ApiKeyIn(_In):
    name: str = Field(default="", max_length=200)


class SecretIn(_In):
    name: str = Field(min_length=1, max_length=100)
    value: str = Field(min_length=1, repr=False)
    description: str = ""
    replace: bool = False


class ArchiveRunIn(_In):
    older_than_days: float | None = Field(default=None, ge=0, le=36500)


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


__all__ = [
    "ApiKeyIn",
    "AppUserCreate",
    "ArchiveRunIn",
    "AskRequest",
    "ChatRequest",
    "ConversationCreate",
    "ConversationDetail",
    "ErrorBody",
    "FileIn",
    "FilesIn",
    "FromTemplate",
    "GroupIn",
    "Health",
    "IdIn",
    "ScanReport",
    "ScanRequest",
    "SecretIn",
    "TurnOut",
    "UserTokenOut",
    "public_reply",
]
