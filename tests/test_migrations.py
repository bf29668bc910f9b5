"""Migrations: they build exactly the models' schema, and every revision upgrades and downgrades on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from migrations.models import load_all_models
from shop.cli import alembic_config
from tests.conftest import _run_in_thread
from tests.pg import create_database, drop_database, postgres_available


@pytest.fixture
def scratch_pg(worker_tag: str) -> Iterator[str]:
    if not postgres_available():
        pytest.fail("PostgreSQL is not reachable")
    name = f"hub_mig_{worker_tag}"
    url = create_database(name)
    yield url
    drop_database(name)


def _schema_diff(url: str) -> list[object]:
    result: list[object] = []

    def compare(conn: Connection) -> None:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        result.extend(compare_metadata(context, load_all_models().metadata))

    async def run() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            await conn.run_sync(compare)
        await engine.dispose()

    _run_in_thread(asyncio.run, run())
    return result


def _tables(url: str) -> set[str]:
    names: set[str] = set()

    async def run() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            names.update(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        await engine.dispose()

    _run_in_thread(asyncio.run, run())
    return names


def test_every_revision_upgrades_and_downgrades_on_postgresql(scratch_pg: str) -> None:
    # given the revisions oldest first
    config = alembic_config(scratch_pg)
    revisions = [r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]
    assert revisions[0] == "0001"
    # when stepping up one revision at a time, down one, and up again
    for revision in revisions:
        _run_in_thread(command.upgrade, config, revision)
        _run_in_thread(command.downgrade, config, "-1")
        _run_in_thread(command.upgrade, config, revision)
    # then at head the schema is exactly the models' schema
    assert _schema_diff(scratch_pg) == []
    # and all the way down leaves nothing but alembic's own table
    _run_in_thread(command.downgrade, config, "base")
    assert _tables(scratch_pg) <= {"alembic_version"}


def test_sqlite_schema_matches_the_models(sqlite_url: str) -> None:
    assert _schema_diff(sqlite_url) == []
