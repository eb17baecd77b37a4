"""Run the packaged Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import Engine

from airisk.store.engine import make_engine, normalize_url

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(url: str) -> object:
    try:
        from alembic.config import Config
    except ImportError:
        from airisk.errors import MissingDependencyError

        raise MissingDependencyError("database migrations", "store", "alembic") from None
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | os.PathLike[str], revision: str = "head", *, engine: Engine | None = None) -> None:
    """Bring the database at ``url`` to ``revision`` (the latest by default)."""
    from alembic import command

    normalized = normalize_url(url)
    config = _config(normalized)
    owned = engine is None
    engine = engine or make_engine(normalized)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection  # type: ignore[attr-defined]
            command.upgrade(config, revision)  # type: ignore[arg-type]
    finally:
        if owned:
            engine.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config("sqlite://")).get_current_head()  # type: ignore[arg-type]
    assert head is not None
    return head


def current_revision(url: str | os.PathLike[str]) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
