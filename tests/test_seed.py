"""Demo and synthetic catalogue data, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import AsyncIterator
from typing import TypeVar

import pytest
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import catalog.models  # noqa: F401 - registers the tables
import shop.accounts.models
import shop.audit  # noqa: F401
from catalog.models import (
    Brand,
    Product,
    ProductVariant,
    RedSteward,
    Region,
    RegionLevel,
    StarRating,
    StockLevel,
    StockLocation,
    Workshop,
)
from catalog.seed import iter_synthetic_products, load_demo, load_synthetic
from shop.accounts.models import Role, User, WorkshopManagerScope
from shop.auth import verify_password
from shop.db import create_engine, create_session_factory
from shop.settings import Settings

M = TypeVar("M")

TODAY = dt.date(2026, 11, 23)  # a Monday
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
TABLES = (Region, Brand, Workshop, RedSteward, StarRating, Product, ProductVariant, StockLocation, StockLevel, User)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The suite's migrated database (SQLite and PostgreSQL, see tests/conftest.py), emptied for this test."""
    eng = create_engine(settings.db, null_pool=True)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


async def _one(session: AsyncSession, stmt: Select[tuple[M]]) -> M:
    return (await session.scalars(stmt)).one()


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model)) or 0 for model in TABLES
        }


async def test_demo_loads_the_catalogue_drawn_from_the_seeds(sessions: async_sessionmaker[AsyncSession]) -> None:
    # Given an empty database
    # When the demo is loaded
    async with sessions() as session:
        summary = await load_demo(session, today=TODAY)

    # Then the summary and the tables hold exactly the demo
    assert (summary.workshops, summary.workshop_types, summary.workshop_counties) == (26, 9, 12)
    assert (summary.families, summary.brands, summary.products, summary.experiences) == (5, 12, 79, 14)
    assert (summary.stewards, summary.ratings, summary.stock_locations, summary.users) == (59, 78, 27, 10)
    assert summary.inserted > 0
    assert await _counts(sessions) == {
        "region": 101,
        "brand": 12,
        "workshop": 26,
        "red_steward": 59,
        "star_rating": 78,
        "product": 79,
        "product_variant": summary.variants,
        "stock_location": 27,
        "stock_level": summary.stock_levels,
        "user_account": 10,
    }
    async with sessions() as session:
        types = set((await session.scalars(select(Workshop.workshop_type).distinct())).all())
        counties = set(
            (await session.scalars(select(Region.name).join(Workshop, Workshop.county_id == Region.id))).all()
        )
        assert len(types) == 9
        assert {"青田县", "嵊州市", "路桥区", "景宁畲族自治县", "庆元县", "松阳县", "云和县", "海宁市"} <= counties
        assert (await _one(session, select(Region).where(Region.name == "上坪村"))).level is RegionLevel.VILLAGE

        # the 1+N families: roots are their own family, sub-brands point at the root
        roots = (await session.scalars(select(Brand).where(Brand.parent_id.is_(None)).order_by(Brand.position))).all()
        assert [b.name for b in roots] == ["丽水山坊", "侨乡优品", "台州好产品", "剡青优选", "潮城共富"]
        assert all(b.family_id == b.id for b in roots)
        shanfang = roots[0]
        per_sub_brand = dict(
            (
                await session.execute(
                    select(Brand.name, func.count(Product.id))
                    .join(Product, Product.brand_id == Brand.id)
                    .where(Brand.parent_id == shanfang.id, Brand.family_id == shanfang.id)
                    .group_by(Brand.name)
                )
            )
            .tuples()
            .all()
        )
        assert set(per_sub_brand) == {"山耕", "山景", "山居", "山播"}
        assert min(per_sub_brand.values()) >= 3
        families_with_products = await session.scalar(
            select(func.count(func.distinct(Brand.family_id))).join(Product, Product.brand_id == Brand.id)
        )
        assert families_with_products == 5

        # every workshop has public stewards and its latest stars are those of its latest rating (2026 H1)
        for workshop in (await session.scalars(select(Workshop))).all():
            assert workshop.stewards and all(s.phone and s.work_unit and s.role for s in workshop.stewards)
            assert [(r.year, r.half.value) for r in workshop.ratings] == [(2026, "H1"), (2025, "H2"), (2025, "H1")]
            assert workshop.latest_stars == workshop.ratings[0].stars
            assert workshop.benefit_models
        hongtang = await _one(session, select(Workshop).where(Workshop.name == "知味红·红糖工坊"))
        assert (hongtang.latest_stars, hongtang.service_fee_bp) == (5, 400)
        assert hongtang.benefit_models == ["labour", "guaranteed_purchase", "equity_dividend"]
        assert "8万元" in hongtang.story

        # every product has a priced variant and min_price_fen is its cheapest active variant
        for product in (await session.scalars(select(Product))).all():
            assert product.variants and all(v.price_fen > 0 for v in product.variants)
            assert product.min_price_fen == min(v.price_fen for v in product.variants if v.is_active)
            if product.is_experience:
                assert all(v.available_on is not None and v.available_on > TODAY for v in product.variants)
        sugar = await _one(session, select(Product).where(Product.title == "知味红 古法手工红糖"))
        assert [(v.sku, v.name, v.price_fen, v.weight_g) for v in sugar.variants] == [
            ("ZWH-01-1", "500g 袋装", 3800, 500),
            ("ZWH-01-2", "1kg 罐装", 6800, 1000),
            ("ZWH-01-3", "250g×4 礼盒", 15800, 1000),
        ]
        oil = await _one(session, select(Product).where(Product.title == "丽水山茶油 冷榨一级"))
        assert (oil.min_price_fen, [v.is_active for v in oil.variants]) == (9800, [True, True, False])
        homestay = await _one(session, select(Product).where(Product.title.startswith("陈家铺 悬崖民宿")))
        assert [v.available_on for v in homestay.variants][:2] == [dt.date(2026, 11, 27), dt.date(2026, 11, 28)]
        assert len(homestay.variants) == 8

        # the words buyers search for are there
        text = " ".join(
            f"{p.title} {p.subtitle} {' '.join(p.tags)}" for p in (await session.scalars(select(Product))).all()
        )
        for word in ("红糖", "番薯", "红薯", "地瓜", "香菇", "茶叶", "黑木耳", "青田杨梅", "田鱼干", "山茶油", "笋干",
                     "土蜂蜜", "民宿", "松阳银猴", "惠明茶"):  # fmt: skip
            assert word in text, word

        # some products are out of stock everywhere, so an in-stock filter matters
        in_stock = (
            select(ProductVariant.product_id)
            .join(StockLevel, StockLevel.variant_id == ProductVariant.id)
            .where(StockLevel.on_hand > StockLevel.reserved)
        )
        sold_out = (await session.scalars(select(Product.title).where(Product.id.not_in(in_stock)))).all()
        assert sorted(sold_out) == ["桐屿白玉枇杷 鲜果预订", "知味红 红枣桂圆红糖茶", "青田杨梅（东魁）鲜果预订"]
        showroom_levels = await session.scalar(
            select(func.count()).select_from(StockLevel).join(StockLocation).where(StockLocation.kind == "showroom")
        )
        assert showroom_levels == 58


async def test_demo_accounts_have_roles_scopes_and_documented_passwords(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Given the demo
    async with sessions() as session:
        await load_demo(session, today=TODAY)

    # When the accounts are read back
    async with sessions() as session:
        users = {u.username: u for u in (await session.scalars(select(User))).all()}
        scoped = (
            await session.execute(
                select(User.username, Workshop.name)
                .join(WorkshopManagerScope, WorkshopManagerScope.user_id == User.id)
                .join(Workshop, Workshop.id == WorkshopManagerScope.workshop_id)
                .where(User.username == "manager_hongtang")
                .order_by(Workshop.name)
            )
        ).all()

    # Then roles, scopes and passwords are as the module docstring says
    assert {name: u.role for name, u in users.items()} == {
        "admin": Role.CENTRE_ADMIN,
        "manager_hongtang": Role.WORKSHOP_MANAGER,
        "manager_shuxiang": Role.WORKSHOP_MANAGER,
        "manager_baihua": Role.WORKSHOP_MANAGER,
        "streamer_xiaoli": Role.STREAMER,
        "streamer_ahua": Role.STREAMER,
        "streamer_dawei": Role.STREAMER,
        "kiosk": Role.KIOSK,
        "buyer": Role.BUYER,
        "member": Role.MEMBER,
    }
    assert [tuple(r) for r in scoped] == [
        ("manager_hongtang", "方山稻鱼共富工坊"),
        ("manager_hongtang", "知味红·红糖工坊"),
    ]
    assert verify_password(users["admin"].password_hash, "admin12345")
    assert verify_password(users["manager_hongtang"].password_hash, "manager12345")
    assert verify_password(users["streamer_xiaoli"].password_hash, "streamer12345")
    assert not verify_password(users["buyer"].password_hash, "admin12345")


async def test_loading_the_demo_twice_changes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    # Given a loaded demo
    async with sessions() as session:
        first = await load_demo(session, today=TODAY)
    before = await _counts(sessions)

    # When it is loaded again on the same day
    async with sessions() as session:
        second = await load_demo(session, today=TODAY)

    # Then nothing was inserted and every table is unchanged
    assert second.inserted == 0
    assert second.products == first.products == 79
    assert await _counts(sessions) == before


async def test_a_later_demo_load_adds_only_the_new_experience_dates(sessions: async_sessionmaker[AsyncSession]) -> None:
    # Given a demo loaded on Monday 23 November
    async with sessions() as session:
        await load_demo(session, today=TODAY)
    before = await _counts(sessions)

    # When it is loaded again a week later
    async with sessions() as session:
        later = await load_demo(session, today=TODAY + dt.timedelta(days=7))

    # Then only the dated variants of the extra week (and their stock) are new
    after = await _counts(sessions)
    new_variants = after["product_variant"] - before["product_variant"]
    assert new_variants == 24  # 14 experiences a week: 5 on Fri+Sat, 5 on Sat+Sun, 4 on Sat
    assert after["stock_level"] - before["stock_level"] == new_variants
    assert later.inserted == 2 * new_variants
    assert {k: v for k, v in after.items() if k not in ("product_variant", "stock_level")} == {
        k: v for k, v in before.items() if k not in ("product_variant", "stock_level")
    }


def test_synthetic_products_are_deterministic_and_plausible() -> None:
    # Given the same seed twice and another seed
    first = list(iter_synthetic_products(300, seed=7))
    again = list(iter_synthetic_products(300, seed=7))
    other = list(iter_synthetic_products(300, seed=8))

    # Then the documents repeat exactly per seed, differ across seeds, and are well formed
    assert first == again
    assert first != other
    assert [d["index"] for d in first] == list(range(300))
    assert first[0]["variants"][0]["sku"] == "SYN7-0000000-1"
    for doc in first:
        assert doc["title"] and doc["description"].startswith("产自")
        assert doc["min_price_fen"] == min(v["price_fen"] for v in doc["variants"]) >= 100
        assert doc["in_stock"] == any(v["on_hand"] > 0 for v in doc["variants"])
    assert len({d["workshop"] for d in first}) > 100
    assert len({d["family"] for d in first}) == 5


async def test_synthetic_catalogue_inserts_exactly_and_fast(engine: AsyncEngine) -> None:
    # Given the documents the loader will write
    expected = list(iter_synthetic_products(2000, seed=42))
    variants = sum(len(d["variants"]) for d in expected)
    progress: list[tuple[int, int]] = []

    # When 2,000 synthetic products are inserted in batches of 500
    started = time.perf_counter()
    inserted = await load_synthetic(engine, 2000, seed=42, batch=500, progress=lambda d, t: progress.append((d, t)))
    elapsed = time.perf_counter() - started

    # Then exactly those rows exist, with workshops, stock and readable values
    sessions = create_session_factory(engine)
    counts = await _counts(sessions)
    assert inserted == 2000
    assert (counts["product"], counts["product_variant"], counts["stock_level"]) == (2000, variants, variants)
    assert counts["workshop"] == 200
    assert counts["brand"] == 12
    assert progress == [(500, 2000), (1000, 2000), (1500, 2000), (2000, 2000)]
    # generous: the target is ≥ 5,000 products/s; the bound only catches a pathological regression on a busy CI box
    assert elapsed < 30
    async with sessions() as session:
        product = await _one(session, select(Product).order_by(Product.id).limit(1))
        assert product.title == expected[0]["title"]
        assert product.tags == expected[0]["tags"]
        assert product.created_at.tzinfo is not None
        assert [v.sku for v in product.variants] == [v["sku"] for v in expected[0]["variants"]]
        assert product.min_price_fen == expected[0]["min_price_fen"]
        workshop = await session.get_one(Workshop, product.workshop_id)
        assert workshop.stewards and workshop.ratings and workshop.latest_stars == workshop.ratings[0].stars


async def test_a_second_synthetic_run_appends_after_the_first(engine: AsyncEngine) -> None:
    # Given 300 synthetic products
    await load_synthetic(engine, 300, seed=42)

    # When 200 more are loaded with the same seed
    inserted = await load_synthetic(engine, 200, seed=42)

    # Then the SKUs continue at index 300 and the workshops are reused
    sessions = create_session_factory(engine)
    counts = await _counts(sessions)
    assert inserted == 200
    assert (counts["product"], counts["workshop"], counts["stock_location"]) == (500, 200, 200)
    async with sessions() as session:
        last = await session.scalar(select(func.max(ProductVariant.sku)))
        assert last is not None and last.startswith("SYN42-0000499-")


async def test_synthetic_catalogue_sits_beside_the_demo(sessions: async_sessionmaker[AsyncSession]) -> None:
    # Given the demo
    async with sessions() as session:
        await load_demo(session, today=TODAY)

    # When a synthetic catalogue is added and the demo is loaded again
    await load_synthetic(sessions, 100, seed=1)
    async with sessions() as session:
        again = await load_demo(session, today=TODAY)

    # Then both coexist: the counties and brands are shared, the demo is still complete
    counts = await _counts(sessions)
    assert again.inserted == 0
    assert (counts["product"], counts["brand"], counts["workshop"]) == (179, 12, 226)
    async with sessions() as session:
        counties = await session.scalar(
            select(func.count()).select_from(Region).where(Region.level == RegionLevel.COUNTY)
        )
        assert counties == 13
