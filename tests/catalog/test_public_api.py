"""Public catalogue API: brands tree, workshops, products with filters, sorting and pagination."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import ProductStatus, WorkshopType
from tests import factories as f


async def test_brands_tree_nests_sub_brands_under_their_family(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a family with two sub-brands and another family
    family = await f.brand(session, "丽水山坊")
    await f.brand(session, "山耕", parent=family)
    await f.brand(session, "山居", parent=family)
    await f.brand(session, "侨乡优品")
    await session.commit()
    # when
    response = await client.get("/api/brands")
    # then
    assert response.status_code == 200
    tree = response.json()
    assert [node["name"] for node in tree] == ["丽水山坊", "侨乡优品"]
    assert [child["name"] for child in tree[0]["children"]] == ["山耕", "山居"]
    assert tree[1]["children"] == []


async def test_family_filter_includes_every_sub_brand(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    # given products under two sub-brands of 丽水山坊, one under the parent itself, and one in another family
    _, _, village = await f.region_tree(session)
    family = await f.brand(session, "丽水山坊")
    farm = await f.brand(session, "山耕", parent=family)
    stay = await f.brand(session, "山居", parent=family)
    other = await f.brand(session, "台州好产品")
    w = await f.workshop(session, village)
    a = await f.product(session, w, farm, "香菇干")
    b = await f.product(session, w, stay, "民宿一晚")
    c = await f.product(session, w, family, "丽水山坊礼盒")
    await f.product(session, w, other, "路桥枇杷")
    await session.commit()
    # when filtering by family name and by family id
    by_name = (await client.get("/api/products", params={"family": "丽水山坊", "sort": "title"})).json()
    by_id = (await client.get("/api/products", params={"family": str(family.id), "sort": "title"})).json()
    by_sub = (await client.get("/api/products", params={"family": "山耕"})).json()
    # then
    expected = sorted([a.product.id, b.product.id, c.product.id])
    assert sorted(p["id"] for p in by_name["items"]) == expected
    assert by_name["total"] == 3
    assert sorted(p["id"] for p in by_id["items"]) == expected
    assert [p["id"] for p in by_sub["items"]] == [a.product.id]
    assert by_name["items"][0]["brand"]["family_name"] == "丽水山坊"


async def test_product_filters_brand_workshop_county_type_and_stock(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given two counties with a workshop each, one product out of stock
    _, _, v1 = await f.region_tree(session, "青田县", "仁庄镇", "夏严村")
    _, _, v2 = await f.region_tree(session, "嵊州市", "甘霖镇", "东王村")
    fam = await f.brand(session, "丽水山坊")
    sub = await f.brand(session, "山耕", parent=fam)
    w1 = await f.workshop(session, v1, "知味红·红糖工坊", WorkshopType.BRAND_LED)
    w2 = await f.workshop(session, v2, "薯香共富工坊", WorkshopType.MATERIAL_PROCESSING)
    sugar = await f.product(session, w1, sub, "红糖", on_hand=5)
    potato = await f.product(session, w2, fam, "番薯干", on_hand=0)
    await session.commit()

    async def ids(**params: str) -> list[int]:
        response = await client.get("/api/products", params=params)
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["items"]]

    # then
    assert await ids(brand="山耕") == [sugar.product.id]
    assert await ids(workshop=str(w2.id)) == [potato.product.id]
    assert await ids(county="嵊州市") == [potato.product.id]
    assert await ids(county=str(v1.county_id)) == [sugar.product.id]
    assert await ids(workshop_type="brand_led") == [sugar.product.id]
    assert await ids(in_stock="true") == [sugar.product.id]
    assert await ids(in_stock="false") == [potato.product.id]


async def test_sorting_and_pagination(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    # given three products at different prices
    _, _, v = await f.region_tree(session)
    b = await f.brand(session)
    w = await f.workshop(session, v)
    cheap = await f.product(session, w, b, "笋干", price_fen=1500)
    mid = await f.product(session, w, b, "红糖", price_fen=3800)
    dear = await f.product(session, w, b, "山茶油", price_fen=12800)
    await session.commit()
    # when
    asc = (await client.get("/api/products", params={"sort": "price_asc"})).json()
    desc = (await client.get("/api/products", params={"sort": "price_desc", "per_page": "2", "page": "2"})).json()
    # then
    assert [p["id"] for p in asc["items"]] == [cheap.product.id, mid.product.id, dear.product.id]
    assert [p["price_fen"] for p in asc["items"]] == [1500, 3800, 12800]
    assert desc["total"] == 3 and desc["page"] == 2 and desc["per_page"] == 2
    assert [p["id"] for p in desc["items"]] == [cheap.product.id]


async def test_product_detail_shows_variants_stock_and_where_the_money_goes(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given
    cat = await f.small_catalogue(session)
    # when
    response = await client.get(f"/api/products/{cat.product.product.id}")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "青田红糖 古法手工"
    assert body["price_fen"] == 3800
    assert body["available"] == 50 and body["in_stock"] is True
    assert body["variants"][0]["sku"] == cat.product.variant.sku
    assert body["variants"][0]["stock"][0]["on_hand"] == 50
    assert body["workshop"]["name"] == "知味红·红糖工坊"
    assert body["workshop"]["benefit_models"] == ["labour"]
    assert body["workshop"]["region"] == {
        "county": "青田县",
        "township": "仁庄镇",
        "village": "夏严村",
        "county_id": cat.county.id,
        "village_id": cat.village.id,
    }
    assert body["brand"] == {
        "id": cat.sub_brand.id,
        "name": "山耕",
        "family_id": cat.family.id,
        "family_name": "丽水山坊",
    }


async def test_unknown_and_hidden_products_are_404(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    # given an archived product
    _, _, v = await f.region_tree(session)
    b = await f.brand(session)
    w = await f.workshop(session, v)
    archived = await f.product(session, w, b, status=ProductStatus.ARCHIVED)
    await session.commit()
    # then
    assert (await client.get("/api/products/999999")).status_code == 404
    assert (await client.get(f"/api/products/{archived.product.id}")).status_code == 404
    assert (await client.get("/api/products")).json()["total"] == 0


async def test_workshop_detail_has_red_stewards_and_latest_rating(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given
    cat = await f.small_catalogue(session)
    # when
    response = await client.get(f"/api/workshops/{cat.workshop.id}")
    listing = await client.get("/api/workshops", params={"stars_min": "4"})
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["red_stewards"] == [
        {
            "id": body["red_stewards"][0]["id"],
            "name": "王红",
            "work_unit": "仁庄镇党委",
            "phone": "13800000000",
            "role": "红色管家",
        }
    ]
    assert body["latest_stars"] == 4
    assert body["latest_rating"]["half"] == "H1" and body["latest_rating"]["year"] == 2026
    assert body["product_count"] == 1
    assert [w["id"] for w in listing.json()["items"]] == [cat.workshop.id]
    assert (await client.get("/api/workshops", params={"stars_min": "5"})).json()["total"] == 0
    assert (await client.get("/api/workshops/424242")).status_code == 404


async def test_bad_query_values_name_the_parameter(client: AsyncTestClient[Litestar]) -> None:
    # when
    bad_sort = await client.get("/api/products", params={"sort": "cheapest"})
    bad_page = await client.get("/api/products", params={"page": "0"})
    bad_type = await client.get("/api/products", params={"workshop_type": "factory"})
    unknown_family = await client.get("/api/products", params={"family": "不存在"})
    # then
    assert bad_sort.status_code == 400
    assert bad_sort.json()["errors"][0]["field"] == "sort"
    assert bad_page.status_code == 400 and bad_page.json()["errors"][0]["field"] == "page"
    assert bad_type.status_code == 400 and bad_type.json()["errors"][0]["field"] == "workshop_type"
    assert unknown_family.status_code == 404 and unknown_family.json()["errors"][0]["field"] == "family"


async def test_a_missing_required_parameter_is_named(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/search/suggest")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "q", "message": "Missing required query parameter 'q'"}]
