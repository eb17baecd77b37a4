"""The workspace's database: SQLAlchemy 2 models, engines and Alembic migrations.

``upgrade(url)`` brings a database (an SQLite file path or a ``postgresql+psycopg://``
URL) to the latest schema; the migrations ship inside the package.
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401
except ImportError:  # pragma: no cover - depends on the installed extras
    from airisk.errors import MissingDependencyError

    raise MissingDependencyError("the workspace store", "store", "sqlalchemy") from None

from airisk.store.engine import Store, make_engine, normalize_url
from airisk.store.migrate import current_revision, head_revision, upgrade
from airisk.store.models import Base

__all__ = ["Base", "Store", "current_revision", "head_revision", "make_engine", "normalize_url", "upgrade"]
