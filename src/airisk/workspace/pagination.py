"""Cursor pagination shared by every list: stable order, opaque cursors, bounded pages.

A list is ordered by a unique sort key (``created_at, id`` for most; ``seq`` for messages
and audit events). A cursor is the URL-safe base64 of ``{"l": list name, "k": last key}``.
Cursors are validated (right list, right shape, right types), not signed: a hand-made
cursor only moves the starting point, and every query still applies the caller's
permission filters, so it can never reveal rows the caller could not list anyway.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from airisk.workspace.errors import InvalidCursor

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, whether more follow, and the cursor for the next page."""

    data: list[T]
    has_more: bool = False
    next_cursor: str | None = None


def encode_cursor(list_name: str, key: Sequence[Any]) -> str:
    values = [{"t": value.isoformat()} if isinstance(value, datetime) else value for value in key]
    raw = json.dumps({"l": list_name, "k": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, list_name: str, types: Sequence[type]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("cursor is not valid") from None
    if not isinstance(payload, dict) or payload.get("l") != list_name:
        raise InvalidCursor(f"cursor does not belong to the {list_name} list")
    values = payload.get("k")
    if not isinstance(values, list) or len(values) != len(types):
        raise InvalidCursor("cursor has the wrong shape")
    out: list[Any] = []
    for value, kind in zip(values, types, strict=True):
        if kind is datetime:
            try:
                parsed = datetime.fromisoformat(value["t"])
            except (TypeError, KeyError, ValueError):
                raise InvalidCursor("cursor has a bad timestamp") from None
            if parsed.tzinfo is None:
                raise InvalidCursor("cursor has a bad timestamp")
            out.append(parsed)
        elif (kind is int and isinstance(value, int) and not isinstance(value, bool)) or (
            kind is str and isinstance(value, str) and len(value) <= 200
        ):
            out.append(value)
        else:
            raise InvalidCursor("cursor has a bad value")
    return out


def check_limit(limit: int | None) -> int:
    from airisk.errors import InputError

    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not isinstance(limit, int) or limit < 1:
        raise InputError("limit must be a positive integer")
    return min(limit, MAX_PAGE_SIZE)


def paginate(
    session: Session,
    statement: Select[R],
    *,
    list_name: str,
    keys: Sequence[InstrumentedAttribute[Any]],
    key_types: Sequence[type],
    convert: Callable[[R], T],
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[T]:
    """Run ``statement`` one page at a time in ``keys`` order (ascending, unique)."""
    size = check_limit(limit)
    if cursor:
        after = decode_cursor(cursor, list_name, key_types)
        clauses = []
        for position in range(len(keys)):
            equal = [keys[i] == after[i] for i in range(position)]
            clauses.append(and_(*equal, keys[position] > after[position]))
        statement = statement.where(or_(*clauses))
    rows = list(session.scalars(statement.order_by(*keys).limit(size + 1)))
    has_more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(list_name, [getattr(last, key.key) for key in keys])
    return Page[Any](data=[convert(row) for row in rows], has_more=has_more, next_cursor=next_cursor)
