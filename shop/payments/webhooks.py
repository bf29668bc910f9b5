"""Stripe webhooks: signature checked on the raw body; each event id applied exactly once.

Events may arrive twice, be replayed, or arrive out of order. The seen-event row is written in the same
transaction as the effect, so a duplicate is a no-op; and the effects only move an order forward — a success
always wins (even after a failure cancelled the order, if the stock is still there; otherwise it is refunded),
a failure only cancels an order still awaiting payment.
"""

from __future__ import annotations

import json
from typing import Any

import stripe
import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop import metrics
from shop.checkout.schemas import WebhookAck
from shop.errors import DomainError, ServiceUnavailable
from shop.orders import events
from shop.orders.models import Order, OrderStatus
from shop.orders.services import cancel_locked, load_order
from shop.payments.gateway import StripeGateway
from shop.payments.models import ProcessedStripeEvent
from shop.payments.services import after_paid, mark_paid
from shop.settings import Settings

log = structlog.get_logger(__name__)

SUCCEEDED = "payment_intent.succeeded"
FAILED = ("payment_intent.payment_failed", "payment_intent.canceled")


class BadWebhook(DomainError):
    status_code = 400


class WebhookService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def verify(self, payload: bytes, signature: str | None) -> Any:
        secret = self.settings.stripe.webhook_secret
        if not secret:
            raise ServiceUnavailable("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
        try:
            return stripe.Webhook.construct_event(payload, signature or "", secret)
        except stripe.SignatureVerificationError as exc:
            raise BadWebhook("The Stripe-Signature header does not match this body.", field="Stripe-Signature") from exc
        except ValueError as exc:
            raise BadWebhook("The webhook body is not a Stripe event.", field="body") from exc

    async def handle(self, payload: bytes, signature: str | None) -> WebhookAck:
        self.verify(payload, signature)
        event = json.loads(payload)  # verified above; plain dicts are easier to read than StripeObjects
        event_id, event_type = str(event.get("id", "")), str(event.get("type", ""))
        if not event_id or not isinstance(event.get("data"), dict):
            raise BadWebhook("The webhook body is not a Stripe event.", field="body")
        if await self.session.get(ProcessedStripeEvent, event_id) is not None:
            await self.session.rollback()
            return WebhookAck(True, event_id, "duplicate")
        obj = event["data"].get("object") or {}
        order = await self._order_for(obj) if event_type.startswith("payment_intent.") else None
        outcome, paid, other, refund_needed = "ignored", None, None, False
        try:
            intent_id = str(obj.get("id") or "")
            if order is not None and order.stripe_payment_intent_id not in (None, intent_id):
                outcome = "other_intent"  # not the intent this order is paid with: never act on it
                log.warning("stripe_intent_mismatch", order_id=order.id)
                order = None
            elif order is not None and order.stripe_payment_intent_id is None and intent_id:
                order.stripe_payment_intent_id = intent_id  # the event beat the call that stores it
            if order is not None and event_type == SUCCEEDED:
                received = int(obj.get("amount_received") or obj.get("amount") or 0)
                if received != order.total_fen or str(obj.get("currency") or "cny").lower() != "cny":
                    outcome = "amount_mismatch"
                    log.warning("stripe_amount_mismatch", order_id=order.id, received=received)
                elif order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED):
                    paid = await mark_paid(self.session, order, None)
                    outcome = "paid" if paid is not None else "late_payment_refund"
                    refund_needed = paid is None
                else:
                    outcome = "already_" + order.status.value
            elif order is not None and event_type in FAILED:
                if order.status is OrderStatus.PENDING_PAYMENT:
                    other = await cancel_locked(self.session, order, "payment failed", None)
                    outcome = "cancelled"
                else:
                    outcome = "stale_" + order.status.value
            self.session.add(
                ProcessedStripeEvent(
                    event_id=event_id, event_type=event_type[:64], order_id=order.id if order else None, outcome=outcome
                )
            )
            await self.session.commit()
            metrics.payment("stripe", outcome)
        except IntegrityError:
            await self.session.rollback()  # the same event was applied concurrently
            return WebhookAck(True, event_id, "duplicate")
        except BaseException:
            await self.session.rollback()
            raise
        log.info("stripe_event", event_id=event_id, event_type=event_type, outcome=outcome)
        if order is not None and paid is not None:
            await after_paid(paid, order)
        if other is not None:
            await events.dispatch([other])
        if order is not None and refund_needed:
            await self._refund_late_payment(
                order, int(obj.get("amount_received") or obj.get("amount") or 0), str(obj["id"])
            )
        return WebhookAck(True, event_id, outcome)

    async def _order_for(self, intent: Any) -> Order | None:
        order_id = (intent.get("metadata") or {}).get("order_id")
        if order_id is None or not str(order_id).isdigit():
            order_id = await self.session.scalar(
                select(Order.id).where(Order.stripe_payment_intent_id == str(intent.get("id")))
            )
        if order_id is None:
            return None
        try:
            return await load_order(self.session, int(order_id), lock=True)
        except DomainError:
            return None

    async def _refund_late_payment(self, order: Order, amount_fen: int, intent_id: str) -> None:
        try:
            await StripeGateway(self.settings.stripe).refund(intent_id, amount_fen, f"hub-late-payment-{order.id}")
        except Exception as exc:
            log.warning("late_payment_refund_failed", order_id=order.id, error=str(exc)[:200])
