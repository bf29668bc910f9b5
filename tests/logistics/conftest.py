"""Logistics fixtures: `db`, a session on its own unpooled engine, safe to use beside the app's test client
(the client serves requests on another event loop, so pooled connections must not cross between them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shop.db import create_engine, create_session_factory
from shop.settings import Settings


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings.db, null_pool=True)
    async with create_session_factory(engine)() as session:
        yield session
    await engine.dispose()
