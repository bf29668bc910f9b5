"""The checkout quotes delivery on the logistics network (shop.integration.LogisticsQuoter), SQLite and PostgreSQL.

A real pickup point gives logistics' ready date; a full point, fresh goods that would spoil on the way and an
address whose region names are unknown are refused naming the delivery field, and nothing is reserved; home
delivery is priced from the county fee table. With no pickup point in the network the flat default applies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import StockLevel
from logistics.config import get_logistics_settings, local
from logistics.models import LogisticsNode, NetworkStamp, Route, Shipment
from logistics.schemas import PickupRequest
from logistics.services.delivery import LogisticsDelivery
from shop.accounts.models import Role, User
from shop.checkout.delivery import FlatRateQuoter, get_quoter
from shop.orders.models import Order
from tests import factories
from tests.factories import ProductBundle
from tests.logistics.helpers import Net, build_net, line


@dataclass
class Shop:
    net: Net
    sugar: ProductBundle  # 3800 fen, 500 g, keeps
    buyer: User
    kiosk: User


@pytest.fixture
async def shop(session: AsyncSession) -> Shop:
    net = await build_net(session)
    brand = await factories.brand(session, "丽水山耕")
    sugar = await factories.product(session, net.workshop, brand, "青田红糖", price_fen=3800, on_hand=10)
    buyer = await factories.user(session, Role.BUYER)
    kiosk = await factories.user(session, Role.KIOSK)
    await session.commit()
    return Shop(net, sugar, buyer, kiosk)


async def checkout(
    client: AsyncTestClient[Litestar], s: Shop, delivery: dict[str, Any], variant_id: int | None = None, qty: int = 1
) -> Any:
    return await client.post(
        "/api/checkout",
        json={
            "delivery": delivery,
            "payment_method": "offline",
            "lines": [{"variant_id": variant_id or s.sugar.variant.id, "quantity": qty}],
        },
        headers=factories.auth(s.buyer),
    )


async def scalar(session: AsyncSession, stmt: Any) -> Any:
    value = await session.scalar(stmt)
    await session.commit()
    return value


async def nothing_reserved(session: AsyncSession) -> None:
    assert await scalar(session, select(func.count()).select_from(Order)) == 0
    assert await scalar(session, select(func.sum(StockLevel.reserved))) == 0


def address(**changes: str) -> dict[str, str]:
    home = {
        "name": "李四",
        "phone": "13900000000",
        "county": "青田县",
        "township": "仁庄镇",
        "village": "夏严村",
        "detail": "夏严村 12 号",
    }
    home.update(changes)
    return home


async def test_checkout_at_a_network_point_takes_logistics_ready_date(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    s = shop
    # given what logistics quotes for one jar at 岭头村服务点, just before and just after the checkout
    request, lines = (
        PickupRequest(pickup_point_id=s.net.point2.id),
        [line(s.net.workshop, product_id=s.sugar.product.id)],
    )
    before = (await LogisticsDelivery().quote(session, request, lines)).ready_date
    await session.commit()
    # when the buyer checks out to that point
    r = await checkout(client, s, {"method": "pickup", "pickup_point_id": s.net.point2.id})
    after = (await LogisticsDelivery().quote(session, request, lines)).ready_date
    await session.commit()
    # then the order is free to collect there, ready on logistics' date
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["pickup_point_id"], order["shipping_fen"], order["total_fen"]) == (s.net.point2.id, 0, 3800)
    assert before is not None
    assert order["ready_date"] in {before.isoformat(), after.isoformat() if after else None}


async def test_a_point_outside_the_network_is_refused_once_a_network_exists(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    # given a network; when the buyer names a point id it does not have
    r = await checkout(client, shop, {"method": "pickup", "pickup_point_id": 7})
    # then 422 naming the field, with logistics' reason, and nothing reserved
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "delivery.pickup_point_id", "message": "Pickup point 7 does not exist."}]
    assert r.json()["reason"] == "unknown_point"
    await nothing_reserved(session)


async def test_a_network_change_committed_elsewhere_applies_to_the_next_checkout(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    # given a checkout to 岭头村服务点 (the app now holds a copy of the network) and the network's stamp
    first = await checkout(client, shop, {"method": "pickup", "pickup_point_id": shop.net.point2.id})
    assert first.status_code == 201, first.text
    stamp = await scalar(session, select(NetworkStamp.stamp))
    # when another session (here the test's own engine) closes the point, through the ORM, and commits
    point = await session.get(LogisticsNode, shop.net.point2.id)
    assert point is not None
    point.is_active = False
    await session.commit()
    # then the stamp has moved, and the next checkout to that point is refused on the new network
    assert await scalar(session, select(NetworkStamp.stamp)) != stamp
    r = await checkout(client, shop, {"method": "pickup", "pickup_point_id": shop.net.point2.id})
    assert r.status_code == 409, r.text
    assert r.json()["reason"] == "inactive"
    assert await scalar(session, select(func.count()).select_from(Order)) == 1


async def test_a_route_changed_by_a_bulk_statement_restamps_the_network(session: AsyncSession, shop: Shop) -> None:
    # given the network's stamp
    stamp = await scalar(session, select(NetworkStamp.stamp))
    # when a route's transit time is changed by an ORM bulk UPDATE, and the change is rolled back
    await session.execute(update(Route).where(Route.destination_id == shop.net.point2.id).values(transit_minutes=90))
    inside = await session.scalar(select(NetworkStamp.stamp))
    await session.rollback()
    # then the stamp moved inside that transaction, and nothing moved once it was rolled back
    assert inside != stamp
    assert await scalar(session, select(NetworkStamp.stamp)) == stamp


async def test_a_full_point_is_refused_with_409_naming_the_point(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    s = shop
    # given 夏严村服务点 (2 slots) holding two parcels of paid orders
    for _ in range(2):
        r = await checkout(client, s, {"method": "pickup", "pickup_point_id": s.net.point.id})
        assert r.status_code == 201, r.text
        r = await client.post(f"/api/orders/{r.json()['id']}/payments/offline", headers=factories.auth(s.kiosk))
        assert r.status_code == 200, r.text
    assert await scalar(session, select(func.count()).where(Shipment.pickup_point_id == s.net.point.id)) == 2
    reserved = await scalar(session, select(StockLevel.on_hand - StockLevel.reserved))
    # when a third checkout asks for the same point
    r = await checkout(client, s, {"method": "pickup", "pickup_point_id": s.net.point.id})
    # then it is refused: 409 naming the point, the reason from logistics; no third order, no stock taken
    assert r.status_code == 409, r.text
    message = "夏严村服务点 is full (2 parcels); choose another point."
    assert r.json()["errors"] == [{"field": "delivery.pickup_point_id", "message": message}]
    assert r.json()["reason"] == "point_full"
    assert await scalar(session, select(func.count()).select_from(Order)) == 2
    assert await scalar(session, select(StockLevel.on_hand - StockLevel.reserved)) == reserved


async def test_fresh_goods_that_would_spoil_on_the_way_are_refused(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    s = shop
    # given fresh bamboo shoots keeping 2 days, and the last leg to 岭头村 taking 3 days
    shoots = await factories.product(
        session, s.net.workshop, await factories.brand(session, "丽水山鲜"), "鲜笋", price_fen=1200, shelf_life_days=2
    )
    await session.execute(
        update(Route).where(Route.destination_id == s.net.point2.id).values(transit_minutes=3 * 24 * 60)
    )
    await session.commit()
    # when the buyer checks them out to that point
    r = await checkout(client, s, {"method": "pickup", "pickup_point_id": s.net.point2.id}, shoots.variant.id)
    # then 409 naming the point with the shelf-life reason, nothing reserved
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["reason"] == "shelf_life"
    assert body["errors"][0]["field"] == "delivery.pickup_point_id"
    prefix = f"Fresh goods (product {shoots.product.id}) keep 2 day(s) but would reach 岭头村服务点 only after "
    assert body["errors"][0]["message"].startswith(prefix), body
    await nothing_reserved(session)


async def test_home_delivery_is_priced_from_the_county_fee_table(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    # given 青田县's rate: 800 fen for the first kilogram, 300 per further started kilogram, 2 days
    at_hub = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=get_logistics_settings().handover_minutes)
    # when the buyer checks out three 500 g jars (1500 g) to a 夏严村 address
    r = await checkout(client, shop, {"method": "home", "address": address()}, qty=3)
    # then shipping is 800 + 300 (not the flat 800), ready two days after the hand-over
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["shipping_fen"], order["total_fen"], order["delivery_method"]) == (1100, 3 * 3800 + 1100, "home")
    assert order["address"] == address()
    assert order["ready_date"] == (local(at_hub).date() + dt.timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"village": "不存在村"}, "delivery.address.village", "No village “不存在村” is known in the delivery area."),
        ({"township": "雅溪镇"}, "delivery.address.township", "No township “雅溪镇” is known in the delivery area."),
        ({"county": "杭州市"}, "delivery.address.county", "No county “杭州市” is known in the delivery area."),
        ({"village": ""}, "delivery.address.village", "Give the village."),
    ],
)
async def test_an_address_that_does_not_resolve_is_422_naming_the_field(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    # when the buyer's address names a place the regions do not know (雅溪镇 is in 莲都区, not 青田县)
    r = await checkout(client, shop, {"method": "home", "address": address(**changes)})
    # then 422 naming the field, and nothing reserved
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": field, "message": message}]
    await nothing_reserved(session)


async def test_home_delivery_to_a_county_without_a_rate_is_refused(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    # when the address is in 莲都区, which has no home-delivery rate yet
    home = address(county="莲都区", township="雅溪镇", village="里东村")
    r = await checkout(client, shop, {"method": "home", "address": home})
    # then 409 naming the address, with logistics' reason
    assert r.status_code == 409, r.text
    assert r.json()["reason"] == "no_home_delivery"
    assert r.json()["errors"][0]["field"] == "delivery.address"
    await nothing_reserved(session)


async def test_without_a_network_the_flat_default_applies_and_shutdown_restores_it(
    app: Litestar, session: AsyncSession
) -> None:
    # given a fresh install: a catalogue but no logistics network
    county, _, village = await factories.region_tree(session)
    workshop = await factories.workshop(session, village, "红糖工坊")
    sugar = await factories.product(session, workshop, await factories.brand(session, "丽水山耕"), price_fen=3800)
    buyer = await factories.user(session, Role.BUYER)
    await session.commit()
    s = Shop(None, sugar, buyer, buyer)  # type: ignore[arg-type]
    async with AsyncTestClient(app=app) as client:
        # when the buyer picks up at any point id
        r = await checkout(client, s, {"method": "pickup", "pickup_point_id": 7})
        # then the default quoter accepts it for free
        assert r.status_code == 201, r.text
        assert (r.json()["pickup_point_id"], r.json()["shipping_fen"]) == (7, 0)
    # and once the app has stopped, the checkout's quoter is the default again
    assert isinstance(get_quoter(), FlatRateQuoter)
    assert county.name == "青田县"
