"""The audit log: an append-only, hash-chained record of administrative actions and of
blocked or flagged messages.

Each row's ``hash`` is SHA-256 over the previous row's hash and the canonical JSON of the
row (sorted keys, no spaces, UTC timestamps). One chain spans the whole database; its tip
lives in the ``audit_head`` row, which every append locks, so concurrent writers queue and
the chain never forks. ``verify()`` recomputes the chain and reports the first row that was
edited, removed or inserted. A chain only proves internal consistency: someone able to
rewrite every row *and* the head could forge it, so keep copies of ``head()`` elsewhere
(e.g. in your SIEM) to anchor it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from airisk.store.models import AuditEvent, AuditHead, new_id, utcnow
from airisk.workspace._service import Service

if TYPE_CHECKING:
    from airisk.workspace.pagination import Page
    from airisk.workspace.schemas import AuditEventOut, AuditFilter, AuditVerification

GENESIS = "0" * 64
_FIELDS = (
    "seq",
    "id",
    "company_id",
    "actor_id",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
)


def canonical(row: AuditEvent) -> str:
    """The exact bytes a row's hash covers (besides the previous hash)."""
    data: dict[str, Any] = {name: getattr(row, name) for name in _FIELDS}
    created: datetime = row.created_at
    data["created_at"] = created.isoformat(timespec="microseconds")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(previous: str, row: AuditEvent) -> str:
    return hashlib.sha256((previous + "\n" + canonical(row)).encode()).hexdigest()


def append_event(
    session: Session,
    *,
    company_id: str | None,
    actor_id: str | None,
    actor_role: str | None,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with the change)."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    row = AuditEvent(
        seq=head.last_seq + 1,
        id=new_id("aud"),
        company_id=company_id,
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=_plain(before),
        after=_plain(after),
        created_at=utcnow(),
        prev_hash=head.last_hash,
    )
    row.hash = chain_hash(head.last_hash, row)
    head.last_seq = row.seq
    head.last_hash = row.hash
    session.add(row)
    session.flush()
    return row


def _plain(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Round-trip through JSON so what is hashed is exactly what the database gives back."""
    if value is None:
        return None
    result: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return result


def _rows(session: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = list(
            session.scalars(select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch))
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> AuditVerification:
    """Recompute the whole chain; the first inconsistency is reported with its sequence number."""
    from airisk.workspace.schemas import AuditVerification

    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    head_seq, head_hash = head.last_seq, head.last_hash
    previous, expected_seq, checked = GENESIS, 1, 0

    def bad(problem: str, seq: int | None) -> AuditVerification:
        return AuditVerification(
            ok=False, checked=checked, head_seq=head_seq, head_hash=head_hash, problem=problem, bad_seq=seq
        )

    for row in _rows(session):
        if row.seq != expected_seq:
            return bad(f"row {expected_seq} is missing", expected_seq)
        if row.prev_hash != previous:
            return bad(f"row {row.seq} does not follow row {row.seq - 1}", row.seq)
        if chain_hash(previous, row) != row.hash:
            return bad(f"row {row.seq} was altered", row.seq)
        previous, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    if checked != head_seq or previous != head_hash:
        return bad(f"the log ends at row {checked} but its head says {head_seq}", checked + 1)
    return AuditVerification(ok=True, checked=checked, head_seq=head_seq, head_hash=head_hash)


def _event_out(row: AuditEvent) -> AuditEventOut:
    from airisk.workspace.schemas import AuditEventOut

    return AuditEventOut.model_validate(row)


def list_events(
    session: Session, company_id: str | None, filters: AuditFilter, limit: int | None, cursor: str | None
) -> Page[AuditEventOut]:
    from airisk.workspace.pagination import paginate

    statement = select(AuditEvent)
    if company_id is not None:
        statement = statement.where(AuditEvent.company_id == company_id)
    if filters.actor_id:
        statement = statement.where(AuditEvent.actor_id == filters.actor_id)
    if filters.action:
        if filters.action.endswith("*"):
            statement = statement.where(AuditEvent.action.startswith(filters.action[:-1], autoescape=True))
        else:
            statement = statement.where(AuditEvent.action == filters.action)
    if filters.target_type:
        statement = statement.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id:
        statement = statement.where(AuditEvent.target_id == filters.target_id)
    if filters.since:
        statement = statement.where(AuditEvent.created_at >= filters.since)
    if filters.until:
        statement = statement.where(AuditEvent.created_at < filters.until)
    return paginate(
        session,
        statement,
        list_name="audit",
        keys=[AuditEvent.seq],
        key_types=[int],
        convert=_event_out,
        limit=limit,
        cursor=cursor,
    )


class AuditService(Service):
    """Query and verify the audit log (admin and compliance; server admins see every company)."""

    def list(
        self,
        filters: AuditFilter | None = None,
        *,
        company_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[AuditEventOut]:
        """Events oldest first, filtered by actor, action (``agents.*`` for a prefix), target and time."""
        from airisk.workspace.schemas import AuditFilter

        self._check("audit.read")
        scope = None if (self.actor.server_admin and company_id is None) else self._company(company_id)
        with self.ws.store.read() as session:
            return list_events(session, scope, filters or AuditFilter(), limit, cursor)

    def verify(self) -> AuditVerification:
        """Recompute the hash chain; ``ok`` is False with the first bad row if anything was changed."""
        self._check("audit.verify")
        with self.ws.store.read() as session:
            return verify_chain(session)

    def head(self) -> tuple[int, str]:
        """The chain's tip (sequence number and hash), to keep elsewhere as an anchor."""
        self._check("audit.verify")
        with self.ws.store.read() as session:
            head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
            return head.last_seq, head.last_hash
