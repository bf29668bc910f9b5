"""The search lifespan: builds the service, fills the embedded index from the catalogue, exposes health."""

from __future__ import annotations

import asyncio

from litestar import Litestar
from litestar.datastructures import State
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from search.schemas import SearchParams
from search.wiring import lifespan
from shop.settings import Settings
from tests.search.factories import seed_catalogue


async def test_lifespan_fills_the_embedded_index(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        seeded = await seed_catalogue(session, products=2)
    app = Litestar(state=State({"settings": Settings(), "session_factory": session_factory}), lifespan=[lifespan])
    async with AsyncTestClient(app):
        for _ in range(100):
            if await app.state.search.products.count() == 2:
                break
            await asyncio.sleep(0.05)
        response = await app.state.search.search(SearchParams(q="hongtang"))
        assert sorted(h.id for h in response.hits) == seeded["product_ids"]
        assert await app.state.search_health() == "ok"
