"""Benefit tests call the services directly, as the app does: on SQLite their transactions begin IMMEDIATE (see
`shop.db`), so a service's read-then-write cannot meet a stale snapshot while the app's background jobs write."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shop.db import create_engine, create_session_factory
from shop.settings import Settings


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings.db, null_pool=True)
    async with create_session_factory(engine)() as db_session:
        yield db_session
    await engine.dispose()
