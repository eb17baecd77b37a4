"""``Idempotency-Key`` on writes: a retried request is answered from its stored outcome, not run again.

How a write (POST, PATCH, PUT, DELETE) carrying the header is handled:

1. :class:`IdempotencyMiddleware` reads the body, fingerprints the request (SHA-256 of method,
   path, query string and body) and hands the body on unchanged.
2. Once the caller is authenticated (``require`` in :mod:`airisk.server.auth`), :func:`claim`
   records ``(caller, key) -> running`` in the store. A key the caller already used answers
   instead of running the handler: the stored response (``Idempotent-Replayed: true``), or 409
   ``idempotency_in_progress`` while the first request still runs (retry shortly),
   ``idempotency_key_reused`` when the method, path or body differ, and
   ``idempotency_stream_not_replayable`` when the first request was a streamed (SSE) turn.
3. When the handler has answered, the middleware stores its status, content type and body;
   a streamed answer is only marked as streamed. If the handler raised (a server bug), the
   record is dropped so a retry runs again.

Keys are scoped per caller (the workspace user or the agent API key), so one caller can never
read another's responses; records expire after ``idempotency_ttl`` seconds and are purged
lazily. A ``running`` record older than ``idempotency_lease`` seconds is taken to be abandoned
(its process died) and the key may run again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy import delete, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airisk.store.engine import Store
from airisk.store.models import IdempotencyRecord, utcnow

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
MAX_KEY_LENGTH = 255
STATE_KEY = "airisk_idempotency"
PURGE_EVERY_S = 60.0


class IdempotencyError(Exception):
    """A key that cannot run now: in progress (retryable), reused for another request, or a stream."""

    def __init__(self, kind: str, message: str, *, retry_after: int | None = None) -> None:
        self.kind = kind
        self.retry_after = retry_after
        super().__init__(message)


class IdempotentReplay(Exception):
    """The stored outcome of the first request with this key, to be sent again."""

    def __init__(self, status: int, content_type: str | None, body: bytes) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body
        super().__init__(f"replay of a stored {status} response")


@dataclass
class Pending:
    """A write carrying a key, between the middleware and the claim made after authentication."""

    key: str
    method: str
    path: str
    fingerprint: str
    owner: str | None = None


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests "the same request" for a key: method, path, query string and body."""
    digest = hashlib.sha256()
    for part in (method.upper(), path, query):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(0x21 <= ord(c) <= 0x7E for c in key)


class IdempotencyKeys:
    """The store side: claim a key, record the outcome, release it; purge expired rows now and then."""

    def __init__(self, store: Store, *, ttl: float, lease: float) -> None:
        self.store = store
        self.ttl = ttl
        self.lease = lease
        self._last_purge = 0.0
        self._purge_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"IdempotencyKeys(ttl={self.ttl}, lease={self.lease})"

    def claim(self, pending: Pending, owner: str) -> None:
        """Start running ``pending`` for ``owner``, or raise what the earlier use of the key says."""
        self._maybe_purge()
        now = utcnow()
        with self.store.write() as session:
            row = session.get(IdempotencyRecord, (owner, pending.key), with_for_update=True)
            if row is not None and (
                row.expires_at <= now
                or (row.state == "running" and row.created_at <= now - timedelta(seconds=self.lease))
            ):
                session.delete(row)
                session.flush()
                row = None
            if row is None:
                values = {
                    "owner": owner,
                    "key": pending.key,
                    "method": pending.method,
                    "path": pending.path[:2000],
                    "fingerprint": pending.fingerprint,
                    "state": "running",
                    "created_at": now,
                    "expires_at": now + timedelta(seconds=self.ttl),
                }
                if _insert_if_absent(session, values):
                    pending.owner = owner
                    return
                row = session.execute(
                    select(IdempotencyRecord)
                    .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == pending.key)
                    .execution_options(populate_existing=True)
                ).scalar_one()
            _answer_for(row, pending)

    def finish(self, pending: Pending, *, status: int, content_type: str | None, body: bytes, streamed: bool) -> None:
        with self.store.write() as session:
            row = session.get(IdempotencyRecord, (pending.owner, pending.key), with_for_update=True)
            if row is None or row.fingerprint != pending.fingerprint:
                return
            row.state = "streamed" if streamed else "done"
            row.status = status
            row.content_type = content_type
            row.body = None if streamed else body

    def release(self, pending: Pending) -> None:
        with self.store.write() as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.owner == pending.owner,
                    IdempotencyRecord.key == pending.key,
                    IdempotencyRecord.state == "running",
                )
            )

    def purge(self) -> int:
        """Delete expired records; returns how many."""
        with self.store.write() as session:
            result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow()))
            return int(getattr(result, "rowcount", 0) or 0)

    def _maybe_purge(self) -> None:
        with self._purge_lock:
            if time.monotonic() - self._last_purge < PURGE_EVERY_S:
                return
            self._last_purge = time.monotonic()
        self.purge()


def _insert_if_absent(session: Any, values: dict[str, Any]) -> bool:
    """Insert the running record unless another request holds the key (safe under concurrency)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(IdempotencyRecord).values(**values).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(IdempotencyRecord).values(**values).on_conflict_do_nothing()
    return bool(session.execute(statement).rowcount)


def _answer_for(row: IdempotencyRecord, pending: Pending) -> None:
    if row.fingerprint != pending.fingerprint:
        raise IdempotencyError(
            "idempotency_key_reused",
            f"this {HEADER} was already used for a different request ({row.method} {row.path} with "
            "another body); send a new key for a new request",
        )
    if row.state == "running":
        raise IdempotencyError(
            "idempotency_in_progress",
            f"a request with this {HEADER} is still being processed; retry in a moment",
            retry_after=1,
        )
    if row.state == "streamed":
        raise IdempotencyError(
            "idempotency_stream_not_replayable",
            f"the streamed (Server-Sent Events) request with this {HEADER} already ran and is not replayed; "
            "read its outcome from the conversation's messages",
        )
    raise IdempotentReplay(row.status or 200, row.content_type, row.body or b"")


def claim(request: Any, owner: str, keys: IdempotencyKeys) -> None:
    """Called once the caller is known: claim the request's key, if it carries one."""
    pending: Pending | None = (request.scope.get("state") or {}).get(STATE_KEY)
    if pending is None or pending.owner is not None:
        return
    keys.claim(pending, owner)


class IdempotencyMiddleware:
    """Fingerprints keyed writes, then stores the outcome of the ones claimed after authentication."""

    def __init__(self, app: ASGIApp, keys: IdempotencyKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers") or []).get(HEADER.lower().encode())
        if raw is None:
            await self.app(scope, receive, send)
            return
        key = raw.decode("latin-1")
        if not valid_key(key):
            await _send_json(
                send, 400, "invalid_request", f"{HEADER} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters"
            )
            return
        chunks: list[bytes] = []
        complete = False
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                complete = True
                break
        body = b"".join(chunks)
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": body, "more_body": not complete}
            if not complete:
                return {"type": "http.disconnect"}
            return await receive()

        if not complete:
            await self.app(scope, replay, send)
            return
        path = scope.get("path", "")
        query = (scope.get("query_string") or b"").decode("latin-1")
        pending = Pending(
            key=key, method=scope["method"], path=path, fingerprint=fingerprint(scope["method"], path, query, body)
        )
        scope.setdefault("state", {})[STATE_KEY] = pending
        status = 500
        content_type: str | None = None
        sent: list[bytes] = []

        async def sending(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers") or []:
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body" and pending.owner is not None:
                sent.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, sending)
        except BaseException:
            if pending.owner is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self.keys.release, pending)
            raise
        if pending.owner is None:
            return
        streamed = bool(content_type and content_type.startswith("text/event-stream"))
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(
                lambda: self.keys.finish(
                    pending, status=status, content_type=content_type, body=b"".join(sent), streamed=streamed
                )
            )


async def _send_json(send: Send, status: int, kind: str, message: str) -> None:
    import json

    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "HEADER",
    "REPLAYED_HEADER",
    "IdempotencyError",
    "IdempotencyKeys",
    "IdempotencyMiddleware",
    "IdempotentReplay",
    "Pending",
    "claim",
    "fingerprint",
]
