"""Arrival at a pickup point, 6-digit pickup codes, one-time verification, lockout after wrong codes, and the
courier hand-over of home deliveries."""

from __future__ import annotations

import datetime as dt
import secrets

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.config import get_logistics_settings, utc_now
from logistics.models import (
    BatchStatus,
    DeliveryMode,
    DispatchBatch,
    LegStatus,
    LogisticsNode,
    NodeKind,
    PointStaff,
    Route,
    Shipment,
    ShipmentEvent,
    ShipmentLeg,
    ShipmentStatus,
)
from logistics.notify import Notification, get_sender
from logistics.schemas import ArrivalResult, PickupResult, ShipmentOut, TrackingNumberIn
from logistics.services.shipments import shipment_out
from shop import audit
from shop.auth import Caller, ensure_workshop_scope
from shop.errors import Conflict, Forbidden, InvalidInput, NotFound

log = structlog.get_logger(__name__)


async def ensure_point_staff(session: AsyncSession, caller: Caller, point_id: int) -> None:
    if caller.is_admin:
        return
    if not await session.scalar(
        select(PointStaff.id).where(PointStaff.point_id == point_id, PointStaff.user_id == caller.id)
    ):
        raise Forbidden(f"You do not work at pickup point {point_id}.")


def new_code(taken: set[str]) -> str:
    """A random 6-digit code not used by another parcel waiting at the same point."""
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        if code not in taken:
            taken.add(code)
            return code


def _for_update(session: AsyncSession, query):  # type: ignore[no-untyped-def]
    # Row locks on PostgreSQL; SQLite already holds the write lock from BEGIN IMMEDIATE.
    return query.with_for_update() if session.bind.dialect.name == "postgresql" else query


async def arrive_batch(
    session: AsyncSession, caller: Caller, batch_id: int, now: dt.datetime | None = None
) -> ArrivalResult:
    """Confirm a batch reached its destination; at a pickup point each parcel gets its code (sent after commit)."""
    now = now or utc_now()
    batch = await session.scalar(_for_update(session, select(DispatchBatch).where(DispatchBatch.id == batch_id)))
    if batch is None:
        raise NotFound(f"Batch {batch_id} not found.")
    route = await session.get(Route, batch.route_id)
    destination = await session.get(LogisticsNode, route.destination_id) if route else None
    if route is None or destination is None:
        raise NotFound(f"Batch {batch_id} not found.")
    if destination.kind is NodeKind.POINT:
        await ensure_point_staff(session, caller, destination.id)
    elif not caller.is_admin:
        raise Forbidden("Only centre admins confirm arrivals at hubs and stations.")
    if batch.status is BatchStatus.ARRIVED:
        raise Conflict(f"Batch {batch_id} was already confirmed at {batch.arrived_at}.")
    legs = list(
        await session.scalars(
            select(ShipmentLeg).where(ShipmentLeg.batch_id == batch.id).order_by(ShipmentLeg.shipment_id)
        )
    )
    batch.status, batch.arrived_at = BatchStatus.ARRIVED, now
    await session.execute(update(ShipmentLeg).where(ShipmentLeg.batch_id == batch.id).values(status=LegStatus.ARRIVED))
    notices: list[Notification] = []
    waiting = 0
    if destination.kind is NodeKind.POINT and legs:
        await session.scalar(_for_update(session, select(LogisticsNode.id).where(LogisticsNode.id == destination.id)))
        taken: set[str] = set(
            await session.scalars(
                select(Shipment.pickup_code).where(
                    Shipment.pickup_point_id == destination.id, Shipment.pickup_code.is_not(None)
                )
            )
        )
        shipments = list(
            await session.scalars(
                _for_update(
                    session,
                    select(Shipment).where(Shipment.id.in_([leg.shipment_id for leg in legs])).order_by(Shipment.id),
                )
            )
        )
        for s in shipments:
            if s.status not in (ShipmentStatus.CREATED, ShipmentStatus.IN_TRANSIT):
                continue
            s.status, s.arrived_at, s.pickup_code = ShipmentStatus.AWAITING_PICKUP, now, new_code(taken)
            s.wrong_code_attempts, s.locked = 0, False
            session.add(ShipmentEvent(shipment_id=s.id, at=now, kind="awaiting_pickup", node_id=destination.id))
            notices.append(
                Notification(
                    "pickup_code",
                    s.id,
                    s.order_id,
                    s.buyer_user_id,
                    s.recipient_phone,
                    f"您的包裹已到达{destination.name}（{destination.opening_hours or '营业时间见服务点'}），"
                    f"取件码 {s.pickup_code}，请在{get_logistics_settings().return_after_days}天内取件。",
                )
            )
            waiting += 1
    else:
        await session.execute(
            update(Shipment)
            .where(Shipment.id.in_([leg.shipment_id for leg in legs]), Shipment.status == ShipmentStatus.CREATED)
            .values(status=ShipmentStatus.IN_TRANSIT)
        )
        for leg in legs:
            session.add(ShipmentEvent(shipment_id=leg.shipment_id, at=now, kind="arrived", node_id=destination.id))
    audit.record(
        session,
        actor_id=caller.id,
        action="arrive",
        entity="logistics_dispatch_batch",
        entity_id=batch.id,
        changes={"parcels": len(legs)},
    )
    await session.commit()
    sender = get_sender()
    for notice in notices:  # after commit: a failed send must not undo the arrival
        try:
            await sender.send(notice)
        except Exception:
            log.warning("logistics_notification_failed", shipment_id=notice.shipment_id, exc_info=True)
    return ArrivalResult(batch.id, len(legs), waiting)


async def _parcel_at_point(session: AsyncSession, point_id: int, shipment_id: int) -> Shipment:
    shipment = await session.scalar(
        _for_update(session, select(Shipment).where(Shipment.id == shipment_id, Shipment.pickup_point_id == point_id))
    )
    if shipment is None:
        raise NotFound(f"Parcel {shipment_id} is not for this pickup point.")
    return shipment


async def verify_code(
    session: AsyncSession, caller: Caller, point_id: int, shipment_id: int, code: str, now: dt.datetime | None = None
) -> PickupResult:
    """Hand the parcel over when the code matches (once); count wrong codes and lock after the limit."""
    now = now or utc_now()
    await ensure_point_staff(session, caller, point_id)
    shipment = await _parcel_at_point(session, point_id, shipment_id)
    if shipment.status is not ShipmentStatus.AWAITING_PICKUP or shipment.pickup_code is None:
        raise Conflict(f"Parcel {shipment_id} is not waiting for pickup (status: {shipment.status.value}).")
    if shipment.locked:
        raise Conflict(
            "This parcel is locked after too many wrong codes; staff must check the buyer's ID and unlock it.",
            field="code",
            extra={"locked": True},
        )
    if not secrets.compare_digest(code.strip().encode(), shipment.pickup_code.encode()):
        limit = get_logistics_settings().max_wrong_codes
        shipment.wrong_code_attempts += 1
        left = max(0, limit - shipment.wrong_code_attempts)
        if left == 0:
            shipment.locked = True
            session.add(ShipmentEvent(shipment_id=shipment.id, at=now, kind="locked", node_id=point_id))
        await session.commit()  # the wrong attempt counts even though the request fails
        raise InvalidInput(
            f"Wrong pickup code; {left} attempt(s) left before the parcel locks."
            if left
            else "Wrong pickup code; the parcel is now locked until staff unlock it.",
            field="code",
            extra={"attempts_left": left, "locked": left == 0},
        )
    shipment.status, shipment.collected_at = ShipmentStatus.COLLECTED, now
    shipment.pickup_code, shipment.wrong_code_attempts = None, 0  # one-time: the code is gone
    session.add(ShipmentEvent(shipment_id=shipment.id, at=now, kind="collected", node_id=point_id))
    audit.record(session, actor_id=caller.id, action="collect", entity="logistics_shipment", entity_id=shipment.id)
    await session.commit()
    # After commit, like the arrival notice: the shop moves the order on (已取件); a failed send never undoes it.
    notice = Notification("collected", shipment.id, shipment.order_id, shipment.buyer_user_id, "", "包裹已取走。")
    try:
        await get_sender().send(notice)
    except Exception:
        log.warning("logistics_notification_failed", shipment_id=shipment.id, exc_info=True)
    return PickupResult(shipment.id, shipment.status, shipment.collected_at)


async def unlock(
    session: AsyncSession, caller: Caller, point_id: int, shipment_id: int, now: dt.datetime | None = None
) -> ShipmentOut:
    now = now or utc_now()
    await ensure_point_staff(session, caller, point_id)
    shipment = await _parcel_at_point(session, point_id, shipment_id)
    if not shipment.locked:
        raise Conflict(f"Parcel {shipment_id} is not locked.")
    shipment.locked, shipment.wrong_code_attempts = False, 0
    session.add(ShipmentEvent(shipment_id=shipment.id, at=now, kind="unlocked", node_id=point_id))
    audit.record(session, actor_id=caller.id, action="unlock", entity="logistics_shipment", entity_id=shipment.id)
    await session.commit()
    return shipment_out(shipment, [], show_code=False)


async def waiting_parcels(session: AsyncSession, caller: Caller, point_id: int) -> list[ShipmentOut]:
    """The point's shelf, for staff (codes are never shown to staff)."""
    await ensure_point_staff(session, caller, point_id)
    rows = await session.scalars(
        select(Shipment)
        .where(Shipment.pickup_point_id == point_id, Shipment.status == ShipmentStatus.AWAITING_PICKUP)
        .order_by(Shipment.arrived_at, Shipment.id)
    )
    return [shipment_out(s, [], show_code=False) for s in rows]


async def set_tracking_number(
    session: AsyncSession, caller: Caller, shipment_id: int, data: TrackingNumberIn, now: dt.datetime | None = None
) -> ShipmentOut:
    """The courier's tracking number for a home delivery (the workshop's manager or a centre admin)."""
    now = now or utc_now()
    shipment = await session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(f"Shipment {shipment_id} not found.")
    ensure_workshop_scope(caller, shipment.workshop_id)
    if shipment.mode is not DeliveryMode.HOME:
        raise Conflict("Only home deliveries go through a courier.", field="tracking_number")
    if shipment.status not in (ShipmentStatus.CREATED, ShipmentStatus.IN_TRANSIT, ShipmentStatus.WITH_COURIER):
        raise Conflict(f"Shipment {shipment_id} is already {shipment.status.value}.")
    shipment.courier, shipment.tracking_number = data.courier, data.tracking_number
    shipment.status = ShipmentStatus.WITH_COURIER
    session.add(
        ShipmentEvent(
            shipment_id=shipment.id, at=now, kind="with_courier", note=f"{data.courier} {data.tracking_number}"
        )
    )
    audit.record(
        session,
        actor_id=caller.id,
        action="update",
        entity="logistics_shipment",
        entity_id=shipment.id,
        changes={"courier": data.courier, "tracking_number": data.tracking_number},
    )
    await session.commit()
    return shipment_out(shipment, [], show_code=False)
