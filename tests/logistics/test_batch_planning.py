"""Shipments for many paid orders planned in one transaction (`create_shipments_for_orders`), SQLite and PostgreSQL.

Each order gets what it would get alone (one parcel per workshop, its legs, its "created" event); an order that
cannot be delivered is left out without stopping the others; the point's load counts the orders planned before it
in the same call; a second call plans nothing twice.
"""

from __future__ import annotations

from typing import Any

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


async def _written(session: AsyncSession, shipment_id: int) -> tuple[Any, list[Any], list[Any]]:
    """A shipment's rows as written, without ids: the parcel, its legs in order, its events."""
    parcel = (
        await session.execute(
            select(
                Shipment.order_id,
                Shipment.workshop_id,
                Shipment.status,
                Shipment.mode,
                Shipment.origin_hub_id,
                Shipment.pickup_point_id,
                Shipment.weight_g,
                Shipment.ready_date,
                Shipment.recipient_name,
            ).where(Shipment.id == shipment_id)
        )
    ).one()
    legs = (
        await session.execute(
            select(ShipmentLeg.seq, ShipmentLeg.route_id, ShipmentLeg.status, ShipmentLeg.available_min)
            .where(ShipmentLeg.shipment_id == shipment_id)
            .order_by(ShipmentLeg.seq)
        )
    ).all()
    events = (
        await session.execute(
            select(ShipmentEvent.kind, ShipmentEvent.node_id, ShipmentEvent.at).where(
                ShipmentEvent.shipment_id == shipment_id
            )
        )
    ).all()
    return (tuple(parcel)[1:], [tuple(leg) for leg in legs], [tuple(event) for event in events])


async def test_one_parcel_alone_is_written_as_a_batch_writes_it(session: AsyncSession) -> None:
    # given one order planned alone (its shipment, legs and event written in one statement on PostgreSQL) and the
    # same parcel for another order planned in a batch with a second order (the flush path)
    net = await build_net(session)
    now = at("2026-11-26", "05:00")
    point = PickupRequest(net.point.id, recipient="王阿姨", phone="13800000000")

    # when both are planned
    (alone,) = await create_shipments_for_order(session, 401, [line(net.far_workshop, qty=2)], point, now=now)
    batch = await create_shipments_for_orders(
        session,
        [ParcelPlan(402, [line(net.far_workshop, qty=2)], point), ParcelPlan(403, [line(net.workshop)], point)],
        now=now,
    )

    # then the lone parcel is in the session with its id and the same rows as the batch's: three legs from the far
    # hub, the first available at the hand-over, and one "created" event at that hub
    assert await session.get(Shipment, alone.id) is alone
    written = await _written(session, alone.id)
    assert written == await _written(session, batch.shipments[402][0].id)
    parcel, legs, events = written
    assert parcel[:6] == (net.far_workshop.id, "created", "pickup", net.other_hub.id, net.point.id, 1000)
    assert parcel[7] == "王阿姨"
    assert [seq for seq, *_ in legs] == [0, 1, 2]
    assert legs[0][3] is not None and [leg[3] for leg in legs[1:]] == [None, None]
    assert [(kind, node) for kind, node, _ in events] == [("created", net.other_hub.id)]


async def test_one_order_from_two_workshops_gets_two_parcels_in_one_statement(session: AsyncSession) -> None:
    # given one paid order with lines from two workshops
    net = await build_net(session)
    now = at("2026-11-26", "05:00")
    lines = [line(net.workshop, qty=2), line(net.far_workshop, weight_g=250)]

    # when it is planned alone
    parcels = await create_shipments_for_order(session, 501, lines, PickupRequest(net.point.id), now=now)

    # then it has one parcel per workshop, each with its own legs (the far one from its own hub) and event
    assert [(p.workshop_id, p.weight_g, p.origin_hub_id) for p in parcels] == [
        (net.workshop.id, 1000, net.hub.id),
        (net.far_workshop.id, 250, net.other_hub.id),
    ]
    near, far = [await _written(session, p.id) for p in parcels]
    assert ([seq for seq, *_ in near[1]], [seq for seq, *_ in far[1]]) == ([0, 1], [0, 1, 2])
    assert [(kind, node) for kind, node, _ in near[2] + far[2]] == [
        ("created", net.hub.id),
        ("created", net.other_hub.id),
    ]
