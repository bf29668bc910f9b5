"""Documents from the catalogue (set-based loading) and the SearchService over a real SQLite database."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.models import Product, ProductStatus
from search.documents import build_product_documents, build_workshop_documents, price_band
from search.engine.base import PRODUCT_SPEC, WORKSHOP_SPEC
from search.engine.embedded import EmbeddedEngine
from search.models import SearchSynonym
from search.schemas import SearchParams, WorkshopSearchParams
from search.services import SearchService
from search.text import DEFAULT_SYNONYMS, Analyzer
from shop.errors import InvalidInput
from tests.search.factories import seed_catalogue


def count_statements(session: AsyncSession) -> list[str]:
    statements: list[str] = []
    event.listen(
        session.bind.sync_engine,
        "before_cursor_execute",  # type: ignore[union-attr]
        lambda *args: statements.append(args[2]),
    )
    return statements


@pytest.fixture
def service(session_factory: async_sessionmaker[AsyncSession]) -> SearchService:
    analyzer = Analyzer()
    return SearchService(
        EmbeddedEngine(PRODUCT_SPEC, analyzer), EmbeddedEngine(WORKSHOP_SPEC, analyzer), analyzer, session_factory
    )


@pytest.mark.parametrize("products", [1, 12])
async def test_product_documents_load_in_a_fixed_number_of_queries(
    session_factory: async_sessionmaker[AsyncSession], products: int
) -> None:
    async with session_factory() as session:
        seeded = await seed_catalogue(session, products=products)
    async with session_factory() as session:
        statements = count_statements(session)
        docs = await build_product_documents(session, live_product_ids={seeded["product_ids"][0]})
    # Same number of queries for 1 and for 12 products: no N+1
    assert len(statements) == 7
    # Archived products and products of a closed workshop are not searchable
    assert [d.id for d in docs] == seeded["product_ids"]
    first = docs[0]
    assert (first.title, first.price_fen, first.price_band, first.in_stock, first.live_now) == (
        "古法红糖 1号",
        1800,
        price_band(1800),
        True,
        True,
    )
    assert (first.brand_name, first.family_name, first.brand_path, first.family_id) == (
        "山耕",
        "丽水山坊",
        ["丽水山坊", "山耕"],
        seeded["family"].id,
    )
    assert (first.workshop_name, first.workshop_type, first.workshop_type_label, first.stars) == (
        "壶镇红糖工坊",
        "brand_led",
        "品牌带动",
        4,
    )
    assert (first.county_name, first.township_name, first.village_name) == ("缙云县", "壶镇镇", "岩下村")
    assert first.created_at == 1735689600
    assert len(first.version) == 16
    if products > 1:
        # reserved == on_hand: nothing available
        assert docs[1].in_stock is False


async def test_workshop_documents(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        seeded = await seed_catalogue(session, products=2)
        docs = await build_workshop_documents(session)
    assert [(d.id, d.name, d.product_count, d.brand_names, d.stars) for d in docs] == [
        (seeded["workshop"].id, "壶镇红糖工坊", 2, ["山耕"], 4)  # the archived product does not count
    ]


async def test_reindex_search_and_facet_labels(
    service: SearchService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        seeded = await seed_catalogue(session, products=3)
        progress: list[tuple[str, int, int]] = []
        counts = await service.reindex(session, progress=lambda *a: progress.append(a))
    assert counts == {"products": 3, "workshops": 1}
    assert progress == [("products", 0, 3), ("products", 3, 3), ("workshops", 0, 1), ("workshops", 1, 1)]
    # The family filter includes the sub-brand 山耕; the brand filter on the family includes it too
    for params in (
        SearchParams(q="hongtang", family=[seeded["family"].id]),
        SearchParams(q="ht", brand=[seeded["family"].id]),
    ):
        response = await service.search(params)
        assert response.total == 3
        # equally relevant: the best seller (sales 20, 10, 0) first
        assert [h.id for h in response.hits] == seeded["product_ids"][::-1]
    response = await service.search(SearchParams(q="紅糖", in_stock=True, sort="price_asc"))
    assert [h.id for h in response.hits] == seeded["product_ids"][:1]
    assert response.hits[0].highlight == "古法<em>红糖</em> 1号"
    assert response.facets["in_stock"] == {"true": 1, "false": 2}
    assert response.facet_labels["in_stock"] == {"true": "有货", "false": "无货"}
    assert response.facet_labels["family"] == {str(seeded["family"].id): "丽水山坊"}
    assert response.facet_labels["county"] == {str(seeded["county"].id): "缙云县"}
    assert response.facet_labels["workshop_type"] == {"brand_led": "品牌带动"}
    workshops = await service.search_workshops(WorkshopSearchParams(q="壶镇"))
    assert [h.name for h in workshops.hits] == ["壶镇红糖工坊"]
    suggestions = await service.suggest("hon", 3)
    assert (suggestions.suggestions[0].text, suggestions.suggestions[0].kind) == ("红糖", "keyword")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (SearchParams(page=0), "page"),
        (SearchParams(per_page=101), "per_page"),
        (SearchParams(stars_min=6), "stars_min"),
        (SearchParams(price_band=["cheap"]), "price_band"),
        (SearchParams(workshop_type=["farm"]), "workshop_type"),
        (SearchParams(q="糖" * 101), "q"),
    ],
)
async def test_bad_parameters_are_422_with_the_field(service: SearchService, params: SearchParams, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await service.search(params)
    assert caught.value.field == field


async def test_apply_changes_and_drift_check(
    service: SearchService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        seeded = await seed_catalogue(session, products=3)
        await service.reindex(session)
        first, second, _third = seeded["product_ids"]
        # Given the catalogue changes behind the index's back
        product = await session.get(Product, first)
        assert product is not None
        product.title = "古法黑糖 1号"
        (await session.get(Product, second)).status = ProductStatus.ARCHIVED  # type: ignore[union-attr]
        await session.commit()
        # Then the check reports one stale and one extra document
        report = {r.index: r for r in await service.check(session)}
        assert (report["products"].missing, report["products"].stale, report["products"].extra) == (
            [],
            [first],
            [second],
        )
        assert report["workshops"].ok is False  # its product count changed
        # When the changes are applied (as the outbox worker does)
        assert await service.apply_changes(
            session, product_ids=[first, second], workshop_ids=[seeded["workshop"].id]
        ) == (2, 1)
        # Then nothing drifts any more
        assert all(r.ok for r in await service.check(session))
        # 黑糖 is in the title of the first; the third matches through the synonym 红糖
        assert [h.id for h in (await service.search(SearchParams(q="黑糖"))).hits] == [first, _third]


async def test_synonyms_are_stored_and_applied_without_reindex(
    service: SearchService, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        await seed_catalogue(session, products=1)
        await service.reindex(session)
        assert (await service.search(SearchParams(q="赤糖"))).total == 0
        # When an admin adds 赤糖 to the 红糖 group
        groups = await service.replace_synonyms(session, [["红糖", "赤糖"], ["番薯", "地瓜"]])
        assert groups == [["红糖", "赤糖"], ["番薯", "地瓜"]]
        stored = (await session.execute(select(SearchSynonym.terms).order_by(SearchSynonym.id))).scalars().all()
        assert stored == [["红糖", "赤糖"], ["番薯", "地瓜"]]
        # Then the next query uses it
        assert (await service.search(SearchParams(q="赤糖"))).total == 1
        # And an invalid group is refused with nothing changed
        with pytest.raises(InvalidInput) as caught:
            await service.replace_synonyms(session, [["红糖", "红糖"]])
        assert caught.value.field == "groups[0]"
        assert (await service.search(SearchParams(q="赤糖"))).total == 1
        # And an empty list restores the defaults
        restored = await service.replace_synonyms(session, [])
        assert restored == [list(g) for g in DEFAULT_SYNONYMS]
        assert await service.load_synonyms(session) == restored
