"""Refunds (退款), full or by line and quantity: units back on the shelf, reversing ledger rows, an event.

The amount of k units of a line is the sum of its first k unit amounts (the line's net split by largest
remainder), so refunding every unit returns exactly the line's net; the ledger rows reverse the line's original
split cumulatively (see shop.ledger.services), so the reversal is exact in fen.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shop import audit
from shop.auth import Caller
from shop.db import utcnow
from shop.errors import Forbidden, InvalidInput, NotFound
from shop.ledger.services import refund_amount_for_units, refund_entries, shipping_refund_entry, split_line
from shop.notifications import NotificationKind, notify
from shop.orders import events, states
from shop.orders.models import Order, OrderLine, OrderStatus, PaymentMethod, Refund, RefundLine
from shop.orders.schemas import RefundIn, RefundOut
from shop.orders.services import can_manage, can_view, load_order
from shop.payments.gateway import StripeGateway
from shop.payments.services import ledger_lines
from shop.settings import Settings
from shop.stock.services import StockService

log = structlog.get_logger(__name__)


class RefundService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def _wanted(self, order: Order, data: RefundIn) -> list[tuple[OrderLine, int]]:
        if data.lines is None:
            return [
                (ln, ln.quantity - ln.refunded_quantity) for ln in order.lines if ln.quantity > ln.refunded_quantity
            ]
        by_id = {ln.id: ln for ln in order.lines}
        wanted: dict[int, int] = {}
        for i, item in enumerate(data.lines):
            line = by_id.get(item.line_id)
            if line is None:
                raise NotFound(f"Order {order.id} has no line {item.line_id}.", field=f"lines[{i}].line_id")
            wanted[line.id] = wanted.get(line.id, 0) + item.quantity
            left = line.quantity - line.refunded_quantity
            if wanted[line.id] > left:
                raise InvalidInput(f"Line {line.id} has {left} unit(s) left to refund.", field=f"lines[{i}].quantity")
        return [(by_id[line_id], qty) for line_id, qty in sorted(wanted.items())]

    async def refund(self, caller: Caller, order_id: int, data: RefundIn) -> RefundOut:
        try:
            order = await load_order(self.session, order_id, lock=True)
            if not can_view(caller, order):
                raise NotFound(f"No order {order_id}.", field="order_id")
            if not can_manage(caller, order):
                raise Forbidden(f"Order {order_id} has lines from workshops you do not manage.")
            wanted = self._wanted(order, data)
            target = OrderStatus.REFUNDED
            remaining = {ln.id: ln.quantity - ln.refunded_quantity for ln in order.lines}
            for line, qty in wanted:
                remaining[line.id] -= qty
            if any(remaining.values()):
                target = OrderStatus.PARTIALLY_REFUNDED
            states.ensure_transition(order, target)  # 409 naming the states (e.g. unpaid, already refunded)
            if not wanted:
                raise InvalidInput("Nothing left to refund on this order.", field="lines")
            refund, event = await self._apply(caller, order, wanted, target, data.reason)
            await self.session.commit()
        except BaseException:
            await self.session.rollback()
            raise
        if order.payment_method is PaymentMethod.STRIPE and order.stripe_payment_intent_id:
            await self._refund_at_stripe(order, refund)
        await events.dispatch([event])
        await notify(NotificationKind.ORDER_REFUNDED, order.buyer_id, order.id, amount_fen=refund.amount_fen)
        return RefundOut(
            refund.id,
            order.id,
            refund.amount_fen,
            refund.shipping_fen,
            [
                {"line_id": rl.order_line_id, "quantity": rl.quantity, "amount_fen": rl.amount_fen}
                for rl in refund.lines
            ],
            order.status,
            refund.stripe_refund_id,
        )

    async def _apply(
        self,
        caller: Caller,
        order: Order,
        wanted: list[tuple[OrderLine, int]],
        target: OrderStatus,
        reason: str,
    ) -> tuple[Refund, events.OrderEvent]:
        now = utcnow()
        refund = Refund(
            order_id=order.id, amount_fen=0, reason=reason[:200], created_by=caller.id, created_at=now, lines=[]
        )
        self.session.add(refund)
        await self.session.flush()
        ledger_by_id = {ll.id: ll for ll in ledger_lines(order)}
        stock = StockService(self.session)
        payload_lines = []
        for line, qty in sorted(wanted, key=lambda w: w[0].id):
            amount = refund_amount_for_units(line.net_fen, line.quantity, line.refunded_quantity, qty)
            rows = refund_entries(
                order.id, refund.id, ledger_by_id[line.id], line.refunded_fen, line.refunded_fen + amount, now
            )
            self.session.add_all(rows)
            commission = sum(-r.amount_fen for r in rows if r.kind.value == "streamer_commission")
            line.refunded_quantity += qty
            line.refunded_fen += amount
            refund.lines.append(RefundLine(order_line_id=line.id, quantity=qty, amount_fen=amount))
            refund.amount_fen += amount
            await stock.return_units(line.id, qty)
            payload_lines.append(
                {
                    "line_id": line.id,
                    "variant_id": line.variant_id,
                    "workshop_id": line.workshop_id,
                    "quantity": qty,
                    "amount_fen": amount,
                    "live_session_id": line.live_session_id,
                    "streamer_user_id": line.streamer_user_id,
                    "commission_fen": commission,
                    "original_commission_fen": split_line(
                        line.net_fen, line.service_fee_bp, line.commission_bp
                    ).commission_fen,
                }
            )
        if target is OrderStatus.REFUNDED and order.shipping_fen:
            refund.shipping_fen = order.shipping_fen
            refund.amount_fen += order.shipping_fen
            self.session.add(shipping_refund_entry(order.id, refund.id, order.shipping_fen, now))
        order.refunded_fen += refund.amount_fen
        states.move(order, target)
        audit.record(
            self.session,
            actor_id=caller.id,
            action="refund",
            entity="order",
            entity_id=order.id,
            changes={"refund_id": refund.id, "amount_fen": refund.amount_fen, "status": target.value},
        )
        event = events.record(
            self.session,
            events.OrderEvent(
                events.ORDER_REFUNDED,
                order.id,
                order.buyer_id,
                {
                    "refund_id": refund.id,
                    "amount_fen": refund.amount_fen,
                    "shipping_fen": refund.shipping_fen,
                    "fully_refunded": target is OrderStatus.REFUNDED,
                    "lines": payload_lines,
                },
            ),
        )
        return refund, event

    async def _refund_at_stripe(self, order: Order, refund: Refund) -> None:
        try:
            gateway = StripeGateway(self.settings.stripe)
            refund.stripe_refund_id = await gateway.refund(
                order.stripe_payment_intent_id or "", refund.amount_fen, f"hub-refund-{refund.id}"
            )
            await self.session.commit()
        except Exception as exc:
            await self.session.rollback()
            log.warning("stripe_refund_failed", order_id=order.id, refund_id=refund.id, error=str(exc)[:200])
