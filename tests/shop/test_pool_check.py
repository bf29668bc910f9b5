"""The pool's connection check on PostgreSQL: an idle connection is checked with one empty query before use, one
used a moment ago is handed out as it is (the check was a tenth of a paid checkout's round trips)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from shop.db import PING_AFTER_IDLE_S, create_engine
from shop.settings import DatabaseSettings


async def _driver(engine: Any) -> Any:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        return raw.driver_connection


async def test_only_a_connection_idle_past_the_window_is_checked(postgresql_url: str) -> None:
    # given a pool of one connection that logs every query its driver sends
    settings = DatabaseSettings.model_validate(
        {"DATABASE_URL": postgresql_url, "DATABASE_POOL_SIZE": 1, "DATABASE_MAX_OVERFLOW": 0}
    )
    engine = create_engine(settings)
    sent: list[str] = []
    try:
        driver = await _driver(engine)
        driver.add_query_logger(lambda record: sent.append(record.query))

        # when it is checked out again at once, and once more after sitting idle past the window
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 41 + 1"))).scalar() == 42
        at_once = list(sent)
        sent.clear()
        await asyncio.sleep(PING_AFTER_IDLE_S + 0.1)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 41 + 1"))).scalar() == 42
        after_idle = list(sent)

        # then only the idle one was checked first, with one empty query, and the same connection served both
        assert await _driver(engine) is driver
        assert ";" not in at_once
        assert after_idle[0] == ";"
        assert after_idle.count(";") == 1
    finally:
        await engine.dispose()


async def test_a_connection_the_server_closed_is_replaced_without_a_query(postgresql_url: str) -> None:
    # given a pooled connection used a moment ago, which the client then sees closed
    settings = DatabaseSettings.model_validate(
        {"DATABASE_URL": postgresql_url, "DATABASE_POOL_SIZE": 1, "DATABASE_MAX_OVERFLOW": 0}
    )
    engine = create_engine(settings)
    try:
        driver = await _driver(engine)
        driver.terminate()

        # when the pool hands out a connection inside the window
        async with engine.connect() as conn:
            answer = (await conn.execute(text("SELECT 41 + 1"))).scalar()
            fresh = (await conn.get_raw_connection()).driver_connection

        # then the request is served on a new connection
        assert answer == 42
        assert fresh is not driver
        assert driver.is_closed()
    finally:
        await engine.dispose()
