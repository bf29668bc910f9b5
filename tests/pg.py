"""PostgreSQL helpers for the test suite: create and drop throwaway databases on the local server."""

from __future__ import annotations

import asyncio
import contextlib
import os

import asyncpg

from shop.threads import run_in_thread

PG_ADMIN_DSN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _server_dsn() -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run(coro: object) -> None:
    """Run on a private loop in a thread, so it works whether or not the caller's loop is running."""
    run_in_thread(asyncio.run, coro)


def postgres_available() -> bool:
    try:
        _run(_admin("SELECT 1"))
    except Exception:
        return False
    return True


def create_database(name: str) -> str:
    _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    _run(_admin(f'CREATE DATABASE "{name}"'))
    return "postgresql+asyncpg://" + _server_dsn().removeprefix("postgresql://") + f"/{name}"


def drop_database(name: str) -> None:
    with contextlib.suppress(Exception):
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
