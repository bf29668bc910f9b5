"""The index never silently drifts: catalogue writes through the staff API add a ``search`` outbox row in their own
transaction; the indexer applies the rows and marks them processed; ``check`` finds drift made behind its back; a
failing backend leaves the rows pending with the error and a later run applies them once. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from search.documents import build_product_documents, to_dict
from search.engine.base import PRODUCT_SPEC, WORKSHOP_SPEC, SearchQuery, SearchUnavailable
from search.engine.embedded import EmbeddedEngine
from search.jobs import LocalIndexer, apply_shared_index
from search.services import SearchService
from search.text import Analyzer
from shop.app import create_app
from shop.jobs import JobContext
from shop.outbox import SEARCH_TOPIC, OutboxEvent
from shop.settings import Settings
from tests import factories as f
from tests.search import api_catalogue
from tests.search.api_catalogue import SearchCatalogue
from tests.search.meili_standin import MeiliStandIn

cat, api = api_catalogue.cat, api_catalogue.api  # fixtures: the catalogue, the app started once indexed


async def events(app: Litestar) -> list[OutboxEvent]:
    """The search outbox rows, read in a short session of their own."""
    query = select(OutboxEvent).where(OutboxEvent.topic == SEARCH_TOPIC).order_by(OutboxEvent.id)
    async with app.state.session_factory() as session:
        return list(await session.scalars(query))


async def titles(service: SearchService, q: str = "", **filters: Any) -> list[str]:
    query = SearchQuery(q=q, filters={k: [v] for k, v in filters.items()}, sort="price_asc", limit=50)
    return [h["title"] for h in (await service.products.search(query)).hits]


async def assert_in_step(app: Litestar, service: SearchService | None = None) -> None:
    async with app.state.session_factory() as session:
        reports = await (service or app.state.search).check(session)
    assert [(r.index, r.missing, r.stale, r.extra) for r in reports] == [
        ("products", [], [], []),
        ("workshops", [], [], []),
    ]


async def test_every_staff_write_is_announced_and_applied(
    app: Litestar, api: AsyncTestClient[Litestar], cat: SearchCatalogue
) -> None:
    service: SearchService = app.state.search
    indexer: LocalIndexer = app.state.search_indexer
    admin = f.auth(cat.admin)
    await assert_in_step(app)

    # Created: found by its title (no stock yet)
    created = await api.post(
        "/api/staff/products",
        json={
            "workshop_id": cat.sugar_workshop.id,
            "brand_id": cat.qiaoxiang.id,
            "title": "青田杨梅 鲜果预订",
            "tags": ["杨梅"],
            "variants": [{"sku": "YM-2KG", "name": "2斤装", "price_fen": 9800, "weight_g": 1000}],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    await indexer.drain()
    assert await titles(service, "yangmei") == ["青田杨梅 鲜果预订"]
    assert await titles(service, "杨梅", in_stock=False) == ["青田杨梅 鲜果预订"]

    # Renamed: found by the new name, no longer by the old one
    laojiang = cat.laojiang.product.id
    renamed = await api.patch(f"/api/staff/products/{laojiang}", json={"title": "知味红 姜母红糖"}, headers=admin)
    assert renamed.status_code == 200, renamed.text
    await indexer.drain()
    assert await titles(service, "姜母") == ["知味红 姜母红糖"]
    assert await titles(service, "老姜") == []

    # Price: the sort and the price band follow
    huagu = cat.huagu.product.id
    priced = await api.patch(f"/api/staff/variants/{cat.huagu.variant.id}", json={"price_fen": 26800}, headers=admin)
    assert priced.status_code == 200, priced.text
    await indexer.drain()
    assert (await titles(service, "xianggu"))[-1] == "庆元花菇 特级"
    assert await titles(service, price_band="gte200") == ["庆元花菇 特级"]

    # Stock to zero and back: the in_stock facet follows
    stock_url = f"/api/staff/variants/{cat.duanmu.variant.id}/stock"
    location = cat.duanmu.stock.location_id
    assert (await api.put(stock_url, json={"location_id": location, "on_hand": 0}, headers=admin)).status_code == 200
    await indexer.drain()
    facets = (await service.products.search(SearchQuery(q="香菇", facets=["in_stock"]))).facets
    assert facets["in_stock"] == {"true": 1, "false": 1}
    assert (await api.put(stock_url, json={"location_id": location, "on_hand": 7}, headers=admin)).status_code == 200
    await indexer.drain()
    facets = (await service.products.search(SearchQuery(q="香菇", facets=["in_stock"]))).facets
    assert facets["in_stock"] == {"true": 2}

    # Archived: gone from search
    lihe = cat.lihe.product.id
    assert (await api.delete(f"/api/staff/products/{lihe}", headers=admin)).status_code == 200
    await indexer.drain()
    assert await titles(service, "礼盒") == []
    assert await service.products.count() == 5  # 5 seeded + 1 created - 1 archived

    # Each write announced itself with its reason, and every row is processed
    rows = await events(app)
    assert [(e.entity, e.entity_id, e.reason) for e in rows] == [
        ("product", new_id, "created"),
        ("product", laojiang, "updated"),
        ("product", huagu, "price"),
        ("product", cat.duanmu.product.id, "stock_zero"),
        ("product", cat.duanmu.product.id, "restocked"),
        ("product", lihe, "archived"),
    ]
    assert all(e.processed_at is not None and e.last_error is None for e in rows)
    await assert_in_step(app)


async def test_a_refused_write_announces_nothing(
    app: Litestar, api: AsyncTestClient[Litestar], cat: SearchCatalogue, session: AsyncSession
) -> None:
    admin = f.auth(cat.admin)
    # A stock count below nothing, a title too long, a product of another workshop's manager: all refused
    manager = await f.user(session, f.Role.WORKSHOP_MANAGER, workshop_ids=[cat.mushroom_workshop.id])
    await session.commit()
    stock_url = f"/api/staff/variants/{cat.gufa.variant.id}/stock"
    location = cat.gufa.stock.location_id
    refused = [
        await api.put(stock_url, json={"location_id": location, "on_hand": -1}, headers=admin),
        await api.patch(f"/api/staff/products/{cat.gufa.product.id}", json={"title": "红" * 500}, headers=admin),
        await api.patch(
            f"/api/staff/products/{cat.gufa.product.id}", json={"title": "别人的红糖"}, headers=f.auth(manager)
        ),
        await api.patch(f"/api/staff/products/{cat.gufa.product.id}", json={"brand_id": 999_999}, headers=admin),
    ]
    assert [r.status_code >= 400 for r in refused] == [True] * 4, [r.text for r in refused]
    # Then no outbox row was written, and the index still matches the catalogue
    assert await events(app) == []
    await app.state.search_indexer.drain()
    assert await titles(app.state.search, "古法") == ["知味红 古法手工红糖"]
    await assert_in_step(app)


async def test_check_reports_documents_missing_stale_or_extra(
    app: Litestar, api: AsyncTestClient[Litestar], cat: SearchCatalogue
) -> None:
    service: SearchService = app.state.search
    await assert_in_step(app)
    # When the index is edited behind the catalogue's back
    gufa, duanmu = cat.gufa.product.id, cat.duanmu.product.id
    async with app.state.session_factory() as session:
        [doc] = [to_dict(d) for d in await build_product_documents(session, [duanmu])]
    await service.products.delete([gufa])
    await service.products.upsert([doc | {"title": "改过的标题", "version": "0" * 16}, doc | {"id": 999_999}])
    await service.workshops.delete([cat.mushroom_workshop.id])
    # Then check names each kind of drift
    async with app.state.session_factory() as session:
        reports = {r.index: r for r in await service.check(session)}
    assert (reports["products"].missing, reports["products"].stale, reports["products"].extra) == (
        [gufa],
        [duanmu],
        [999_999],
    )
    assert (reports["products"].expected, reports["products"].indexed) == (5, 5)
    assert (reports["workshops"].missing, reports["workshops"].stale, reports["workshops"].extra) == (
        [cat.mushroom_workshop.id],
        [],
        [],
    )
    assert not reports["products"].ok
    # And a reindex repairs it
    async with app.state.session_factory() as session:
        assert await service.reindex(session) == {"products": 5, "workshops": 2}
    await assert_in_step(app)


# ----------------------------------------------------------------- failures: rows stay pending, then apply once


class FlakyEngine(EmbeddedEngine):
    """An embedded index whose writes fail while ``failing`` is set (a backend that refuses writes)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.failing = False
        self.applied: list[list[int]] = []

    async def upsert(self, docs: Sequence[Any]) -> None:
        if self.failing:
            raise SearchUnavailable("index refused the write")
        self.applied.append([int(d["id"]) for d in docs])
        await super().upsert(docs)


@pytest.fixture
async def meili_app(settings: Settings, standin: MeiliStandIn) -> AsyncIterator[Litestar]:
    """The app configured for Meilisearch (the stand-in): no in-process follower, the worker's job applies rows."""
    settings.search = settings.search.model_copy(update={"backend": "meilisearch"})
    settings.meilisearch = settings.meilisearch.model_copy(
        update={"url": standin.url, "index_prefix": f"t{uuid.uuid4().hex[:8]}_", "timeout_seconds": 1.0}
    )
    application = create_app(settings)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def meili_api(
    meili_app: Litestar, cat: SearchCatalogue, standin: MeiliStandIn
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    prefix = meili_app.state.settings.meilisearch.index_prefix
    async with AsyncTestClient(app=meili_app) as client:
        # The start-up fills the embedded fallback and creates both indexes; `hub search reindex` fills them.
        service: SearchService = meili_app.state.search
        for _ in range(500):
            if f"{prefix}workshops" in standin.indexes and await service.products.embedded.count() == 5:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.02)
        async with meili_app.state.session_factory() as own:
            assert await service.reindex(own) == {"products": 5, "workshops": 2}
        yield client


def pushed(standin: MeiliStandIn, uid: str) -> list[list[int]]:
    """Ids of every document batch sent to an index (including refused ones)."""
    path = f"/indexes/{uid}/documents"
    return [[d["id"] for d in body] for m, p, body in standin.requests if m == "POST" and p.split("?")[0] == path]


def job_context(app: Litestar) -> JobContext:
    return JobContext(app.state.settings, app.state.session_factory, app.state)


async def test_meilisearch_down_leaves_rows_pending_then_a_later_run_applies_them_once(
    meili_app: Litestar,
    meili_api: AsyncTestClient[Litestar],
    cat: SearchCatalogue,
    standin: MeiliStandIn,
) -> None:
    prefix = meili_app.state.settings.meilisearch.index_prefix
    docs = standin.indexes[f"{prefix}products"]["docs"]
    gufa = cat.gufa.product.id
    assert docs[str(gufa)]["title"] == "知味红 古法手工红糖"
    # Given a rename committed while Meilisearch is down
    renamed = await meili_api.patch(
        f"/api/staff/products/{gufa}", json={"title": "知味红 头道红糖"}, headers=f.auth(cat.admin)
    )
    assert renamed.status_code == 200, renamed.text
    [row] = await events(meili_app)
    assert (row.entity_id, row.reason, row.processed_at, row.attempts) == (gufa, "updated", None, 0)
    standin.down = True
    # When the worker's job runs, it fails and the row stays pending with the error
    with pytest.raises(SearchUnavailable):
        await apply_shared_index(job_context(meili_app))
    [row] = await events(meili_app)
    assert (row.processed_at, row.attempts) == (None, 1)
    assert row.last_error and "not applied" in row.last_error
    assert docs[str(gufa)]["title"] == "知味红 古法手工红糖"
    # Meanwhile search still answers, from the embedded copy, flagged degraded, never a 500
    during = await meili_api.get("/api/search", params={"q": "头道"})
    assert during.status_code == 200
    assert (during.json()["degraded"], [h["title"] for h in during.json()["hits"]]) == (True, ["知味红 头道红糖"])
    # When Meilisearch is back, the next run applies the row once and marks it processed
    standin.down = False
    before = len(pushed(standin, f"{prefix}products"))
    await apply_shared_index(job_context(meili_app))
    [row] = await events(meili_app)
    assert row.processed_at is not None and (row.attempts, row.last_error) == (1, None)
    assert docs[str(gufa)]["title"] == "知味红 头道红糖"
    assert pushed(standin, f"{prefix}products")[before:] == [[gufa]]
    # And a further run has nothing left to do
    await apply_shared_index(job_context(meili_app))
    assert len(pushed(standin, f"{prefix}products")) == before + 1
    await assert_in_step(meili_app)


async def test_an_embedded_index_that_refuses_a_write_is_retried_by_the_local_indexer(
    meili_app: Litestar, meili_api: AsyncTestClient[Litestar], cat: SearchCatalogue
) -> None:
    # Given an embedded index of our own, in step with the catalogue, followed by a LocalIndexer
    analyzer = Analyzer()
    flaky = FlakyEngine(PRODUCT_SPEC, analyzer)
    service = SearchService(flaky, EmbeddedEngine(WORKSHOP_SPEC, analyzer), analyzer, meili_app.state.session_factory)
    async with meili_app.state.session_factory() as own:
        await service.reindex(own)
    indexer = LocalIndexer(service, meili_app.state.session_factory)
    await indexer.start_cursor()
    cursor = indexer.cursor
    gufa = cat.gufa.product.id
    renamed = await meili_api.patch(
        f"/api/staff/products/{gufa}", json={"title": "知味红 头道红糖"}, headers=f.auth(cat.admin)
    )
    assert renamed.status_code == 200
    # When the index refuses the write
    flaky.failing = True
    with pytest.raises(SearchUnavailable):
        await indexer.drain()
    # Then the row is pending with the error, the cursor did not move, and the old title is still what is indexed
    [row] = await events(meili_app)
    assert (row.processed_at, row.attempts, row.last_error) == (None, 1, "index refused the write")
    assert indexer.cursor == cursor
    assert await titles(service, "古法") == ["知味红 古法手工红糖"]
    # When it accepts writes again, the next drain applies the row once
    flaky.failing = False
    assert await indexer.drain() == 1
    assert await indexer.drain() == 0
    assert flaky.applied == [[gufa]]
    [row] = await events(meili_app)
    assert row.processed_at is not None and row.last_error is None
    assert await titles(service, "头道") == ["知味红 头道红糖"]
    assert await titles(service, "古法") == ["知味红 头道红糖"]  # still tagged 古法红糖
    await assert_in_step(meili_app, service)
