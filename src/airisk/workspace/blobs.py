"""Content-addressed file storage: each distinct content is stored once under its SHA-256."""

from __future__ import annotations

import hashlib

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from airisk.store.models import AgentFile, Blob, ConversationFile, utcnow

MAX_FILE_BYTES = 50 * 1024 * 1024


def put_blob(session: Session, content: bytes) -> str:
    """Store ``content`` unless already present; returns its SHA-256 (safe under concurrent writers)."""
    from airisk.errors import InputError

    if len(content) > MAX_FILE_BYTES:
        raise InputError(f"file is larger than {MAX_FILE_BYTES} bytes")
    digest = hashlib.sha256(content).hexdigest()
    values = {"sha256": digest, "size": len(content), "content": content, "created_at": utcnow()}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(Blob).values(**values).on_conflict_do_nothing(index_elements=["sha256"]))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(Blob).values(**values).on_conflict_do_nothing(index_elements=["sha256"]))
    return digest


def get_blob(session: Session, digest: str) -> bytes:
    content = session.scalar(select(Blob.content).where(Blob.sha256 == digest))
    if content is None:
        from airisk.workspace.errors import NotFound

        raise NotFound("file content", digest)
    return content


def drop_if_unused(session: Session, digest: str) -> None:
    used = session.scalar(select(exists().where(AgentFile.sha256 == digest))) or session.scalar(
        select(exists().where(ConversationFile.sha256 == digest))
    )
    if not used:
        blob = session.get(Blob, digest)
        if blob is not None:
            session.delete(blob)
