"""Persisted conversations: the in-process :class:`airisk.agent.Conversation`, recorded.

``open`` builds the runtime Agent from the stored one (engine through the workspace's
engine factory with secrets resolved, pipeline from the merged scanner policy) and attaches
a recorder. The recorder stores the user's message *before* the engine is called (so an
engine failure loses nothing), then the reply with its scan report, usage, engine, latency,
client IP and country; blocked and flagged messages also go to the audit log. ``resume``
rebuilds the conversation from its stored history and its (encrypted) vault.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from airisk.agent import Agent as RuntimeAgent
from airisk.agent import Conversation as RuntimeConversation
from airisk.errors import InputError
from airisk.store.models import (
    Agent,
    Company,
    Conversation,
    ConversationFile,
    ConversationMessage,
    new_id,
)
from airisk.types import Direction, FileAttachment, Message, Reply, ScanReport, ToolResult, Verdict
from airisk.vault import Vault
from airisk.workspace._service import Actor, Service
from airisk.workspace.access import can_use
from airisk.workspace.agents import effective_policy
from airisk.workspace.audit import append_event
from airisk.workspace.blobs import drop_if_unused, get_blob, put_blob
from airisk.workspace.errors import NotFound, PermissionDenied
from airisk.workspace.pagination import Page, decode_cursor, encode_cursor, paginate
from airisk.workspace.schemas import ConversationFilter, ConversationOut, FileOut, MessageOut
from airisk.workspace.storage_policy import stored_report, stored_text

if TYPE_CHECKING:
    from airisk.workspace.workspace import Workspace

logger = logging.getLogger("airisk.workspace")


def conversation_out(row: Conversation) -> ConversationOut:
    return ConversationOut.model_validate(row)


def message_out(row: ConversationMessage) -> MessageOut:
    return MessageOut.model_validate(row)


def country_of(report: ScanReport | None) -> str | None:
    """The country the geo_gate scanner resolved for the client, if it ran and said."""
    if report is None:
        return None
    for result in report.results:
        if result.scanner != "geo_gate":
            continue
        for finding in result.findings:
            for key in ("country", "country_code", "iso_code"):
                value = finding.detail.get(key)
                if isinstance(value, str) and value:
                    return value[:8]
    return None


def _flagged(report: ScanReport | None) -> bool:
    return report is not None and any(result.verdict is Verdict.FLAG for result in report.results)


def seal_vault(workspace: Workspace, conversation_id: str, vault: Vault) -> bytes | None:
    if len(vault) == 0:
        return None
    if workspace.box is None:
        logger.warning(
            "vault not persisted: set AIRISK_SECRET_KEY to encrypt it at rest",
            extra={"conversation_id": conversation_id},
        )
        return None
    return workspace.box.encrypt(json.dumps(vault.to_dict()).encode(), f"vault:{conversation_id}")


def open_vault(workspace: Workspace, conversation_id: str, sealed: bytes | None) -> Vault:
    if sealed is None or workspace.box is None:
        return Vault()
    return Vault.from_dict(json.loads(workspace.box.decrypt(sealed, f"vault:{conversation_id}")))


class ConversationRecorder:
    """A ConversationObserver that writes every message to the store as it happens."""

    def __init__(self, workspace: Workspace, actor: Actor, conversation_id: str, company_id: str, mode: str) -> None:
        self.ws = workspace
        self.actor = actor
        self.conversation_id = conversation_id
        self.company_id = company_id
        self.mode = mode

    def __repr__(self) -> str:
        return f"ConversationRecorder(conversation_id={self.conversation_id!r}, mode={self.mode!r})"

    def _append(
        self,
        conversation: RuntimeConversation,
        message: ConversationMessage,
        *,
        report: ScanReport | None,
        blocked: bool,
        flagged: bool,
        tokens: tuple[int, int] = (0, 0),
    ) -> None:
        with self.ws.store.write() as session:
            row = session.execute(
                select(Conversation).where(Conversation.id == self.conversation_id).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                raise NotFound("conversation", self.conversation_id)
            if row.archived_at is not None:
                raise InputError(f"conversation {row.id} was archived; restore it before adding messages")
            row.message_count += 1
            message.seq = row.message_count
            message.conversation_id = row.id
            now = self.ws.now()
            message.created_at = now
            row.updated_at = now
            row.input_tokens += tokens[0]
            row.output_tokens += tokens[1]
            if message.country and not row.country:
                row.country = message.country
            if not row.title and message.role == "user" and message.content:
                row.title = message.content[:80]
            row.vault = seal_vault(self.ws, row.id, conversation.vault) or row.vault
            session.add(message)
            session.flush()
            if blocked or flagged:
                if blocked:
                    row.blocked_count += 1
                else:
                    row.flagged_count += 1
                append_event(
                    session,
                    company_id=self.company_id,
                    actor_id=self.actor.id,
                    actor_role="server_admin" if self.actor.server_admin else self.actor.role,
                    action="messages.blocked" if blocked else "messages.flagged",
                    target_type="message",
                    target_id=message.id,
                    after={
                        "conversation_id": row.id,
                        "agent_id": row.agent_id,
                        "direction": report.direction.value if report is not None else None,
                        "verdict": report.verdict.value if report is not None else "block",
                        "reasons": report.reasons if report is not None else [],
                    },
                )

    def on_user_message(self, conversation: RuntimeConversation, text: str, report: ScanReport) -> None:
        message = ConversationMessage(
            id=new_id("msg"),
            role="user",
            content=stored_text(self.mode, text, report),
            content_state=self.mode,
            verdict=report.verdict.value,
            blocked=report.blocked,
            report=stored_report(self.mode, report),
            client_ip=conversation.client_ip,
            country=country_of(report),
        )
        self._append(conversation, message, report=report, blocked=report.blocked, flagged=_flagged(report))

    def on_tool_result(self, conversation: RuntimeConversation, result: ToolResult, report: ScanReport) -> None:
        """A tool result is stored like a user message (role ``tool``), before the engine reads it."""
        message = ConversationMessage(
            id=new_id("msg"),
            role="tool",
            content=stored_text(self.mode, result.content, report),
            content_state=self.mode,
            verdict=report.verdict.value,
            blocked=report.blocked,
            report=stored_report(self.mode, report),
            usage={"tool_call_id": result.tool_call_id, "tool_name": result.name},
            client_ip=conversation.client_ip,
        )
        self._append(conversation, message, report=report, blocked=report.blocked, flagged=_flagged(report))

    def on_reply(self, conversation: RuntimeConversation, reply: Reply) -> None:
        report = reply.output_report
        input_blocked = reply.blocked_by is Direction.INPUT
        if reply.blocked or report is None:
            content = None if self.mode == "dropped" else reply.text
        else:
            content = stored_text(self.mode, reply.text, report)
        usage = reply.usage.model_dump() | {"stop_reason": reply.stop_reason.value if reply.stop_reason else None}
        call_reports = [r for r in reply.tool_reports if r.direction is Direction.OUTPUT]
        if reply.tool_calls:  # arguments kept under the same storage policy as text
            usage["tool_calls"] = [
                {"id": call.id, "name": call.name, "arguments": stored_text(self.mode, call.arguments, report)}
                for call, report in zip(reply.tool_calls, call_reports, strict=False)
            ]
        message = ConversationMessage(
            id=new_id("msg"),
            role="assistant",
            content=content,
            content_state=self.mode,
            verdict=(report.verdict.value if report is not None else Verdict.BLOCK.value if input_blocked else "pass"),
            blocked=reply.blocked,
            report=stored_report(self.mode, report),
            usage=usage,
            engine=reply.engine,
            model=reply.model,
            latency_ms=reply.latency_ms,
            client_ip=conversation.client_ip,
        )
        self._append(
            conversation,
            message,
            report=report,
            blocked=reply.blocked and not input_blocked,
            flagged=_flagged(report),
            tokens=(reply.usage.input_tokens, reply.usage.output_tokens),
        )


def history_from(messages: Sequence[ConversationMessage]) -> list[Message]:
    """The model-side history (sanitised text) of stored turns that completed."""
    history: list[Message] = []
    pending: str | None = None
    skip = False
    for message in messages:
        if message.role == "user":
            skip = message.blocked or message.content_state == "dropped"
            pending = (message.report or {}).get("sanitized_text") or message.content
        elif message.role == "assistant":
            if not skip and pending is not None:
                if message.blocked:
                    answer = message.content
                else:
                    answer = (message.report or {}).get("sanitized_text") or message.content
                history.append(Message(role="user", content=pending))
                history.append(Message(role="assistant", content=answer or ""))
            pending, skip = None, False
    return history


class ConversationService(Service):
    def _storage_mode(self, company: Company, agent: Agent) -> str:
        return agent.message_storage or company.message_storage

    def _runtime(self, agent_row: Agent, company: Company, **conversation: Any) -> RuntimeConversation:
        from airisk.workspace.workspace import Workspace

        assert isinstance(self.ws, Workspace)
        with self.ws.store.read() as session:
            policy, _ = effective_policy(session, agent_row, company.id)
        engine = self.ws.build_engine(agent_row.engine, agent_row.engine_settings, company.id)
        runtime = RuntimeAgent(
            name=agent_row.name,
            engine=engine,
            description=agent_row.description,
            system_prompt=agent_row.system_prompt,
            temperature=agent_row.temperature,
            max_tokens=agent_row.max_tokens,
            max_messages=agent_row.max_messages,
            pipeline=policy.build_shared(),
        )
        return runtime.conversation(**conversation)

    def open(
        self, agent_id: str, *, client_ip: str | None = None, title: str = "", company_id: str | None = None
    ) -> RuntimeConversation:
        """A new persisted conversation with an agent the actor may use."""
        self._check("conversations.open")
        company_key = self._company(company_id)
        with self.ws.store.write() as session:
            if not can_use(session, self.actor, agent_id):
                raise NotFound("agent", agent_id)
            agent_row = session.get(Agent, agent_id)
            company = session.get(Company, company_key)
            if agent_row is None or company is None:
                raise NotFound("agent", agent_id)
            now = self.ws.now()
            row = Conversation(
                id=new_id("cnv"),
                company_id=company.id,
                agent_id=agent_row.id,
                user_id=self.actor.id if self.actor.kind == "user" else None,
                api_key_id=self.actor.id if self.actor.kind == "api_key" else None,
                title=title[:300],
                client_ip=client_ip,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            mode = self._storage_mode(company, agent_row)
        recorder = ConversationRecorder(self.ws, self.actor, row.id, company.id, mode)  # type: ignore[arg-type]
        return self._runtime(
            agent_row,
            company,
            user=self.actor.email or self.actor.id,
            client_ip=client_ip,
            id=row.id,
            observers=[recorder],
        )

    def _owned(self, row: Conversation) -> bool:
        return (self.actor.kind == "user" and row.user_id == self.actor.id) or (
            self.actor.kind == "api_key" and row.api_key_id == self.actor.id
        )

    def _readable(self, session: Any, conversation_id: str) -> Conversation:
        self._check("conversations.read_own")
        row = self._load(session, Conversation, conversation_id, "conversation")
        if not self._owned(row) and not self._may("conversations.read_any"):
            raise NotFound("conversation", conversation_id)
        return row

    def resume(self, conversation_id: str, *, client_ip: str | None = None) -> RuntimeConversation:
        """Continue one's own conversation: stored history, files and vault come back."""
        self._check("conversations.open")
        with self.ws.store.read() as session:
            row = self._readable(session, conversation_id)
            if not self._owned(row):
                raise PermissionDenied("conversations.resume (only its owner may continue it)", self.actor.role)
            if row.archived_at is not None:
                raise InputError(f"conversation {conversation_id} is archived; restore it first")
            if row.agent_id is None or not can_use(session, self.actor, row.agent_id):
                raise NotFound("agent", row.agent_id)
            agent_row = session.get(Agent, row.agent_id)
            company = session.get(Company, row.company_id)
            assert agent_row is not None and company is not None
            messages = list(
                session.scalars(
                    select(ConversationMessage)
                    .where(ConversationMessage.conversation_id == row.id)
                    .order_by(ConversationMessage.seq)
                )
            )
            files = [
                FileAttachment(name=f.name, content=get_blob(session, f.sha256), media_type=f.media_type)
                for f in session.scalars(
                    select(ConversationFile)
                    .where(ConversationFile.conversation_id == row.id)
                    .order_by(ConversationFile.created_at, ConversationFile.id)
                )
            ]
            vault = open_vault(self.ws, row.id, row.vault)
            mode = self._storage_mode(company, agent_row)
        recorder = ConversationRecorder(self.ws, self.actor, row.id, company.id, mode)  # type: ignore[arg-type]
        return self._runtime(
            agent_row,
            company,
            user=self.actor.email or self.actor.id,
            client_ip=client_ip or row.client_ip,
            id=row.id,
            history=history_from(messages),
            files=files,
            vault=vault,
            observers=[recorder],
        )

    def get(self, conversation_id: str) -> ConversationOut:
        """A conversation, archived or not (archived ones say where their messages went)."""
        with self.ws.store.read() as session:
            return conversation_out(self._readable(session, conversation_id))

    def list(
        self,
        filters: ConversationFilter | None = None,
        *,
        company_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ConversationOut]:
        """One's own conversations, or (admin, monitor, compliance) the company's."""
        self._check("conversations.read_own")
        filters = filters or ConversationFilter()
        statement = select(Conversation).where(Conversation.company_id == self._company(company_id))
        if not self._may("conversations.read_any"):
            owner = Conversation.user_id if self.actor.kind == "user" else Conversation.api_key_id
            statement = statement.where(owner == self.actor.id)
        if filters.agent_id:
            statement = statement.where(Conversation.agent_id == filters.agent_id)
        if filters.user_id:
            statement = statement.where(Conversation.user_id == filters.user_id)
        if filters.flagged_only:
            statement = statement.where(Conversation.flagged_count > 0)
        if filters.blocked_only:
            statement = statement.where(Conversation.blocked_count > 0)
        if filters.since:
            statement = statement.where(Conversation.created_at >= filters.since)
        if filters.until:
            statement = statement.where(Conversation.created_at < filters.until)
        with self.ws.store.read() as session:
            return paginate(
                session,
                statement,
                list_name="conversations",
                keys=[Conversation.created_at, Conversation.id],
                key_types=[datetime, str],
                convert=conversation_out,
                limit=limit,
                cursor=cursor,
            )

    def messages(
        self, conversation_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[MessageOut]:
        """Messages in order; for an archived conversation they are read from its archive."""
        with self.ws.store.read() as session:
            row = self._readable(session, conversation_id)
            if row.archive_id is None:
                statement = select(ConversationMessage).where(ConversationMessage.conversation_id == row.id)
                return paginate(
                    session,
                    statement,
                    list_name="messages",
                    keys=[ConversationMessage.seq],
                    key_types=[int],
                    convert=message_out,
                    limit=limit,
                    cursor=cursor,
                )
        from airisk.workspace.archive import audit_archive_read, read_archived

        with self.ws.store.write() as session:
            row = self._readable(session, conversation_id)
            restored = row.archive_id is None
            if not restored:
                assert row.archive_id is not None
                archived = read_archived(session, row.archive_id, row.id).messages
                audit_archive_read(self, session, row)
        if restored:  # restored between the two transactions: its messages are live again
            return self.messages(conversation_id, limit=limit, cursor=cursor)
        from airisk.workspace.pagination import check_limit

        size = check_limit(limit)
        after = decode_cursor(cursor, "messages", [int])[0] if cursor else 0
        remaining = [m for m in archived if m.seq > after]
        page = remaining[:size]
        more = len(remaining) > size
        return Page[MessageOut](
            data=page, has_more=more, next_cursor=encode_cursor("messages", [page[-1].seq]) if more and page else None
        )

    def add_file(
        self, conversation: RuntimeConversation | str, name: str, content: bytes, *, media_type: str | None = None
    ) -> FileOut:
        """Attach a file once the agent's input scanners (file types) accept it; stored by content hash."""
        live = conversation if isinstance(conversation, RuntimeConversation) else self.resume(conversation)
        with self.ws.store.read() as session:
            row = self._readable(session, live.id)
            if not self._owned(row):
                raise PermissionDenied("conversations.add_file (only its owner may)", self.actor.role)
        attachment = FileAttachment(name=name, content=content, media_type=media_type)
        report = live.add_file(attachment)
        with self.ws.store.write() as session:
            digest = put_blob(session, content)
            file = ConversationFile(
                id=new_id("fil"),
                conversation_id=live.id,
                sha256=digest,
                name=name,
                media_type=media_type,
                size=len(content),
                created_at=self.ws.now(),
            )
            session.add(file)
            session.flush()
            out = FileOut.model_validate(file)
            out.report = report.to_dict(include_text=False)
            return out

    def files(self, conversation_id: str, *, limit: int | None = None, cursor: str | None = None) -> Page[FileOut]:
        with self.ws.store.read() as session:
            self._readable(session, conversation_id)
            statement = select(ConversationFile).where(ConversationFile.conversation_id == conversation_id)
            return paginate(
                session,
                statement,
                list_name="conversation_files",
                keys=[ConversationFile.created_at, ConversationFile.id],
                key_types=[datetime, str],
                convert=FileOut.model_validate,
                limit=limit,
                cursor=cursor,
            )

    def remove_file(self, conversation_id: str, file_id: str) -> None:
        """Detach a file: its owner may, and so may whoever may delete the conversation (admin).

        The content (stored once per SHA-256) goes only when no agent or conversation file
        still refers to it. Later turns no longer see the file.
        """
        with self.ws.store.write() as session:
            row = self._readable(session, conversation_id)
            if not self._owned(row) and not self._may("conversations.delete"):
                raise PermissionDenied("conversations.remove_file (only its owner or an admin may)", self.actor.role)
            if row.archived_at is not None:
                raise InputError(f"conversation {conversation_id} is archived; restore it first")
            file = session.get(ConversationFile, file_id)
            if file is None or file.conversation_id != row.id:
                raise NotFound("file", file_id)
            before = FileOut.model_validate(file).model_dump(mode="json") | {"conversation_id": row.id}
            session.delete(file)
            session.flush()
            drop_if_unused(session, file.sha256)
            self._audit(
                session,
                "conversations.remove_file",
                company_id=row.company_id,
                target_type="conversation",
                target_id=row.id,
                before=before,
            )

    def delete(self, conversation_id: str) -> None:
        self._check("conversations.delete")
        with self.ws.store.write() as session:
            row = self._load(session, Conversation, conversation_id, "conversation")
            before = conversation_out(row).model_dump(mode="json")
            session.delete(row)
            self._audit(
                session,
                "conversations.delete",
                company_id=row.company_id,
                target_type="conversation",
                target_id=conversation_id,
                before=before,
            )
