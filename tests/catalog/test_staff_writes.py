"""Staff writes: centre admins manage everything, workshop managers only their own workshops; all audited."""

from __future__ import annotations

import io

from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Product, ProductImage, StockLevel
from shop.accounts.models import Role
from shop.audit import AuditEntry
from shop.outbox import OutboxEvent
from tests import factories as f


def new_product_body(workshop_id: int, brand_id: int, sku: str = "HT-500") -> dict[str, object]:
    return {
        "workshop_id": workshop_id,
        "brand_id": brand_id,
        "title": "古法红糖块",
        "subtitle": "青田知味红",
        "tags": ["红糖", "伴手礼"],
        "shelf_life_days": 365,
        "variants": [
            {"sku": sku, "name": "500g 袋装", "price_fen": 3800, "weight_g": 500},
            {"sku": sku + "-G", "name": "1kg 礼盒", "price_fen": 6800, "weight_g": 1000},
        ],
    }


async def test_manager_creates_product_for_own_workshop_and_it_is_audited_and_indexed(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a manager of the catalogue's workshop
    cat = await f.small_catalogue(session)
    manager = await f.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[cat.workshop.id])
    await session.commit()
    # when
    response = await client.post(
        "/api/staff/products", json=new_product_body(cat.workshop.id, cat.sub_brand.id), headers=f.auth(manager)
    )
    # then
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["price_fen"] == 3800
    assert [v["sku"] for v in body["variants"]] == ["HT-500", "HT-500-G"]
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.entity_id == body["id"]))
    assert entry is not None and entry.actor_id == manager.id and entry.action == "create"
    outbox = list(await session.scalars(select(OutboxEvent).where(OutboxEvent.entity_id == body["id"])))
    assert [(e.topic, e.entity, e.reason) for e in outbox] == [("search", "product", "created")]


async def test_manager_cannot_touch_another_workshop_and_nothing_changes(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a manager of a different workshop
    cat = await f.small_catalogue(session)
    other = await f.workshop(session, cat.village, "百花共富工坊")
    manager = await f.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[other.id])
    await session.commit()
    before = await session.scalar(select(func.count()).select_from(Product))
    headers = f.auth(manager)
    # when
    create = await client.post(
        "/api/staff/products", json=new_product_body(cat.workshop.id, cat.sub_brand.id), headers=headers
    )
    update = await client.patch(f"/api/staff/products/{cat.product.product.id}", json={"title": "x"}, headers=headers)
    stock = await client.put(
        f"/api/staff/variants/{cat.product.variant.id}/stock",
        json={"location_id": cat.product.stock.location_id, "on_hand": 0},
        headers=headers,
    )
    workshop = await client.patch(f"/api/staff/workshops/{cat.workshop.id}", json={"story": "x"}, headers=headers)
    # then
    assert [r.status_code for r in (create, update, stock, workshop)] == [403, 403, 403, 403]
    assert await session.scalar(select(func.count()).select_from(Product)) == before
    on_hand = await session.scalar(select(StockLevel.on_hand).where(StockLevel.id == cat.product.stock.id))
    title = await session.scalar(select(Product.title).where(Product.id == cat.product.product.id))
    assert (on_hand, title) == (50, "青田红糖 古法手工")


async def test_stock_count_and_adjustment_emit_search_events_when_crossing_zero(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given
    cat = await f.small_catalogue(session)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    url = f"/api/staff/variants/{cat.product.variant.id}/stock"
    location = cat.product.stock.location_id
    # when stock is counted to zero, then adjusted back up, then over-specified
    to_zero = await client.put(url, json={"location_id": location, "on_hand": 0}, headers=f.auth(admin))
    back = await client.put(url, json={"location_id": location, "delta": 7}, headers=f.auth(admin))
    both = await client.put(url, json={"location_id": location, "on_hand": 1, "delta": 1}, headers=f.auth(admin))
    # then
    assert to_zero.status_code == 200 and to_zero.json()["available"] == 0 and to_zero.json()["in_stock"] is False
    assert back.status_code == 200 and back.json()["available"] == 7
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "on_hand"
    reasons = list(
        await session.scalars(
            select(OutboxEvent.reason).where(OutboxEvent.entity_id == cat.product.product.id).order_by(OutboxEvent.id)
        )
    )
    assert reasons == ["stock_zero", "restocked"]


async def test_duplicate_sku_is_409_and_unknown_brand_is_422(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    cat = await f.small_catalogue(session)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    dup = await client.post(
        "/api/staff/products",
        json=new_product_body(cat.workshop.id, cat.sub_brand.id, sku=cat.product.variant.sku),
        headers=f.auth(admin),
    )
    bad_brand = await client.post(
        "/api/staff/products", json=new_product_body(cat.workshop.id, 987654), headers=f.auth(admin)
    )
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "sku"
    assert bad_brand.status_code == 422 and bad_brand.json()["errors"][0]["field"] == "brand_id"


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_image_upload_is_validated_by_content_and_served_back(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given
    cat = await f.small_catalogue(session)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    url = f"/api/staff/products/{cat.product.product.id}/images"
    # when a real PNG, a text file named .png, and an empty file are uploaded
    good = await client.post(
        url, files={"file": ("sugar.png", png_bytes(), "image/png")}, data={"alt": "红糖"}, headers=f.auth(admin)
    )
    fake = await client.post(
        url, files={"file": ("evil.png", b"<script>alert(1)</script>", "image/png")}, headers=f.auth(admin)
    )
    empty = await client.post(url, files={"file": ("e.png", b"", "image/png")}, headers=f.auth(admin))
    # then
    assert good.status_code == 201, good.text
    image = good.json()
    assert (image["content_type"], image["width"], image["height"], image["alt"]) == ("image/png", 8, 6, "红糖")
    served = await client.get(image["url"])
    assert served.status_code == 200 and served.content == png_bytes()
    assert served.headers["content-type"] == "image/png"
    assert fake.status_code == 422 and fake.json()["errors"][0]["field"] == "file"
    assert empty.status_code == 422
    assert await session.scalar(select(func.count()).select_from(ProductImage)) == 1
    detail = (await client.get(f"/api/products/{cat.product.product.id}")).json()
    assert [i["url"] for i in detail["images"]] == [image["url"]]


async def test_image_larger_than_the_limit_is_refused(
    client: AsyncTestClient[Litestar], session: AsyncSession, app: Litestar
) -> None:
    cat = await f.small_catalogue(session)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    app.state.settings.app.upload_max_bytes = 1000
    response = await client.post(
        f"/api/staff/products/{cat.product.product.id}/images",
        files={"file": ("big.png", png_bytes((300, 300)) + b"\0" * 2000, "image/png")},
        headers=f.auth(admin),
    )
    assert response.status_code == 422 and "KB" in response.json()["detail"]


async def test_admin_builds_regions_brands_workshops_and_ratings(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    h = f.auth(admin)
    # when
    county = (await client.post("/api/admin/regions", json={"level": "county", "name": "松阳县"}, headers=h)).json()
    town = (
        await client.post(
            "/api/admin/regions", json={"level": "township", "name": "四都乡", "parent_id": county["id"]}, headers=h
        )
    ).json()
    village = (
        await client.post(
            "/api/admin/regions", json={"level": "village", "name": "陈家铺村", "parent_id": town["id"]}, headers=h
        )
    ).json()
    misplaced = await client.post(
        "/api/admin/regions", json={"level": "village", "name": "错村", "parent_id": county["id"]}, headers=h
    )
    fam = (await client.post("/api/admin/brands", json={"name": "丽水山坊", "slug": "lishui"}, headers=h)).json()
    sub = (
        await client.post(
            "/api/admin/brands", json={"name": "山居", "slug": "shanju", "parent_id": fam["id"]}, headers=h
        )
    ).json()
    ws = await client.post(
        "/api/admin/workshops",
        json={
            "name": "陈家铺民宿工坊",
            "village_id": village["id"],
            "workshop_type": "agri_tourism",
            "operator_kind": "village_company",
            "operator_name": "四都乡强村公司",
            "benefit_models": ["labour", "equity_dividend"],
            "red_stewards": [{"name": "叶梅", "work_unit": "四都乡党委", "phone": "0578-8000000", "role": "红色管家"}],
        },
        headers=h,
    )
    assert ws.status_code == 201, ws.text
    rating = await client.post(
        f"/api/admin/workshops/{ws.json()['id']}/ratings",
        json={
            "year": 2026,
            "half": "H1",
            "party_leadership": 5,
            "organisation": 4,
            "service_support": 4,
            "prosperity_impact": 4,
        },
        headers=h,
    )
    # then
    assert village["county_id"] == county["id"] and village["township_id"] == town["id"]
    assert misplaced.status_code == 422 and misplaced.json()["errors"][0]["field"] == "parent_id"
    assert sub["family_id"] == fam["id"]
    assert ws.status_code == 201, ws.text
    assert ws.json()["region"]["county"] == "松阳县"
    assert rating.status_code == 201
    assert rating.json()["latest_stars"] == 4  # (5+4+4+4)/4 = 4.25 → 4
    workshops = (await client.get("/api/workshops", params={"county": "松阳县"})).json()
    assert [w["name"] for w in workshops["items"]] == ["陈家铺民宿工坊"]
