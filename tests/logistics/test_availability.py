"""Earliest ready dates across route times, capacity, shelf life, inactive points, home-delivery quotes."""

from __future__ import annotations

import datetime as dt

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.models import Shipment
from logistics.schemas import HomeAddress, HomeRequest, PickupRequest
from logistics.services import LogisticsDelivery, create_shipments_for_order
from tests.logistics.helpers import at, build_net, line

delivery = LogisticsDelivery()


async def test_ready_same_day_when_the_morning_trunk_and_afternoon_van_connect(session: AsyncSession) -> None:
    # given a Thursday 05:00 order (at the hub 07:00, trunk 08:00→10:00, van 14:00→15:00)
    net = await build_net(session)
    # when
    quote = await delivery.quote(session, PickupRequest(net.point.id), [line(net.workshop)], at("2026-11-26", "05:00"))
    # then
    assert quote.ok and quote.shipping_fen == 0
    assert quote.ready_date == dt.date(2026, 11, 26)
    assert quote.parcels[0].ready_at == at("2026-11-26", "15:00")


async def test_missing_the_trunk_waits_for_the_next_morning(session: AsyncSession) -> None:
    net = await build_net(session)
    quote = await delivery.quote(session, PickupRequest(net.point.id), [line(net.workshop)], at("2026-11-26", "09:00"))
    assert quote.parcels[0].ready_at == at("2026-11-27", "15:00")


async def test_saturday_without_a_van_waits_for_monday(session: AsyncSession) -> None:
    # given a Friday order: the trunk runs on Saturday but no van leaves for the villages at the weekend
    net = await build_net(session)
    # when
    quote = await delivery.quote(session, PickupRequest(net.point.id), [line(net.workshop)], at("2026-11-27", "09:00"))
    # then Saturday 10:00 at the station, Monday 14:00 van, ready Monday 15:00
    assert quote.ok
    assert quote.parcels[0].ready_at == at("2026-11-30", "15:00")
    assert quote.ready_date == dt.date(2026, 11, 30)


async def test_other_county_goes_hub_to_hub_first(session: AsyncSession) -> None:
    net = await build_net(session)
    quote = await delivery.quote(
        session, PickupRequest(net.point.id), [line(net.far_workshop), line(net.workshop)], at("2026-11-26", "05:00")
    )
    ready = {p.workshop_id: p.ready_at for p in quote.parcels}
    # 莲都 07:00→青田 10:00 misses Thursday's 08:00 trunk: Friday 15:00; the local parcel is ready Thursday
    assert ready == {net.workshop.id: at("2026-11-26", "15:00"), net.far_workshop.id: at("2026-11-27", "15:00")}
    assert quote.ready_date == dt.date(2026, 11, 27)


async def test_fresh_goods_refused_where_delivery_exceeds_shelf_life(session: AsyncSession) -> None:
    # given a Friday order of fresh goods keeping 2 days; the point is ready only on Monday (3 days)
    net = await build_net(session)
    fresh = [line(net.workshop, shelf_life_days=2, product_id=7)]
    # when
    quote = await delivery.quote(session, PickupRequest(net.point.id), fresh, at("2026-11-27", "09:00"))
    options = await delivery.available_pickup_points(session, net.village.id, fresh, at("2026-11-27", "09:00"))
    # then
    assert not quote.ok and quote.reason_code == "shelf_life"
    assert quote.reason == "Fresh goods (product 7) keep 2 day(s) but would reach 夏严村服务点 only after 3 day(s)."
    assert options.points == []
    assert [(o.point_id, o.reason_code) for o in options.unavailable] == [
        (net.point.id, "shelf_life"),
        (net.point2.id, "shelf_life"),
    ]
    # and goods that keep 4 days, or are ordered on Thursday, are fine
    assert (
        await delivery.quote(
            session, PickupRequest(net.point.id), [line(net.workshop, shelf_life_days=4)], at("2026-11-27", "09:00")
        )
    ).ok
    assert (
        await delivery.quote(
            session, PickupRequest(net.point.id), [line(net.workshop, shelf_life_days=1)], at("2026-11-26", "05:00")
        )
    ).ok


async def test_full_point_is_not_offered(session: AsyncSession) -> None:
    # given 夏严村 holds 2 parcels and has 2 already on the way
    net = await build_net(session)
    now = at("2026-11-26", "05:00")
    for order_id in (1, 2):
        await create_shipments_for_order(session, order_id, [line(net.workshop)], PickupRequest(net.point.id), now=now)
    # when
    quote = await delivery.quote(session, PickupRequest(net.point.id), [line(net.workshop)], now)
    options = await delivery.available_pickup_points(session, net.village.id, [line(net.workshop)], now)
    # then
    assert not quote.ok and quote.reason_code == "point_full"
    assert [o.point_id for o in options.points] == [net.point2.id]
    assert options.points[0].same_village is False and options.points[0].free_slots == 50
    assert [(o.point_id, o.reason_code, o.free_slots) for o in options.unavailable] == [(net.point.id, "point_full", 0)]


async def test_point_with_one_slot_refuses_a_two_workshop_basket(session: AsyncSession) -> None:
    net = await build_net(session)
    now = at("2026-11-26", "05:00")
    await create_shipments_for_order(session, 1, [line(net.workshop)], PickupRequest(net.point.id), now=now)
    two = [line(net.workshop), line(net.far_workshop)]
    assert (await delivery.quote(session, PickupRequest(net.point.id), two, now)).reason_code == "point_full"
    assert (await delivery.quote(session, PickupRequest(net.point.id), [line(net.workshop)], now)).ok


async def test_options_list_own_village_first_with_ready_dates(session: AsyncSession) -> None:
    net = await build_net(session)
    options = await delivery.available_pickup_points(
        session, net.village2.id, [line(net.workshop)], at("2026-11-26", "05:00")
    )
    assert [(o.point_id, o.same_village, o.ready_date) for o in options.points] == [
        (net.point2.id, True, dt.date(2026, 11, 26)),
        (net.point.id, False, dt.date(2026, 11, 26)),
    ]


async def test_inactive_point_is_refused_and_not_listed(session: AsyncSession) -> None:
    net = await build_net(session)
    net.point2.is_active = False
    await session.commit()
    quote = await delivery.quote(session, PickupRequest(net.point2.id), [line(net.workshop)])
    options = await delivery.available_pickup_points(session, net.village2.id, [line(net.workshop)])
    assert quote.reason_code == "inactive"
    assert [o.point_id for o in options.points + options.unavailable] == [net.point.id]


async def test_home_delivery_fee_by_county_and_weight(session: AsyncSession) -> None:
    # given 8 yuan for the first kg, 3 yuan per further started kg in 青田县
    net = await build_net(session)
    address = HomeAddress(net.county.id, net.township.id, net.village.id, "3组 12号", "王小明", "13912345678")
    lines = [line(net.workshop, weight_g=1250, qty=2), line(net.far_workshop, weight_g=400)]
    # when
    quote = await delivery.quote(session, HomeRequest(address), lines, at("2026-11-26", "09:00"))
    # then 2500 g → 800 + 2×300; 400 g → 800
    assert quote.ok
    assert [(p.workshop_id, p.weight_g, p.shipping_fen) for p in quote.parcels] == [
        (net.workshop.id, 2500, 1400),
        (net.far_workshop.id, 400, 800),
    ]
    assert quote.shipping_fen == 2200
    assert quote.ready_date == dt.date(2026, 11, 28)


async def test_home_delivery_refusals(session: AsyncSession) -> None:
    net = await build_net(session)
    lines = [line(net.workshop)]
    wrong_township = HomeAddress(net.county.id, net.county.id, net.village.id, "3组", "王小明", "13912345678")
    bad_phone = HomeAddress(net.county.id, net.township.id, net.village.id, "3组", "王小明", "12345")
    no_street = HomeAddress(net.county.id, net.township.id, net.village.id, " ", "王小明", "13912345678")
    other = await session.get(type(net.county), net.far_workshop.village_id)
    assert other is not None
    no_rate = HomeAddress(net.other_county.id, other.township_id or 0, other.id, "1号", "李", "0578-1234567")
    results = [
        await delivery.quote(session, HomeRequest(a), lines) for a in (wrong_township, bad_phone, no_street, no_rate)
    ]
    assert [(q.ok, q.reason_code) for q in results] == [
        (False, "address_invalid"),
        (False, "address_invalid"),
        (False, "address_invalid"),
        (False, "no_home_delivery"),
    ]
    assert results[0].reason == "The village is not in that township."


async def test_quote_api_is_public_and_rejects_bad_bodies(client: AsyncTestClient[Litestar], db: AsyncSession) -> None:
    net = await build_net(db)
    body = {
        "delivery": {"type": "pickup", "pickup_point_id": net.point.id},
        "lines": [{"product_id": 1, "workshop_id": net.workshop.id, "weight_g": 500, "qty": 1}],
    }
    ok = await client.post("/api/logistics/quote", json=body)
    assert ok.status_code == 200 and ok.json()["ok"] is True and ok.json()["shipping_fen"] == 0
    missing_lines = await client.post("/api/logistics/quote", json={"delivery": body["delivery"], "lines": []})
    assert missing_lines.status_code == 400
    unknown_workshop = await client.post(
        "/api/logistics/quote",
        json={**body, "lines": [{"product_id": 1, "workshop_id": 999999, "weight_g": 500, "qty": 1}]},
    )
    assert unknown_workshop.status_code == 422
    assert unknown_workshop.json()["errors"] == [{"field": "lines", "message": "Workshop 999999 does not exist."}]
    search = await client.post(
        "/api/logistics/pickup-points/search", json={"village_id": net.village.id, "lines": body["lines"]}
    )
    assert search.status_code == 200 and {p["point_id"] for p in search.json()["points"]} == {
        net.point.id,
        net.point2.id,
    }
    assert await db.scalar(select(func.count()).select_from(Shipment)) == 0
