"""Factories: build the rows a test needs, with sensible defaults, through the ORM (no fixture files)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import (
    Brand,
    LocationKind,
    OperatorKind,
    Product,
    ProductStatus,
    ProductVariant,
    RedSteward,
    Region,
    RegionLevel,
    StarRating,
    StockLevel,
    StockLocation,
    Workshop,
    WorkshopType,
)
from shop.accounts.models import Role, User, WorkshopManagerScope
from shop.auth import hash_password, issue_token

_counter = itertools.count(1)
PASSWORD = "password123"
_PASSWORD_HASH: str | None = None
from shop.settings import DEFAULT_SECRET as TEST_SECRET  # noqa: E402


def _n() -> int:
    return next(_counter)


def password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


async def region_tree(
    session: AsyncSession, county: str = "青田县", township: str = "仁庄镇", village: str = "夏严村"
) -> tuple[Region, Region, Region]:
    c = Region(level=RegionLevel.COUNTY, name=f"{county}")
    session.add(c)
    await session.flush()
    c.county_id = c.id
    t = Region(level=RegionLevel.TOWNSHIP, name=township, parent_id=c.id, county_id=c.id)
    session.add(t)
    await session.flush()
    v = Region(level=RegionLevel.VILLAGE, name=village, parent_id=t.id, county_id=c.id, township_id=t.id)
    session.add(v)
    await session.flush()
    return c, t, v


async def brand(session: AsyncSession, name: str | None = None, parent: Brand | None = None) -> Brand:
    n = _n()
    b = Brand(
        name=name or f"品牌{n}",
        slug=f"brand-{n}",
        parent_id=parent.id if parent else None,
        family_id=(parent.family_id or parent.id) if parent else None,
    )
    session.add(b)
    await session.flush()
    if b.family_id is None:
        b.family_id = b.id
    return b


async def workshop(
    session: AsyncSession,
    village: Region,
    name: str | None = None,
    workshop_type: WorkshopType = WorkshopType.MATERIAL_PROCESSING,
    stars: int | None = None,
    **kw: Any,
) -> Workshop:
    w = Workshop(
        name=name or f"共富工坊{_n()}",
        village_id=village.id,
        county_id=village.county_id or village.id,
        workshop_type=workshop_type,
        operator_kind=kw.pop("operator_kind", OperatorKind.VILLAGE_COMPANY),
        operator_name=kw.pop("operator_name", "强村公司"),
        story=kw.pop("story", "工坊故事"),
        benefit_models=kw.pop("benefit_models", ["labour"]),
        latest_stars=stars,
        **kw,
        stewards=[RedSteward(name="王红", work_unit="仁庄镇党委", phone="13800000000", role="红色管家")],
    )
    session.add(w)
    await session.flush()
    if stars is not None:
        session.add(
            StarRating(
                workshop_id=w.id,
                year=2026,
                half="H1",
                party_leadership=stars,
                organisation=stars,
                service_support=stars,
                prosperity_impact=stars,
                stars=stars,
            )
        )
    session.add(StockLocation(name=f"{w.name}仓", kind=LocationKind.WORKSHOP_STORE, workshop_id=w.id))
    await session.flush()
    return w


@dataclass
class ProductBundle:
    product: Product
    variant: ProductVariant
    stock: StockLevel


async def product(
    session: AsyncSession,
    workshop_: Workshop,
    brand_: Brand,
    title: str | None = None,
    price_fen: int = 3800,
    on_hand: int = 10,
    status: ProductStatus = ProductStatus.ACTIVE,
    **kw: Any,
) -> ProductBundle:
    from sqlalchemy import select

    n = _n()
    variant = ProductVariant(sku=f"SKU-{n}", name="500g", price_fen=price_fen, weight_g=500)
    p = Product(
        workshop_id=workshop_.id,
        brand_id=brand_.id,
        title=title or f"红糖{n}",
        status=status,
        min_price_fen=price_fen,
        variants=[variant],
        **kw,
    )
    session.add(p)
    await session.flush()
    location_id = await session.scalar(select(StockLocation.id).where(StockLocation.workshop_id == workshop_.id))
    stock = StockLevel(variant_id=variant.id, location_id=location_id, on_hand=on_hand, reserved=0)
    session.add(stock)
    await session.flush()
    return ProductBundle(p, variant, stock)


async def user(
    session: AsyncSession,
    role: Role = Role.BUYER,
    username: str | None = None,
    workshop_ids: list[int] | None = None,
) -> User:
    u = User(
        username=username or f"user{_n()}",
        display_name="测试用户",
        password_hash=password_hash(),
        role=role,
        managed_workshops=[WorkshopManagerScope(workshop_id=w) for w in workshop_ids or []],
    )
    session.add(u)
    await session.flush()
    return u


def token_for(u: User, secret: str = TEST_SECRET) -> str:
    return issue_token(u.id, u.role, secret, dt.timedelta(hours=1))


def auth(u: User, secret: str = TEST_SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(u, secret)}"}


@dataclass
class Catalogue:
    county: Region
    township: Region
    village: Region
    family: Brand
    sub_brand: Brand
    workshop: Workshop
    product: ProductBundle


async def small_catalogue(session: AsyncSession) -> Catalogue:
    """A county/township/village, a family with one sub-brand, a workshop and one product with stock."""
    c, t, v = await region_tree(session)
    family = await brand(session, "丽水山坊")
    sub = await brand(session, "山耕", parent=family)
    w = await workshop(session, v, "知味红·红糖工坊", stars=4)
    p = await product(session, w, sub, "青田红糖 古法手工", price_fen=3800, on_hand=50)
    await session.commit()
    return Catalogue(c, t, v, family, sub, w, p)
