"""Order reads (buyer history, staff views scoped to their workshops), staff status changes, cancellation, expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import structlog
from sqlalchemy import ColumnElement, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from shop import audit
from shop.accounts.models import Role
from shop.auth import Caller
from shop.db import utcnow
from shop.errors import Forbidden, NotFound
from shop.notifications import NotificationKind, notify
from shop.orders import events, states
from shop.orders.mapping import order_out
from shop.orders.models import Order, OrderLine, OrderStatus
from shop.orders.schemas import OrderOut
from shop.stock.services import StockService
from shop.vouchers.services import VoucherService

log = structlog.get_logger(__name__)
STAFF_ROLES = (Role.CENTRE_ADMIN, Role.WORKSHOP_MANAGER, Role.KIOSK)


def can_view(caller: Caller, order: Order) -> bool:
    # The showroom kiosk confirms counter payments but reads no one's order (names, phones, addresses).
    if caller.id == order.buyer_id or caller.role is Role.CENTRE_ADMIN:
        return True
    return caller.role is Role.WORKSHOP_MANAGER and any(ln.workshop_id in caller.workshop_ids for ln in order.lines)


def can_manage(caller: Caller, order: Order) -> bool:
    """Admins manage every order; a workshop manager only orders whose lines are all from their workshops."""
    if caller.role is Role.CENTRE_ADMIN:
        return True
    return caller.role is Role.WORKSHOP_MANAGER and all(ln.workshop_id in caller.workshop_ids for ln in order.lines)


_ORDER_WITH_LINES = (
    select(Order)
    .where(Order.id == bindparam("order_id"))
    .options(joinedload(Order.lines))
    .execution_options(populate_existing=True)
)
_ORDER_WITH_LINES_LOCKED = _ORDER_WITH_LINES.with_for_update(of=Order)  # built once, as building cost more than running


async def load_order(session: AsyncSession, order_id: int, *, lock: bool = False) -> Order:
    """The order with its lines, in one round trip (the lines joined; only the order row is locked)."""
    stmt = _ORDER_WITH_LINES_LOCKED if lock else _ORDER_WITH_LINES
    order = (await session.scalars(stmt, {"order_id": order_id})).unique().one_or_none()
    if order is None:
        raise NotFound(f"No order {order_id}.", field="order_id")
    return order


async def cancel_locked(session: AsyncSession, order: Order, reason: str, actor_id: int | None) -> events.OrderEvent:
    """Cancel an unpaid order inside the caller's transaction: release stock and the voucher use."""
    states.move(order, OrderStatus.CANCELLED)
    order.cancelled_at = utcnow()
    order.cancel_reason = reason[:200]
    await StockService(session).release(order.id)
    await VoucherService(session).release(order.id)
    audit.record(
        session,
        actor_id=actor_id,
        action="cancel",
        entity="order",
        entity_id=order.id,
        changes={"reason": reason[:200]},
    )
    return events.record(
        session, events.OrderEvent(events.ORDER_CANCELLED, order.id, order.buyer_id, {"reason": reason[:200]})
    )


class OrderService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, caller: Caller, order_id: int) -> OrderOut:
        order = await load_order(self.session, order_id)
        if not can_view(caller, order):
            raise NotFound(f"No order {order_id}.", field="order_id")  # do not reveal other buyers' orders
        return order_out(order)

    async def history(self, caller: Caller, limit: int, offset: int) -> tuple[list[OrderOut], int]:
        where = Order.buyer_id == caller.id
        total = await self.session.scalar(select(func.count()).select_from(Order).where(where)) or 0
        orders = (
            await self.session.scalars(select(Order).where(where).order_by(Order.id.desc()).limit(limit).offset(offset))
        ).all()
        return [order_out(o) for o in orders], total

    async def staff_list(
        self,
        caller: Caller,
        *,
        status: OrderStatus | None,
        workshop_id: int | None,
        limit: int,
        offset: int,
    ) -> tuple[list[OrderOut], int]:
        conditions: list[ColumnElement[bool]] = []
        if caller.role is Role.WORKSHOP_MANAGER:
            if workshop_id is not None and workshop_id not in caller.workshop_ids:
                raise Forbidden(f"You do not manage workshop {workshop_id}.", field="workshop_id")
            scope: Sequence[int] = [workshop_id] if workshop_id else sorted(caller.workshop_ids)
        else:
            scope = [workshop_id] if workshop_id else []
        if scope or caller.role is Role.WORKSHOP_MANAGER:
            conditions.append(
                exists(select(OrderLine.id).where(OrderLine.order_id == Order.id, OrderLine.workshop_id.in_(scope)))
            )
        if status is not None:
            conditions.append(Order.status == status)
        total = await self.session.scalar(select(func.count()).select_from(Order).where(*conditions)) or 0
        orders = (
            await self.session.scalars(
                select(Order).where(*conditions).order_by(Order.id.desc()).limit(limit).offset(offset)
            )
        ).all()
        return [order_out(o) for o in orders], total

    async def change_status(self, caller: Caller, order_id: int, target: OrderStatus, note: str = "") -> OrderOut:
        order = await load_order(self.session, order_id, lock=True)
        if not can_view(caller, order):
            raise NotFound(f"No order {order_id}.", field="order_id")
        if not can_manage(caller, order):
            raise Forbidden(f"Order {order_id} has lines from workshops you do not manage.")
        if target not in states.STAFF_TARGETS:
            states.ensure_transition(order, target)  # a 409 naming the states if it is not even allowed
            raise Forbidden(
                f"Use the payment, cancel or refund call to move an order to {target.value}.", field="status"
            )
        before = order.status
        states.move(order, target)
        audit.record(
            self.session,
            actor_id=caller.id,
            action="status",
            entity="order",
            entity_id=order.id,
            changes={"status": [before.value, target.value], "note": note},
        )
        event = events.record(
            self.session,
            events.OrderEvent(
                events.ORDER_STATUS_CHANGED, order.id, order.buyer_id, {"from": before.value, "to": target.value}
            ),
        )
        await self.session.commit()
        await events.dispatch([event])
        if target is OrderStatus.READY_FOR_PICKUP:
            await notify(
                NotificationKind.READY_FOR_PICKUP, order.buyer_id, order.id, pickup_point_id=order.pickup_point_id
            )
        return order_out(order)

    async def cancel(self, caller: Caller, order_id: int, reason: str) -> OrderOut:
        order = await load_order(self.session, order_id, lock=True)
        if not can_view(caller, order):
            raise NotFound(f"No order {order_id}.", field="order_id")
        if caller.id != order.buyer_id and not can_manage(caller, order):
            raise Forbidden(f"Only the buyer or the workshop's staff may cancel order {order_id}.")
        event = await cancel_locked(self.session, order, reason or "cancelled", caller.id)
        await self.session.commit()
        await events.dispatch([event])
        return order_out(order)

    async def expire_due(self, now: dt.datetime | None = None, limit: int = 200) -> int:
        """Cancel unpaid orders whose reservation ran out; each in its own short transaction."""
        expired, _due = await self.expire_due_counted(now, limit)
        return expired

    async def expire_due_counted(self, now: dt.datetime | None = None, limit: int = 200) -> tuple[int, int]:
        """(orders cancelled, orders found due). An order another runner holds, or one that fails, is skipped
        (the failure logged) and found again on the next round."""
        now = now or utcnow()
        due = list(
            (
                await self.session.scalars(
                    select(Order.id)
                    .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.reserved_until < now)
                    .order_by(Order.id)
                    .limit(limit)
                )
            ).all()
        )
        await self.session.rollback()
        expired = 0
        for order_id in due:
            try:
                order = await self.session.scalar(
                    select(Order)
                    .where(Order.id == order_id)
                    .with_for_update(skip_locked=True)
                    .execution_options(populate_existing=True)
                )
                if (
                    order is None  # being paid or expired by someone else right now
                    or order.status is not OrderStatus.PENDING_PAYMENT
                    or order.reserved_until is None
                    or order.reserved_until >= now
                ):
                    await self.session.rollback()  # paid or cancelled meanwhile
                    continue
                event = await cancel_locked(self.session, order, "reservation expired", None)
                await self.session.commit()
            except Exception as exc:
                await self.session.rollback()
                log.warning("reservation_expiry_failed", order_id=order_id, error=str(exc)[:200])
                continue
            await events.dispatch([event])
            expired += 1
        if expired:
            log.info("reservations_expired", orders=expired)
        return expired, len(due)
