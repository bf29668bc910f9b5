"""Uncollected parcels go back after `return_after_days` (default 7); the shop's refund hook then runs.

Two steps so a crash in between loses nothing: (1) mark returned and commit; (2) call the hook for every returned
parcel not yet notified, marking each once the hook returns. Step 2 retries on every run.
"""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.config import get_logistics_settings, utc_now
from logistics.hooks import get_return_hook
from logistics.models import Shipment, ShipmentEvent, ShipmentStatus
from logistics.notify import Notification, get_sender
from logistics.schemas import ReturnRun

log = structlog.get_logger(__name__)


async def return_uncollected(session: AsyncSession, now: dt.datetime | None = None) -> ReturnRun:
    now = now or utc_now()
    cutoff = now - dt.timedelta(days=get_logistics_settings().return_after_days)
    query = (
        select(Shipment)
        .where(Shipment.status == ShipmentStatus.AWAITING_PICKUP, Shipment.arrived_at <= cutoff)
        .order_by(Shipment.id)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # a parcel being collected right now is left alone
    due = list(await session.scalars(query))
    for s in due:
        s.status, s.returned_at, s.pickup_code, s.locked = ShipmentStatus.RETURNED, now, None, False
        session.add(ShipmentEvent(shipment_id=s.id, at=now, kind="returned", node_id=s.pickup_point_id))
    await session.commit()
    sender = get_sender()
    for s in due:
        try:
            await sender.send(
                Notification(
                    "parcel_returned",
                    s.id,
                    s.order_id,
                    s.buyer_user_id,
                    s.recipient_phone,
                    "您的包裹超过取件期限未取，已退回，订单将按规则退款。",
                )
            )
        except Exception:
            log.warning("logistics_notification_failed", shipment_id=s.id, exc_info=True)
    notified = await notify_returns(session, now)
    return ReturnRun(len(due), notified)


async def notify_returns(session: AsyncSession, now: dt.datetime) -> int:
    hook = get_return_hook()
    pending = list(
        await session.execute(
            select(Shipment.id, Shipment.order_id)
            .where(Shipment.status == ShipmentStatus.RETURNED, Shipment.return_notified_at.is_(None))
            .order_by(Shipment.id)
        )
    )
    await session.commit()  # hold no transaction (on SQLite: no write lock) while the shop's hook writes its refund
    done = 0
    for shipment_id, order_id in pending:
        try:
            await hook.on_parcel_returned(order_id, shipment_id)
        except Exception:
            log.warning("logistics_refund_hook_failed", shipment_id=shipment_id, order_id=order_id, exc_info=True)
            continue
        shipment = await session.get(Shipment, shipment_id)
        if shipment is not None:
            shipment.return_notified_at = now
            await session.commit()
            done += 1
    return done
