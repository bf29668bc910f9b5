"""The relevance set (tests/search/relevance_cases.py) asserted on the embedded engine over the demo catalogue.

The demo catalogue is loaded once for the module into its own SQLite file and indexed through
``SearchService.reindex``; every case runs through ``SearchService.search`` as the API does. All failures are
reported together, with what came back, so a ranking change shows its whole effect at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from catalog.models import Brand, Region, RegionLevel
from catalog.seed import load_demo
from migrations.models import load_all_models
from search.engine.base import PRODUCT_SPEC, WORKSHOP_SPEC
from search.engine.embedded import EmbeddedEngine
from search.schemas import ProductHit, SearchParams
from search.services import SearchService
from search.text import Analyzer
from tests.search.relevance_cases import CASES, Case

KINDS = ("chinese", "pinyin", "initials", "typo", "traditional", "synonym", "brand", "place", "mixed", "filter", "sort")


class Demo:
    def __init__(self, service: SearchService, brands: dict[str, int], counties: dict[str, int]) -> None:
        self.service = service
        self.brands = brands
        self.counties = counties


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    path = tmp_path_factory.mktemp("relevance") / "demo.sqlite3"
    db = create_async_engine(f"sqlite+aiosqlite:///{path}")
    async with db.begin() as conn:
        await conn.run_sync(load_all_models().metadata.create_all)
    factory = async_sessionmaker(db, expire_on_commit=False)
    async with factory() as session:
        await load_demo(session)
    analyzer = Analyzer()
    service = SearchService(
        EmbeddedEngine(PRODUCT_SPEC, analyzer), EmbeddedEngine(WORKSHOP_SPEC, analyzer), analyzer, factory
    )
    async with factory() as session:
        counts = await service.reindex(session)
        brands = {b.name: b.id for b in await session.scalars(select(Brand))}
        counties = {
            r.name: r.id for r in await session.scalars(select(Region).where(Region.level == RegionLevel.COUNTY))
        }
    assert counts == {"products": 79, "workshops": 26}
    yield Demo(service, brands, counties)
    await db.dispose()


def _params(case: Case, demo: Demo) -> SearchParams:
    return SearchParams(
        q=case.q,
        family=[demo.brands[case.family]] if case.family else [],
        county=[demo.counties[case.county]] if case.county else [],
        in_stock=case.in_stock,
        price_band=list(case.price_band),
        stars_min=case.stars_min,
        sort=case.sort,  # type: ignore[arg-type]
        per_page=20,
    )


def _has(hit: ProductHit, name: str, value: object) -> bool:
    got: Any = getattr(hit, name)
    return value in got if isinstance(got, list) else got == value


def _problems(case: Case, hits: list[ProductHit]) -> list[str]:
    top3 = hits[:3]
    titles = [h.title for h in top3]
    out = [f"{t} not in the top 3" for t in case.top3 if t not in titles]
    if case.every is not None:
        name, value = case.every
        if len(top3) < 3 and not case.top3:
            out.append(f"fewer than 3 hits with {name}={value}")
        out += [f"{h.title} ({name}={getattr(h, name)}) lacks {name}={value}" for h in top3 if not _has(h, name, value)]
    if case.first is not None and (not hits or hits[0].title != case.first):
        out.append(f"{case.first} is not first")
    everywhere = {h.title for h in hits}
    out += [f"{t} found although over the typo budget" for t in case.absent if t in everywhere]
    if not case.absent and not hits:
        out.append("no hits")
    return out


def test_the_set_covers_every_kind_of_query() -> None:
    kinds = Counter(c.kind for c in CASES)
    # At least 50 queries, and several of every kind
    assert len(CASES) >= 50
    assert set(kinds) == set(KINDS)
    assert min(kinds.values()) >= 5, kinds
    # Every case asserts something
    assert all(c.top3 or c.every or c.first or c.absent for c in CASES)


async def test_relevance_set_on_the_embedded_engine(demo: Demo) -> None:
    failures: list[str] = []
    for case in CASES:
        result = await demo.service.search(_params(case, demo))
        problems = _problems(case, result.hits)
        if problems:
            got = " | ".join(h.title for h in result.hits[:5]) or "(nothing)"
            failures.append(f"{case.label()}\n      got: {got}\n      " + "\n      ".join(problems))
    summary = f"{len(failures)} of {len(CASES)} relevance cases failed:\n" + "\n".join(failures)
    assert not failures, summary
