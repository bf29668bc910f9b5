"""Hand-built search documents and catalogue rows for the search tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import (
    Brand,
    LocationKind,
    OperatorKind,
    Product,
    ProductStatus,
    ProductVariant,
    Region,
    RegionLevel,
    StockLevel,
    StockLocation,
    Workshop,
    WorkshopType,
)
from search.documents import ProductDocument, price_band, to_dict, with_version

# Families: 1 丽水山坊 (sub-brands 2 山耕, 3 山居), 5 侨乡优品. Counties: 10 缙云县, 11 遂昌县, 12 青田县, 13 松阳县.
FAMILIES = {1: "丽水山坊", 5: "侨乡优品"}
BRANDS = {1: ("丽水山坊", 1), 2: ("山耕", 1), 3: ("山居", 1), 5: ("侨乡优品", 5)}
COUNTIES = {10: "缙云县", 11: "遂昌县", 12: "青田县", 13: "松阳县"}


def product_doc(doc_id: int, title: str, **overrides: Any) -> dict[str, Any]:
    brand_id = overrides.pop("brand_id", 2)
    brand_name, family_id = BRANDS[brand_id]
    county_id = overrides.pop("county_id", 10)
    price = overrides.pop("price_fen", 3000)
    doc = ProductDocument(
        id=doc_id,
        title=title,
        brand_id=brand_id,
        brand_name=brand_name,
        family_id=family_id,
        family_name=FAMILIES[family_id],
        brand_path=[FAMILIES[family_id], brand_name] if brand_id != family_id else [brand_name],
        workshop_id=overrides.pop("workshop_id", 100),
        workshop_name=overrides.pop("workshop_name", "壶镇共富工坊"),
        workshop_type=overrides.pop("workshop_type", "brand_led"),
        county_id=county_id,
        county_name=COUNTIES[county_id],
        price_fen=price,
        price_band=price_band(price),
        **overrides,
    )
    return to_dict(with_version(doc))


def catalogue_docs() -> list[dict[str, Any]]:
    """Eight products chosen so that every feature has an exact, unambiguous expected answer."""
    return [
        product_doc(
            1,
            "丽水山耕古法红糖",
            tags=["红糖"],
            price_fen=3800,
            in_stock=True,
            stars=5,
            sales_count=120,
            created_at=1_000,
            description="甘蔗手工熬制",
        ),
        product_doc(
            2,
            "农家番薯干 500g",
            brand_id=2,
            county_id=11,
            price_fen=1500,
            in_stock=True,
            stars=4,
            sales_count=300,
            live_now=True,
            created_at=2_000,
            workshop_type="material_processing",
            workshop_name="遂昌番薯工坊",
            workshop_id=101,
        ),
        product_doc(
            3,
            "紅薯粉絲",
            brand_id=5,
            county_id=12,
            price_fen=2500,
            in_stock=False,
            stars=3,
            sales_count=5,
            created_at=3_000,
            workshop_type="overseas_chinese_aided",
            workshop_name="青田侨乡工坊",
            workshop_id=102,
        ),
        product_doc(
            4,
            "高山红茶礼盒",
            county_id=13,
            price_fen=12_800,
            in_stock=True,
            stars=5,
            sales_count=50,
            created_at=4_000,
            tags=["茶"],
            workshop_name="松阳茶香工坊",
            workshop_id=103,
        ),
        product_doc(
            5,
            "山居民宿两晚 <豪华间>",
            brand_id=3,
            county_id=13,
            price_fen=68_000,
            in_stock=True,
            stars=4,
            sales_count=8,
            created_at=5_000,
            workshop_type="agri_tourism",
            workshop_name="松阳民宿工坊",
            workshop_id=104,
        ),
        product_doc(
            6,
            "缙云烧饼 冷冻装",
            county_id=10,
            price_fen=4_900,
            in_stock=True,
            stars=0,
            sales_count=900,
            created_at=6_000,
            workshop_type="ecommerce_livestream",
            workshop_name="缙云烧饼工坊",
            workshop_id=105,
        ),
        product_doc(
            7,
            "青田杨梅 鲜果2斤",
            brand_id=5,
            county_id=12,
            price_fen=9_900,
            in_stock=True,
            stars=4,
            sales_count=70,
            created_at=7_000,
            workshop_type="overseas_chinese_aided",
            workshop_name="青田侨乡工坊",
            workshop_id=102,
        ),
        product_doc(
            8,
            "香菇干货 花菇",
            county_id=11,
            price_fen=19_900,
            in_stock=False,
            stars=2,
            sales_count=12,
            created_at=8_000,
            workshop_name="遂昌番薯工坊",
            workshop_id=101,
            workshop_type="material_processing",
        ),
    ]


async def seed_catalogue(session: AsyncSession, *, products: int = 3) -> dict[str, Any]:
    """A small real catalogue in the database: regions, a brand family, two workshops, products with variants."""
    county = Region(level=RegionLevel.COUNTY, name="缙云县")
    session.add(county)
    await session.flush()
    town = Region(level=RegionLevel.TOWNSHIP, name="壶镇镇", parent_id=county.id, county_id=county.id)
    session.add(town)
    await session.flush()
    village = Region(
        level=RegionLevel.VILLAGE, name="岩下村", parent_id=town.id, county_id=county.id, township_id=town.id
    )
    session.add(village)
    family = Brand(name="丽水山坊", slug="lishui-shanfang")
    session.add(family)
    await session.flush()
    family.family_id = family.id
    sub = Brand(name="山耕", slug="shangeng", parent_id=family.id, family_id=family.id)
    session.add(sub)
    await session.flush()
    workshop = Workshop(
        name="壶镇红糖工坊",
        village_id=village.id,
        county_id=county.id,
        workshop_type=WorkshopType.BRAND_LED,
        operator_kind=OperatorKind.VILLAGE_COMPANY,
        operator_name="壶镇强村公司",
        latest_stars=4,
    )
    closed = Workshop(
        name="已关停工坊",
        village_id=village.id,
        county_id=county.id,
        workshop_type=WorkshopType.MOBILE_SUPPLY,
        operator_kind=OperatorKind.OTHER,
        operator_name="无",
        is_active=False,
    )
    session.add_all([workshop, closed])
    await session.flush()
    location = StockLocation(name="壶镇仓", kind=LocationKind.WORKSHOP_STORE, workshop_id=workshop.id)
    session.add(location)
    await session.flush()
    ids = []
    for n in range(products):
        product = Product(
            workshop_id=workshop.id,
            brand_id=sub.id,
            title=f"古法红糖 {n + 1}号",
            tags=["红糖"],
            sales_count=10 * n,
            created_at=dt.datetime(2025, 1, 1 + n, tzinfo=dt.UTC),
        )
        session.add(product)
        await session.flush()
        cheap = ProductVariant(product_id=product.id, sku=f"RT-{n}-S", name="250g", price_fen=1800 + n)
        dear = ProductVariant(product_id=product.id, sku=f"RT-{n}-L", name="500g", price_fen=3200 + n)
        retired = ProductVariant(product_id=product.id, sku=f"RT-{n}-X", name="旧包装", price_fen=100, is_active=False)
        session.add_all([cheap, dear, retired])
        await session.flush()
        # Only the first product has units available (on hand minus reserved).
        session.add(StockLevel(variant_id=dear.id, location_id=location.id, on_hand=5, reserved=0 if n == 0 else 5))
        ids.append(product.id)
    archived = Product(workshop_id=workshop.id, brand_id=sub.id, title="下架红糖", status=ProductStatus.ARCHIVED)
    hidden = Product(workshop_id=closed.id, brand_id=sub.id, title="关停工坊红糖")
    session.add_all([archived, hidden])
    await session.commit()
    return {
        "county": county,
        "town": town,
        "village": village,
        "family": family,
        "sub": sub,
        "workshop": workshop,
        "closed": closed,
        "product_ids": ids,
        "archived_id": archived.id,
        "hidden_id": hidden.id,
    }
