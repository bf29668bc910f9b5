"""Payments: the offline method confirmed by staff, Stripe PaymentIntents, and what happens when an order is paid.

Paying commits the reserved stock, writes the ledger split (adds up to the amount paid exactly), moves the order
to paid and records an "order paid" event — one transaction; subscribers and the buyer's notification run after
the commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop import audit, metrics
from shop.accounts.models import Role
from shop.auth import Caller
from shop.checkout.idempotency import IdempotencyStore
from shop.checkout.schemas import StripePaymentOut
from shop.db import Base, utcnow
from shop.errors import Conflict, DomainError, Forbidden, NotFound
from shop.inserts import Guard, insert_together, mark_written
from shop.ledger.services import LedgerLine, payment_entries, split_line
from shop.notifications import NotificationKind, notify
from shop.orders import events, states
from shop.orders.mapping import order_out
from shop.orders.models import Order, OrderStatus, PaymentMethod
from shop.orders.schemas import OrderOut
from shop.orders.services import can_manage, can_view, load_order
from shop.payments.gateway import CURRENCY, PAYMENT_METHOD_TYPES, StripeGateway
from shop.settings import Settings
from shop.stock.services import ACTIVE_LOCATIONS, StockRequest, StockService, settlement_after
from shop.vouchers.services import VoucherService

log = structlog.get_logger(__name__)


def ledger_lines(order: Order) -> list[LedgerLine]:
    return [
        LedgerLine(
            ln.id,
            ln.workshop_id,
            ln.net_fen,
            ln.service_fee_bp,
            ln.commission_bp,
            ln.streamer_user_id,
            ln.live_session_id,
        )
        for ln in order.lines
    ]


def paid_event(order: Order) -> events.OrderEvent:
    lines = []
    for ln in order.lines:
        split = split_line(ln.net_fen, ln.service_fee_bp, ln.commission_bp)
        lines.append(
            {
                "line_id": ln.id,
                "variant_id": ln.variant_id,
                "product_id": ln.product_id,
                "workshop_id": ln.workshop_id,
                "quantity": ln.quantity,
                "net_fen": ln.net_fen,
                "live_session_id": ln.live_session_id,
                "streamer_user_id": ln.streamer_user_id,
                "commission_fen": split.commission_fen,
            }
        )
    return events.OrderEvent(
        events.ORDER_PAID,
        order.id,
        order.buyer_id,
        {
            "total_fen": order.total_fen,
            "shipping_fen": order.shipping_fen,
            "delivery_method": order.delivery_method.value,
            "pickup_point_id": order.pickup_point_id,
            "paid_at": order.paid_at.isoformat() if order.paid_at else None,
            "lines": lines,
        },
    )


@dataclass(frozen=True, slots=True)
class Taken:
    """A payment applied to its order in memory and to its stock, with the rows still to write."""

    event: events.OrderEvent
    rows: list[Base]  # the ledger split, the audit entry, the event's outbox row
    # PostgreSQL: the stock settlement, to go as the guard of the statement that writes `rows` (`write_taken`)
    settle: tuple[Guard, dict[str, Any]] | None = None


async def take_payment(session: AsyncSession, order: Order, actor_id: int | None) -> Taken | None:
    """Inside the caller's transaction, with the order row locked. None when a late payment found no stock.

    The order's own changes are flushed with the session; the caller writes `rows` (`insert_together`, with any of
    its own) before committing.
    """
    now = utcnow()
    stock = StockService(session)
    settle = None  # a revived order's units are taken above, in its savepoint
    if order.status is OrderStatus.CANCELLED:
        # Paid after the reservation lapsed (expiry) or after a failed attempt cancelled it: revive the order only
        # if everything it was sold with still holds — its units are still free and its voucher use can be counted
        # again — otherwise nothing changes and the payment must be refunded.
        requests = [StockRequest(ln.id, ln.variant_id, ln.quantity, ln.title) for ln in order.lines]
        savepoint = await session.begin_nested()
        if not await VoucherService(session).revive(order.id, order.buyer_id) or not await stock.take_directly(
            order.id, requests
        ):
            await savepoint.rollback()
            return None
        await savepoint.commit()
        order.status = order.fulfilment_status = OrderStatus.PAID
        order.cancelled_at, order.cancel_reason = None, ""
    else:
        states.move(order, OrderStatus.PAID)
        settle = stock.settle_with_rows(order.id)
        if settle is None:
            await stock.commit(order.id)
    return _paid(order, actor_id, now, settle)


def _paid(order: Order, actor_id: int | None, now: dt.datetime, settle: tuple[Guard, dict[str, Any]] | None) -> Taken:
    """The order marked paid in memory, and the payment's rows: its ledger split, audit entry and event."""
    order.paid_at = now
    order.paid_confirmed_by = actor_id
    order.reserved_until = None
    event = events.with_outbox_row(paid_event(order))
    assert event.outbox is not None
    rows: list[Base] = [*payment_entries(order.id, ledger_lines(order), order.shipping_fen, now)]
    rows.append(
        audit.entry(
            actor_id=actor_id,
            action="paid",
            entity="order",
            entity_id=order.id,
            changes={"method": order.payment_method.value, "total_fen": order.total_fen},
        )
    )
    rows.append(event.outbox)
    return Taken(event, rows, settle)


# PostgreSQL, a payment in one statement of its own: the order moves to paid only if it is still awaiting payment
# with its units on one stock row (the usual case), and its reservations, shelf, ledger, audit, event and stored
# response are written only then. Otherwise nothing is written and the payment takes the locked path.
_PAID_AT_ONCE = (
    update(Order)
    .where(
        Order.id == bindparam("for_order"),
        Order.status == OrderStatus.PENDING_PAYMENT,
        ACTIVE_LOCATIONS == 1,
    )
    .values(
        status=OrderStatus.PAID,
        fulfilment_status=OrderStatus.PAID,
        paid_at=bindparam("paid_at"),
        paid_confirmed_by=bindparam("paid_by"),
        reserved_until=None,
        updated_at=bindparam("paid_at"),
    )
    .returning(Order.id)
    .cte("paid")
)
PAY_AND_SETTLE = settlement_after(_PAID_AT_ONCE)


async def mark_paid(session: AsyncSession, order: Order, actor_id: int | None) -> events.OrderEvent | None:
    """`take_payment` with its rows written: the order is paid in the caller's transaction, which commits it."""
    taken = await take_payment(session, order, actor_id)
    if taken is None:
        return None
    await write_taken(session, taken, order)
    return taken.event


async def write_taken(session: AsyncSession, taken: Taken | None, order: Order, extra: Sequence[Base] = ()) -> None:
    """The payment's rows (with the caller's `extra`), the order's UPDATE and, on PostgreSQL, the stock settlement,
    in one statement; units held on several stock rows then leave them one by one."""
    rows = [*(taken.rows if taken else []), *extra]
    settle = taken.settle if taken else None
    taken_off = await insert_together(session, rows, changed=[order], guard=settle)
    if taken is not None and settle is not None:
        await StockService(session).after_settle(order.id, taken_off)


async def after_paid(event: events.OrderEvent | None, order: Order) -> None:
    if event is None:
        return
    await events.hand_over([event])
    await notify(NotificationKind.ORDER_PAID, order.buyer_id, order.id, total_fen=order.total_fen)


@dataclass(frozen=True, slots=True)
class Paid:
    """A committed payment's response and what must follow it (None for a replayed call)."""

    order_out: OrderOut
    event: events.OrderEvent | None
    order: Order | None

    async def follow_up(self) -> None:
        if self.order is not None:
            await after_paid(self.event, self.order)


class PaymentService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def confirm_offline(self, caller: Caller, order_id: int, idempotency_key: str | None) -> OrderOut:
        """Staff confirm that the buyer paid at the kiosk counter or the pickup point (到店付款)."""
        paid = await self.confirm_offline_deferred(caller, order_id, idempotency_key)
        await paid.follow_up()
        return paid.order_out

    async def confirm_offline_deferred(self, caller: Caller, order_id: int, idempotency_key: str | None) -> Paid:
        """As `confirm_offline`, committed, with the after-commit work (subscribers, the buyer's notification) left
        to the caller — the API runs it after the response has been sent."""
        store = IdempotencyStore(
            self.session, f"user:{caller.id}", idempotency_key, f"POST /api/orders/{order_id}/payments/offline", {}
        )
        # Optimistic, as at checkout: the stored response is looked up only when this attempt fails (a replay
        # finds the order already paid, or its record insert collides with the first call's).
        try:
            paid = await self._confirm_at_once(caller, order_id, store)
            if paid is not None:
                metrics.payment("offline", "paid")
                return paid
            order = await load_order(self.session, order_id, lock=True)
            self._check_offline(caller, order)
            if order.status is not OrderStatus.PENDING_PAYMENT:
                states.ensure_transition(order, OrderStatus.PAID)
            taken = await take_payment(self.session, order, caller.id)
            result = order_out(order)
            # The order's UPDATE, its stock settlement and its ledger, audit, outbox and idempotency rows in one
            # statement.
            await write_taken(self.session, taken, order, store.records(200, result))
            event = taken.event if taken else None
            await self.session.commit()
            metrics.payment("offline", "paid")
        except (IntegrityError, DomainError):
            await self.session.rollback()
            if (stored := await store.replay()) is None:
                metrics.payment_failed("offline")
                raise
            await self.session.rollback()
            return Paid(msgspec.convert(stored, OrderOut), None, None)
        except BaseException:
            metrics.payment_failed("offline")
            await self.session.rollback()
            raise
        return Paid(result, event, order)

    @staticmethod
    def _check_offline(caller: Caller, order: Order) -> None:
        if not (caller.role is Role.KIOSK or can_view(caller, order)):  # the counter confirms any order
            raise NotFound(f"No order {order.id}.", field="order_id")
        if caller.role is not Role.KIOSK and not can_manage(caller, order):
            raise Forbidden(f"Order {order.id} has lines from workshops you do not manage.")
        if order.payment_method is not PaymentMethod.OFFLINE:
            raise Conflict(
                f"Order {order.id} is paid through {order.payment_method.value}, not offline.",
                field="payment_method",
                extra={"reason": "wrong_payment_method"},
            )

    async def _confirm_at_once(self, caller: Caller, order_id: int, store: IdempotencyStore) -> Paid | None:
        """PostgreSQL: the usual payment (an order awaiting payment, its units on one stock row) as one read and one
        write, each its own transaction: no row lock held across round trips and no BEGIN or COMMIT. The write
        moves the order to paid only if it still awaits payment (`_PAID_AT_ONCE`), and everything else goes with
        it or not at all. None, with nothing written, when the order is in any other state or changed meanwhile:
        the caller then takes the locked path, which has the answer for every case."""
        if self.session.get_bind().dialect.name != "postgresql":
            return None
        await self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        order = await load_order(self.session, order_id)
        self._check_offline(caller, order)
        if order.status is not OrderStatus.PENDING_PAYMENT:
            await self.session.rollback()
            return None
        now = utcnow()
        states.move(order, OrderStatus.PAID)
        order.updated_at = now
        guard = (PAY_AND_SETTLE, {"for_order": order.id, "paid_at": now, "paid_by": caller.id})
        taken = _paid(order, caller.id, now, guard)
        result = order_out(order)
        written = await insert_together(
            self.session, [*taken.rows, *store.records(200, result)], guard=guard, alone=True
        )
        if written is None:  # paid, cancelled or restocked since the read: nothing was written
            await self.session.rollback()
            return None
        if not written:  # not reachable while the order's reservations change only under its row lock
            log.warning("payment_units_left_on_shelf", order_id=order.id)
            await StockService(self.session).after_settle(order.id, written)
        mark_written(self.session, [order])  # its changes went with the statement
        await self.session.commit()
        return Paid(result, taken.event, order)

    async def start_stripe(self, caller: Caller, order_id: int, idempotency_key: str | None) -> StripePaymentOut:
        """Create (or return) the order's PaymentIntent; the page confirms it with Stripe.js."""
        store = IdempotencyStore(
            self.session, f"user:{caller.id}", idempotency_key, f"POST /api/orders/{order_id}/payments/stripe", {}
        )
        if (stored := await store.replay()) is not None:
            await self.session.rollback()
            return msgspec.convert(stored, StripePaymentOut)
        order = await load_order(self.session, order_id)
        if order.buyer_id != caller.id:
            raise NotFound(f"No order {order_id}.", field="order_id")
        if order.payment_method is not PaymentMethod.STRIPE:
            raise Conflict(
                f"Order {order_id} is to be paid offline.",
                field="payment_method",
                extra={"reason": "wrong_payment_method"},
            )
        if order.status is not OrderStatus.PENDING_PAYMENT:
            states.ensure_transition(order, OrderStatus.PAID)
        total_fen, buyer_id = order.total_fen, order.buyer_id
        await self.session.rollback()  # no transaction held open across the network call
        gateway = StripeGateway(self.settings.stripe)
        intent = await gateway.create_intent(order_id, total_fen, buyer_id)
        order = await load_order(self.session, order_id, lock=True)
        if order.stripe_payment_intent_id is None:
            order.stripe_payment_intent_id = intent.id
        result = StripePaymentOut(
            order.id,
            intent.id,
            intent.client_secret,
            order.total_fen,
            CURRENCY,
            PAYMENT_METHOD_TYPES,
            self.settings.stripe.publishable_key,
        )
        store.remember(200, result)
        try:
            await self.session.commit()
            metrics.payment("stripe", "intent_created")
        except IntegrityError:
            await self.session.rollback()
            if (stored := await store.replay()) is None:
                raise
            return msgspec.convert(stored, StripePaymentOut)
        return result
