"""Fixtures for the search tests: one analyzer per session, a hand-built catalogue, a Meilisearch stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import catalog.models  # noqa: F401 - registers the catalogue tables
import search.models  # noqa: F401 - registers search_synonym
from search.engine.base import PRODUCT_SPEC
from search.engine.embedded import EmbeddedEngine
from search.text import Analyzer
from shop.db import Base
from tests.search.factories import catalogue_docs
from tests.search.meili_standin import MeiliStandIn


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture
async def engine(analyzer: Analyzer) -> EmbeddedEngine:
    engine = EmbeddedEngine(PRODUCT_SPEC, analyzer)
    await engine.rebuild(catalogue_docs())
    return engine


@pytest.fixture
def standin() -> Iterator[MeiliStandIn]:
    server = MeiliStandIn().start()
    yield server
    server.stop()


@pytest.fixture
async def session_factory(tmp_path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:  # type: ignore[no-untyped-def]
    db = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'search.sqlite3'}")
    async with db.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(db, expire_on_commit=False)
    await db.dispose()
