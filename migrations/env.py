"""Alembic environment: async engines for SQLite (batch mode) and PostgreSQL, URL from DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from migrations.models import load_all_models
from shop.db import create_engine
from shop.settings import DatabaseSettings

config = context.config
target_metadata = load_all_models().metadata


def _settings() -> DatabaseSettings:
    url = config.attributes.get("database_url")
    return DatabaseSettings.model_validate({"DATABASE_URL": url}) if url else DatabaseSettings()


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    is_sqlite = (connection.dialect.name if connection is not None else (url or "")).startswith("sqlite")
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,  # SQLite cannot ALTER most things; batch mode rebuilds the table
        compare_type=True,
        compare_server_default=False,
        literal_binds=connection is None,
        user_module_prefix="advanced_alchemy.types.",
    )


def run_migrations_offline() -> None:
    _configure(url=_settings().url)
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
        return
    engine = create_engine(_settings(), null_pool=True)
    async with engine.connect() as conn:
        await conn.run_sync(_run_sync)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
