"""The data archive: conversations past the retention period move to compressed JSON Lines.

Storage choice: each run writes batches to the ``archives`` table, one row per batch,
holding gzip-compressed JSON Lines (one conversation with all its messages per line) and
its SHA-256. A table rather than files keeps multi-node deployments consistent (no shared
disk) and lets a batch move in the same transaction that deletes its messages, so an
interrupted run (Ctrl-C, crash) leaves every conversation either fully archived or fully
live. The conversation rows stay (``archived_at``, ``archive_id``), so an archived
conversation is still found by id, and its messages are read back from the archive.
``export`` writes an archive out as a ``.jsonl.gz`` file.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from airisk.errors import InputError
from airisk.store.models import Archive, Company, Conversation, ConversationMessage, new_id
from airisk.workspace._service import Service
from airisk.workspace.errors import Conflict, NotFound, WorkspaceError
from airisk.workspace.pagination import Page, paginate
from airisk.workspace.schemas import ArchivedConversation, ArchiveOut, ArchiveRun, ConversationOut, MessageOut

MAX_RETENTION_DAYS = 36500


def _archive_out(row: Archive) -> ArchiveOut:
    return ArchiveOut.model_validate(row)


def _lines(data: bytes, expected_sha: str) -> list[dict[str, Any]]:
    if hashlib.sha256(data).hexdigest() != expected_sha:
        raise WorkspaceError("archive content does not match its checksum")
    return [json.loads(line) for line in gzip.decompress(data).decode().splitlines() if line]


def read_archived(session: Session, archive_id: str, conversation_id: str) -> ArchivedConversation:
    archive = session.get(Archive, archive_id)
    if archive is None:
        raise NotFound("archive", archive_id)
    for line in _lines(archive.data, archive.sha256):
        if line["conversation"]["id"] == conversation_id:
            return ArchivedConversation(
                conversation=ConversationOut.model_validate(line["conversation"]),
                messages=[MessageOut.model_validate(m) for m in line["messages"]],
                archive_id=archive_id,
            )
    raise NotFound("archived conversation", conversation_id)


def audit_archive_read(service: Service, session: Session, row: Conversation) -> None:
    """Record who read an archived conversation (archived data is read rarely and on purpose)."""
    service._audit(
        session,
        "archive.read_conversation",
        company_id=row.company_id,
        target_type="conversation",
        target_id=row.id,
        after={"archive_id": row.archive_id},
    )


def _progress(total: int, enabled: bool, description: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=description, unit="conv")


class ArchiveService(Service):
    def run(
        self,
        *,
        older_than_days: float | None = None,
        company_id: str | None = None,
        batch_size: int = 200,
        progress: bool = True,
    ) -> ArchiveRun:
        """Archive conversations whose last activity is older than the retention period.

        ``older_than_days`` defaults to the company's ``retention_days``. Each batch is one
        transaction, so an interruption keeps finished batches and loses nothing.
        """
        self._check("archive.run")
        if batch_size < 1:
            raise InputError("batch_size must be positive")
        company_key = self._company(company_id)
        with self.ws.store.read() as session:
            company = self._load(session, Company, company_key, "company")
            days = older_than_days if older_than_days is not None else company.retention_days
            if days is None:
                raise InputError("no retention period: pass older_than_days or set the company's retention_days")
            if not 0 <= days <= MAX_RETENTION_DAYS:
                raise InputError(f"older_than_days must be between 0 and {MAX_RETENTION_DAYS}")
            cutoff = self.ws.now() - timedelta(days=days)
            due = (
                Conversation.company_id == company_key,
                Conversation.archived_at.is_(None),
                Conversation.updated_at < cutoff,
            )
            total = session.scalar(select(func.count()).select_from(Conversation).where(*due)) or 0
        archives: list[ArchiveOut] = []
        conversations = messages = 0
        with _progress(total, progress, "archiving") as bar:
            while True:
                with self.ws.store.write() as session:
                    batch = list(
                        session.scalars(
                            select(Conversation)
                            .where(*due)
                            .order_by(Conversation.created_at, Conversation.id)
                            .limit(batch_size)
                            .with_for_update(skip_locked=True)
                        )
                    )
                    if not batch:
                        break
                    archive, count = self._archive_batch(session, company_key, batch, cutoff)
                archives.append(archive)
                conversations += len(batch)
                messages += count
                bar.update(len(batch))
        return ArchiveRun(archives=archives, conversations=conversations, messages=messages)

    def _archive_batch(
        self, session: Session, company_id: str, batch: list[Conversation], cutoff: datetime
    ) -> tuple[ArchiveOut, int]:
        archive_id = new_id("arc")
        lines: list[str] = []
        message_count = 0
        ids = [row.id for row in batch]
        by_conversation: dict[str, list[dict[str, Any]]] = {row.id: [] for row in batch}
        for message in session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id.in_(ids))
            .order_by(ConversationMessage.conversation_id, ConversationMessage.seq)
        ):
            by_conversation[message.conversation_id].append(MessageOut.model_validate(message).model_dump(mode="json"))
            message_count += 1
        now = self.ws.now()
        for row in batch:
            record = {
                "conversation": ConversationOut.model_validate(row).model_dump(mode="json")
                | {"archived_at": now.isoformat(), "archive_id": archive_id},
                "vault": base64.b64encode(row.vault).decode() if row.vault else None,
                "messages": by_conversation[row.id],
            }
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
        archive = Archive(
            id=archive_id,
            company_id=company_id,
            conversation_count=len(batch),
            message_count=message_count,
            cutoff=cutoff,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            data=data,
            created_by=self.actor.id,
            created_at=now,
        )
        session.add(archive)
        session.flush()
        session.execute(delete(ConversationMessage).where(ConversationMessage.conversation_id.in_(ids)))
        for row in batch:
            row.archived_at = now
            row.archive_id = archive_id
            row.vault = None
        out = _archive_out(archive)
        self._audit(
            session,
            "archive.run",
            company_id=company_id,
            target_type="archive",
            target_id=archive_id,
            after={"conversations": len(batch), "messages": message_count, "cutoff": cutoff.isoformat()},
        )
        return out, message_count

    def list(
        self, *, company_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[ArchiveOut]:
        self._check("archive.read")
        statement = select(Archive).where(Archive.company_id == self._company(company_id))
        with self.ws.store.read() as session:
            return paginate(
                session,
                statement,
                list_name="archives",
                keys=[Archive.created_at, Archive.id],
                key_types=[datetime, str],
                convert=_archive_out,
                limit=limit,
                cursor=cursor,
            )

    def get_conversation(self, conversation_id: str) -> ArchivedConversation:
        """An archived conversation with its messages, found by its id."""
        self._check("archive.read")
        with self.ws.store.write() as session:
            row = self._load(session, Conversation, conversation_id, "conversation")
            if row.archive_id is None:
                raise NotFound("archived conversation", conversation_id)
            archived = read_archived(session, row.archive_id, row.id)
            audit_archive_read(self, session, row)
            return archived

    def restore(self, archive_id: str, *, progress: bool = True) -> int:
        """Put an archive's conversations and messages back in the live tables (one transaction)."""
        self._check("archive.restore")
        with self.ws.store.write() as session:
            archive = self._load(session, Archive, archive_id, "archive")
            if archive.restored_at is not None:
                raise Conflict(f"archive {archive_id} was already restored")
            lines = _lines(archive.data, archive.sha256)
            with _progress(len(lines), progress, "restoring") as bar:
                for line in lines:
                    row = session.get(Conversation, line["conversation"]["id"])
                    if row is None or row.archive_id != archive_id:
                        continue
                    for message in line["messages"]:
                        # read back through the model that wrote it (timestamps included)
                        session.add(ConversationMessage(**MessageOut.model_validate(message).model_dump()))
                    row.vault = base64.b64decode(line["vault"]) if line.get("vault") else None
                    row.archived_at = None
                    row.archive_id = None
                    bar.update(1)
            archive.restored_at = self.ws.now()
            self._audit(
                session,
                "archive.restore",
                company_id=archive.company_id,
                target_type="archive",
                target_id=archive_id,
                after={"conversations": len(lines)},
            )
            return len(lines)

    def export(self, archive_id: str, path: str | Path) -> Path:
        """Write an archive to ``path`` as gzip-compressed JSON Lines."""
        self._check("archive.read")
        with self.ws.store.write() as session:
            archive = self._load(session, Archive, archive_id, "archive")
            _lines(archive.data, archive.sha256)
            target = Path(path)
            target.write_bytes(archive.data)
            self._audit(
                session,
                "archive.export",
                company_id=archive.company_id,
                target_type="archive",
                target_id=archive_id,
                after={
                    "path": str(target.resolve()),
                    "sha256": archive.sha256,
                    "size": archive.size,
                    "conversations": archive.conversation_count,
                },
            )
            return target
