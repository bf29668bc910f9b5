"""Shipments for many paid orders planned in one transaction (`create_shipments_for_orders`), SQLite and PostgreSQL.

Each order gets what it would get alone (one parcel per workshop, its legs, its "created" event); an order that
cannot be delivered is left out without stopping the others; the point's load counts the orders planned before it
in the same call; a second call plans nothing twice.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from logistics.models import Shipment, ShipmentEvent, ShipmentLeg
from logistics.schemas import PickupRequest
from logistics.services import LogisticsDelivery
from logistics.services.shipments import ParcelPlan, create_shipments_for_order, create_shipments_for_orders
from tests.logistics.helpers import at, build_net, line


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_orders_planned_together_each_get_their_parcels_legs_and_event(session: AsyncSession) -> None:
    # given three paid orders for 夏严村 (room for 2 parcels): one of two workshops, two of one
    net = await build_net(session)
    now = at("2026-11-26", "05:00")
    point = PickupRequest(net.point.id)
    plans = [
        ParcelPlan(101, [line(net.workshop), line(net.far_workshop, qty=2, weight_g=250)], point, None),
        ParcelPlan(102, [line(net.workshop, qty=3)], point, None),
        ParcelPlan(103, [line(net.workshop)], PickupRequest(net.point2.id), None),
    ]

    # when they are planned in one call
    with capture_logs() as logs:
        planned = await create_shipments_for_orders(session, plans, now=now)

    # then each order has one parcel per workshop with the weights of its lines
    assert planned.refused == {}
    assert {
        order_id: [(s.workshop_id, s.weight_g, s.pickup_point_id) for s in shipments]
        for order_id, shipments in planned.shipments.items()
    } == {
        101: [(net.workshop.id, 500, net.point.id), (net.far_workshop.id, 500, net.point.id)],
        102: [(net.workshop.id, 1500, net.point.id)],
        103: [(net.workshop.id, 500, net.point2.id)],
    }
    # and every parcel has its legs (hub → station → point; the far workshop's hub first) and its "created" event
    legs = (await session.execute(select(ShipmentLeg.shipment_id, ShipmentLeg.seq))).all()
    per_parcel = {s.id: sum(1 for sid, _ in legs if sid == s.id) for ss in planned.shipments.values() for s in ss}
    assert sorted(per_parcel.values()) == [2, 2, 2, 3]
    created = (await session.execute(select(ShipmentEvent.shipment_id, ShipmentEvent.kind))).all()
    assert sorted(created) == sorted((sid, "created") for sid in per_parcel)
    # and the load counted within the call: order 102 found 夏严村 full (2 parcels of 101) and ships anyway, warned
    full = [entry for entry in logs if entry["event"] == "logistics_point_over_capacity"]
    assert [(entry["order_id"], entry["reason_code"]) for entry in full] == [(102, "point_full")]


async def test_an_order_that_cannot_be_delivered_is_left_out_and_the_others_planned(session: AsyncSession) -> None:
    # given an order of fresh goods from the far workshop that would spoil on the way, between two ordinary orders
    net = await build_net(session)
    now = at("2026-11-26", "05:00")
    point = PickupRequest(net.point2.id)
    fresh = [line(net.far_workshop, shelf_life_days=1)]
    alone = await LogisticsDelivery().quote(session, point, fresh, now)
    assert alone.reason_code == "shelf_life"
    plans = [
        ParcelPlan(201, [line(net.workshop)], point),
        ParcelPlan(202, fresh, point),
        ParcelPlan(203, [line(net.workshop, qty=2)], point),
    ]

    # when they are planned together
    planned = await create_shipments_for_orders(session, plans, now=now)

    # then the fresh order is refused with logistics' reason and nothing of it is written; the others are planned
    assert list(planned.refused) == [202]
    assert planned.refused[202].extra == {"reason_code": "shelf_life"}
    assert sorted(planned.shipments) == [201, 203]
    assert await session.scalar(select(func.count()).where(Shipment.order_id == 202)) == 0
    assert await _count(session, Shipment) == 2


async def test_planning_again_plans_nothing_twice(session: AsyncSession) -> None:
    # given one order already planned on its own, and one not yet
    net = await build_net(session)
    now = at("2026-11-26", "05:00")
    point = PickupRequest(net.point2.id)
    first = await create_shipments_for_order(session, 301, [line(net.workshop)], point, now=now)

    # when both are planned together, twice
    planned = await create_shipments_for_orders(
        session, [ParcelPlan(301, [line(net.workshop)], point), ParcelPlan(302, [line(net.workshop)], point)], now=now
    )
    again = await create_shipments_for_orders(
        session, [ParcelPlan(301, [line(net.workshop)], point), ParcelPlan(302, [line(net.workshop)], point)], now=now
    )

    # then the first order keeps its parcel, the second gets one, and the repeat finds both without writing
    assert [s.id for s in planned.shipments[301]] == [s.id for s in first]
    assert [s.id for s in again.shipments[302]] == [s.id for s in planned.shipments[302]]
    assert await _count(session, Shipment) == 2
    assert await _count(session, ShipmentEvent) == 2
