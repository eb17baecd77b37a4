"""Engines and sessions: SQLite tuned for many writers, PostgreSQL through psycopg 3.

SQLite gets WAL (readers never wait for the writer), a busy timeout, and transactions
that start with ``BEGIN IMMEDIATE`` when they will write, so two writers queue on the
database lock up front instead of failing half way through with "database is locked".
This holds across threads and across processes sharing the file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from airisk.errors import ConfigurationError

SQLITE_BUSY_TIMEOUT_S = 60.0
_WRITE = "airisk_write"


def normalize_url(url: str | os.PathLike[str]) -> str:
    """Accept a database URL or a plain file path (an SQLite database)."""
    text = os.fspath(url)
    if "://" in text:
        if text.startswith("postgresql://") or text.startswith("postgres://"):
            text = "postgresql+psycopg://" + text.split("://", 1)[1]
        return text
    if text == ":memory:":
        raise ConfigurationError("an in-memory SQLite database cannot be shared; give a file path")
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def make_engine(url: str | os.PathLike[str], **options: Any) -> Engine:
    """A SQLAlchemy engine for ``url`` with the settings the workspace relies on."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ConfigurationError("an in-memory SQLite database cannot be shared; give a file path")
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **options)
        _tune_sqlite(engine)
        return engine
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            from airisk.errors import MissingDependencyError

            raise MissingDependencyError("PostgreSQL store", "postgres", "psycopg") from None
        options.setdefault("pool_pre_ping", True)
        return create_engine(url, **options)
    return create_engine(url, **options)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (below) own BEGIN so we can choose IMMEDIATE for writers.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """An engine plus two session factories: ``read()`` and ``write()`` transactions."""

    def __init__(self, url: str | os.PathLike[str], **options: Any) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **options)
        self.dialect = self.engine.dialect.name
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False)
        # SQLite has one writer at a time; threads of this process queue on a lock instead of
        # polling the file lock (other processes still meet at BEGIN IMMEDIATE).
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None

    def __repr__(self) -> str:
        return f"Store(dialect={self.dialect!r})"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A unit of work for reading; closing it ends the transaction, loaded rows stay usable."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        if self._write_lock is None:
            with self._write() as session, session.begin():
                yield session
            return
        with self._write_lock, self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
