"""Shipments: a paid order becomes one parcel per origin workshop, with its legs planned through the network,
and the buyer's tracking timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.config import epoch_minutes, format_minute, from_epoch_minutes, get_logistics_settings, local, utc_now
from logistics.models import (
    DeliveryMode,
    DispatchBatch,
    DispatchRun,
    LogisticsNode,
    Route,
    Shipment,
    ShipmentEvent,
    ShipmentLeg,
)
from logistics.schemas import (
    DeliveryRequest,
    HomeRequest,
    PickupRequest,
    ShipmentOut,
    TimelineEntry,
    TrackingOut,
)
from logistics.services.availability import network_of, snapshot_and_loads
from logistics.services.delivery import LogisticsDelivery, ParcelLine, parcels_by_workshop, validate_address
from shop import driver
from shop.auth import Caller
from shop.errors import Conflict, NotFound
from shop.inserts import Child, insert_many

log = structlog.get_logger(__name__)

# Refusals that still let a paid order ship: the point filled up between checkout and payment.
_SHIP_ANYWAY = {"point_full"}
_SHIPMENTS_OF_ORDERS = (
    select(Shipment).where(Shipment.order_id.in_(bindparam("order_ids", expanding=True))).order_by(Shipment.id)
)
# Which of the orders are planned already: a hand-over nearly always finds none, and this answers that without
# loading entities (the shipments themselves are loaded only for the orders it names).
_PLANNED_ORDERS = select(Shipment.order_id).where(Shipment.order_id.in_(bindparam("order_ids", expanding=True)))


@dataclass(frozen=True, slots=True)
class ParcelPlan:
    """A paid order to ship: its lines (as parcels) and where they go."""

    order_id: int
    lines: Sequence[ParcelLine]
    delivery: DeliveryRequest
    buyer_user_id: int | None = None


@dataclass(slots=True)
class PlannedShipments:
    """Per order: its shipments (new or found), or why it cannot be delivered."""

    shipments: dict[int, list[Shipment]] = field(default_factory=dict)
    refused: dict[int, Conflict] = field(default_factory=dict)


async def create_shipments_for_order(
    session: AsyncSession,
    order_id: int,
    lines: Sequence[ParcelLine],
    delivery: DeliveryRequest,
    *,
    buyer_user_id: int | None = None,
    now: dt.datetime | None = None,
    commit: bool = True,
) -> list[Shipment]:
    """One shipment per origin workshop. Idempotent: a second call for the same order returns the first result.

    Raises Conflict when the delivery cannot be made (no route, invalid address, fresh goods too slow).
    """
    planned = await create_shipments_for_orders(
        session, [ParcelPlan(order_id, lines, delivery, buyer_user_id)], now=now, commit=False
    )
    if order_id in planned.refused:
        raise planned.refused[order_id]
    if commit:
        await session.commit()
    return planned.shipments[order_id]


async def create_shipments_for_orders(
    session: AsyncSession, plans: Sequence[ParcelPlan], *, now: dt.datetime | None = None, commit: bool = True
) -> PlannedShipments:
    """`create_shipments_for_order` for many orders in one transaction: the orders' existing shipments, the points'
    loads and the network are read once, and all the rows go in one statement on PostgreSQL (`insert_many`).

    An order that cannot be delivered is left out (in `refused`); the others are planned. A database error (two
    planners racing on one order: the unique order × workshop) fails the whole call, and the caller retries the
    orders one at a time, where the loser finds the winner's shipments.
    """
    planned = PlannedShipments()
    if not plans:
        return planned
    order_ids = list(dict.fromkeys(plan.order_id for plan in plans))
    # The reads need no transaction of their own (each sees committed rows, as it would in one), so a hand-over's
    # one write below can be its own.
    found = await driver.fetch(await session.connection(), _PLANNED_ORDERS, {"order_ids": order_ids}, begin=False)
    planned_before = {int(row[0]) for row in found}
    if planned_before:
        for shipment in await session.scalars(_SHIPMENTS_OF_ORDERS, {"order_ids": sorted(planned_before)}):
            planned.shipments.setdefault(shipment.order_id, []).append(shipment)
    now = now or utc_now()
    points = sorted({p.delivery.pickup_point_id for p in plans if isinstance(p.delivery, PickupRequest)})
    snapshot, loads = await snapshot_and_loads(session, points)
    net = network_of(snapshot)
    at_hub = now + dt.timedelta(minutes=get_logistics_settings().handover_minutes)
    today = local(now).date()
    new: list[tuple[Shipment, list[int], int | None]] = []  # shipment, its legs' routes, its hub
    for plan in plans:
        if plan.order_id in planned.shipments or plan.order_id in planned.refused:
            continue
        delivery, lines = plan.delivery, plan.lines
        # Held here, the workshops stay in the session's (weak) identity map, so the quote below reuses them.
        workshops = await LogisticsDelivery.workshops(session, lines)
        quote = await LogisticsDelivery().quote(session, delivery, lines, now, loads=loads)
        if not quote.ok and quote.reason_code not in _SHIP_ANYWAY:
            planned.refused[plan.order_id] = Conflict(
                quote.reason or "This delivery cannot be made.", extra={"reason_code": quote.reason_code}
            )
            continue
        if not quote.ok:
            log.warning("logistics_point_over_capacity", order_id=plan.order_id, reason_code=quote.reason_code)
        grouped = parcels_by_workshop(lines)
        fees = {p.workshop_id: p for p in quote.parcels}
        point_id = delivery.pickup_point_id if isinstance(delivery, PickupRequest) else None
        if point_id is not None:
            loads[point_id] = loads.get(point_id, 0) + len(grouped)  # the next order in this call sees them
        shipments = planned.shipments[plan.order_id] = []
        for workshop_id, parcel in grouped.items():
            shelf = [line.shelf_life_days for line in parcel if line.shelf_life_days is not None]
            hub_id = net.hub_by_county.get(workshops[workshop_id].county_id)
            shipment = Shipment(
                order_id=plan.order_id,
                workshop_id=workshop_id,
                buyer_user_id=plan.buyer_user_id,
                origin_hub_id=hub_id,
                weight_g=sum(line.weight_g * line.qty for line in parcel),
                fresh_until=today + dt.timedelta(days=min(shelf)) if shelf else None,
            )
            if isinstance(delivery, HomeRequest):
                address = await validate_address(session, delivery.address)
                shipment.mode = DeliveryMode.HOME
                shipment.county_id, shipment.township_id = address.county_id, address.township_id
                shipment.village_id, shipment.street = address.village_id, address.street
                shipment.recipient_name, shipment.recipient_phone = address.recipient, address.phone
                shipment.shipping_fen = fees[workshop_id].shipping_fen if workshop_id in fees else 0
                shipment.ready_date = quote.ready_date
            else:
                shipment.mode = DeliveryMode.PICKUP
                shipment.pickup_point_id = point_id
                shipment.recipient_name, shipment.recipient_phone = delivery.recipient.strip(), delivery.phone.strip()
                ready = net.ready_at(hub_id, point_id, at_hub) if hub_id and point_id else None
                shipment.ready_date = local(ready).date() if ready else None
            routes = [leg.route_id for leg in net.path(hub_id, point_id) or []] if point_id and hub_id else []
            new.append((shipment, routes, hub_id))
            shipments.append(shipment)
    rows: list[Shipment | Child] = []
    for shipment, routes, hub_id in new:
        rows.append(shipment)
        rows += [Child(leg, shipment, "shipment_id") for leg in _legs(routes, at_hub)]
        rows.append(Child(ShipmentEvent(at=now, kind="created", node_id=hub_id), shipment, "shipment_id"))
    # All the orders' shipments, legs and events in one statement on PostgreSQL (its shape does not depend on how
    # many): the hand-over's only write, its own transaction when nothing else was (the unique order × workshop
    # keeps a racing planner from writing an order twice).
    await insert_many(session, rows, alone=commit)
    session.add_all([shipment for shipment, _, _ in new])  # written and detached: back, as a flush leaves them
    if commit:
        await session.commit()
    return planned


def _legs(routes: list[int], at_hub: dt.datetime) -> list[ShipmentLeg]:
    """A new shipment's planned legs, the first available from its hand-over at the hub."""
    first = epoch_minutes(at_hub)
    return [
        ShipmentLeg(seq=seq, route_id=route_id, available_min=first if seq == 0 else None)
        for seq, route_id in enumerate(routes)
    ]


_TEXT = {
    "created": "订单已交丽水山递，等待从县级中心发出",
    "arrived": "已到达 {node}",
    "awaiting_pickup": "已到达服务点 {node}，请凭取件码取件",
    "collected": "已在 {node} 取件",
    "locked": "取件码错误次数过多，包裹已锁定，请联系服务点工作人员",
    "unlocked": "服务点工作人员已解除锁定",
    "returned": "超过取件期限未取，包裹已退回",
    "with_courier": "已交快递 {note}",
    "delivered": "已送达",
}


async def timeline(session: AsyncSession, shipment_ids: list[int]) -> dict[int, list[TimelineEntry]]:
    """Events (created, arrived, collected…) merged with the planned legs (dispatch writes no event rows)."""
    if not shipment_ids:
        return {}
    events = list(
        await session.scalars(
            select(ShipmentEvent)
            .where(ShipmentEvent.shipment_id.in_(shipment_ids))
            .order_by(ShipmentEvent.shipment_id, ShipmentEvent.id)
        )
    )
    legs = (
        await session.execute(
            select(ShipmentLeg, DispatchRun.started_at)
            .join(DispatchRun, DispatchRun.id == ShipmentLeg.run_id)
            .where(ShipmentLeg.shipment_id.in_(shipment_ids), ShipmentLeg.batch_id.is_not(None))
            .order_by(ShipmentLeg.shipment_id, ShipmentLeg.seq)
        )
    ).all()
    batches = {
        b.id: b
        for b in await session.scalars(
            select(DispatchBatch).where(DispatchBatch.id.in_({leg.batch_id for leg, _ in legs}))
        )
    }
    routes = {
        r.id: r
        for r in await session.scalars(select(Route).where(Route.id.in_({b.route_id for b in batches.values()})))
    }
    node_ids = {e.node_id for e in events if e.node_id}
    node_ids |= {r.destination_id for r in routes.values()} | {r.origin_id for r in routes.values()}
    names = dict(
        (await session.execute(select(LogisticsNode.id, LogisticsNode.name).where(LogisticsNode.id.in_(node_ids))))
        .tuples()
        .all()
    )
    out: dict[int, list[TimelineEntry]] = {sid: [] for sid in shipment_ids}
    for e in events:
        text = _TEXT.get(e.kind, e.kind).format(node=names.get(e.node_id or 0, ""), note=e.note)
        out[e.shipment_id].append(TimelineEntry(e.at, e.kind, text, e.node_id, e.batch_id))
    for leg, planned_at in legs:
        batch = batches[leg.batch_id]
        route = routes[batch.route_id]
        departs, arrives = local(from_epoch_minutes(batch.departs_min)), local(from_epoch_minutes(batch.arrives_min))
        text = (
            f"{names.get(route.origin_id, '')} → {names.get(route.destination_id, '')}："
            f"{departs:%m月%d日} {format_minute(departs.hour * 60 + departs.minute)} 发车，"
            f"预计 {arrives:%m月%d日} {format_minute(arrives.hour * 60 + arrives.minute)} 到达"
        )
        out[leg.shipment_id].append(TimelineEntry(planned_at, "dispatched", text, route.origin_id, batch.id))
    for entries in out.values():
        entries.sort(key=lambda entry: entry.at)  # stable: same-moment lines keep their order
    return out


def shipment_out(s: Shipment, entries: list[TimelineEntry], *, show_code: bool) -> ShipmentOut:
    return ShipmentOut(
        s.id,
        s.order_id,
        s.workshop_id,
        s.mode,
        s.status,
        s.pickup_point_id,
        s.weight_g,
        s.shipping_fen,
        s.ready_date,
        s.courier,
        s.tracking_number,
        s.locked,
        s.pickup_code if show_code else None,
        entries,
    )


async def order_tracking(session: AsyncSession, caller: Caller, order_id: int) -> TrackingOut:
    """The buyer sees their parcels with the pickup code; centre admins see them without it."""
    shipments = list(await session.scalars(select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.id)))
    is_buyer = bool(shipments) and all(s.buyer_user_id == caller.id for s in shipments)
    if not shipments or not (is_buyer or caller.is_admin):
        raise NotFound(f"Order {order_id} has no parcels you can see.")
    entries = await timeline(session, [s.id for s in shipments])
    return TrackingOut(order_id, [shipment_out(s, entries[s.id], show_code=is_buyer) for s in shipments])
