"""Livestream fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shop.db import create_engine, create_session_factory
from shop.settings import Settings


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on its own unpooled engine: the test client runs the app on another event loop, so test code
    must not share the app's pooled PostgreSQL connections."""
    engine = create_engine(settings.db, null_pool=True)
    async with create_session_factory(engine)() as session:
        yield session
    await engine.dispose()
