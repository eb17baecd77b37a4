"""The store: migrations match the models, SQLite settings, timestamps, pagination properties."""

from __future__ import annotations

from datetime import timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airisk.errors import ConfigurationError, InputError
from airisk.store import Base, current_revision, head_revision, make_engine, normalize_url, upgrade
from airisk.workspace import MAX_PAGE_SIZE, GroupCreate, InvalidCursor


def test_migrations_match_the_models(ws: Any, db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import airisk.oauth.models  # noqa: F401  (the OAuth2 tables share the metadata; revision 0002)

    assert current_revision(db_url) == head_revision()
    upgrade(db_url)  # idempotent
    with ws.store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_sqlite_settings(tmp_path: Any) -> None:
    path = tmp_path / "settings.db"
    engine = make_engine(path)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
    assert normalize_url(str(path)).startswith("sqlite:////")
    assert normalize_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    with pytest.raises(ConfigurationError):
        make_engine(":memory:")


def test_timestamps_come_back_aware_utc(world: Any) -> None:
    company = world.root.companies.get(world.company_id)
    assert company.created_at.tzinfo is not None and company.created_at.utcoffset() == timezone.utc.utcoffset(None)


GROUPS = 23


@pytest.fixture
def many_groups(world: Any) -> list[str]:
    admin = world.actors["admin"]
    return [admin.groups.create(GroupCreate(name=f"group {i:02d}")).id for i in range(GROUPS)]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(min_value=1, max_value=30))
def test_pages_cover_everything_once_in_order(world: Any, many_groups: list[str], limit: int) -> None:
    admin = world.actors["admin"]
    seen: list[str] = []
    page = admin.groups.list(limit=limit)
    while True:
        assert len(page.data) <= limit
        seen.extend(g.id for g in page.data)
        if not page.has_more:
            assert page.next_cursor is None
            break
        page = admin.groups.list(limit=limit, cursor=page.next_cursor)
    assert seen == many_groups


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cursor=st.text(min_size=1, max_size=80))
def test_bad_cursors_are_refused_cleanly(world: Any, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        world.actors["admin"].groups.list(cursor=cursor)


def test_page_size_limits(world: Any, many_groups: list[str]) -> None:
    admin = world.actors["admin"]
    assert len(admin.groups.list(limit=10_000).data) == min(GROUPS, MAX_PAGE_SIZE)
    with pytest.raises(InputError):
        admin.groups.list(limit=0)
    page = admin.groups.list(limit=5)
    assert page.model_dump(mode="json").keys() == {"data", "has_more", "next_cursor"}


def test_import_airisk_stays_light() -> None:
    import subprocess
    import sys

    heavy = "('sqlalchemy', 'alembic', 'cryptography', 'psycopg')"
    code = f"import sys, airisk, airisk.agent; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_reprs_carry_no_secrets(ws: Any, secret_key: str) -> None:
    assert secret_key not in repr(ws) and secret_key not in repr(ws.box)
