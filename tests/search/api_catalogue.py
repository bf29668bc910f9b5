"""A small real catalogue for the search API and outbox tests, and a wait for the app's index to hold it.

Two counties, two brand families, two workshops and five products with chosen prices and stock, so facet counts,
sorts and pages have exact expected values:

| product             | family / brand     | county | price | stock | stars |
|---------------------|--------------------|--------|-------|-------|-------|
| 知味红 古法手工红糖 | 侨乡优品           | 青田县 | 38.00 | 50    | 5     |
| 知味红 老姜红糖块   | 侨乡优品           | 青田县 | 29.80 | 0     | 5     |
| 红糖出海 侨乡礼盒    | 侨乡优品           | 青田县 | 128.00| 5     | 5     |
| 庆元椴木香菇        | 丽水山坊 / 山耕    | 庆元县 | 58.00 | 10    | 4     |
| 庆元花菇 特级       | 丽水山坊 / 山耕    | 庆元县 | 15.00 | 10    | 4     |
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Brand, Region, Workshop, WorkshopType
from shop.accounts.models import Role, User
from tests import factories as f
from tests.factories import ProductBundle


@dataclass
class SearchCatalogue:
    qingtian: Region
    qingyuan: Region
    qiaoxiang: Brand
    lishui: Brand
    shangeng: Brand
    sugar_workshop: Workshop
    mushroom_workshop: Workshop
    gufa: ProductBundle
    laojiang: ProductBundle
    lihe: ProductBundle
    duanmu: ProductBundle
    huagu: ProductBundle
    admin: User
    buyer: User

    @property
    def product_count(self) -> int:
        return 5


async def search_catalogue(session: AsyncSession) -> SearchCatalogue:
    qingtian, _, shangping = await f.region_tree(session, "青田县", "鹤塘乡", "上坪村")
    qingyuan, _, longyan = await f.region_tree(session, "庆元县", "百山祖镇", "龙岩村")
    qiaoxiang = await f.brand(session, "侨乡优品")
    lishui = await f.brand(session, "丽水山坊")
    shangeng = await f.brand(session, "山耕", parent=lishui)
    sugar = await f.workshop(session, shangping, "知味红·红糖工坊", WorkshopType.OVERSEAS_CHINESE_AIDED, stars=5)
    mushroom = await f.workshop(session, longyan, "庆元香菇共富工坊", WorkshopType.BRAND_LED, stars=4)
    gufa = await f.product(session, sugar, qiaoxiang, "知味红 古法手工红糖", 3800, 50, tags=["红糖", "古法红糖"])
    laojiang = await f.product(session, sugar, qiaoxiang, "知味红 老姜红糖块", 2980, 0, tags=["红糖"])
    lihe = await f.product(session, sugar, qiaoxiang, "红糖出海 侨乡礼盒", 12800, 5, tags=["红糖", "礼盒"])
    duanmu = await f.product(session, mushroom, shangeng, "庆元椴木香菇", 5800, 10, tags=["香菇"])
    huagu = await f.product(session, mushroom, shangeng, "庆元花菇 特级", 1500, 10, tags=["香菇", "花菇"])
    admin = await f.user(session, Role.CENTRE_ADMIN)
    buyer = await f.user(session, Role.BUYER)
    await session.commit()
    return SearchCatalogue(
        qingtian, qingyuan, qiaoxiang, lishui, shangeng, sugar, mushroom, gufa, laojiang, lihe, duanmu, huagu,
        admin, buyer,
    )  # fmt: skip


async def wait_until_indexed(app: Litestar, products: int, seconds: float = 20.0) -> None:
    """The search lifespan warms the embedded index in the background: wait until it holds the catalogue."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        service = getattr(app.state, "search", None)
        if service is not None and await service.products.count() == products:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the search index did not reach {products} products in {seconds} s")


# Fixtures (import them into a test module): the catalogue, and the app started once its index holds it.


@pytest.fixture
async def cat(session: AsyncSession) -> SearchCatalogue:
    return await search_catalogue(session)


@pytest.fixture
async def api(app: Litestar, cat: SearchCatalogue) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app started after the catalogue is in the database, once its index holds all of it."""
    async with AsyncTestClient(app=app) as client:
        await wait_until_indexed(app, cat.product_count)
        yield client
