"""Payments API: offline confirmation by staff, Stripe PaymentIntents, the Stripe webhook."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.background_tasks import BackgroundTask
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from shop.auth import PUBLIC, Caller, requires, requires_login
from shop.checkout.controllers import IdempotencyKey
from shop.checkout.schemas import StripePaymentOut, WebhookAck
from shop.orders.schemas import OrderOut
from shop.payments.services import PaymentService
from shop.payments.webhooks import WebhookService
from shop.settings import Settings


class PaymentController(Controller):
    tags = ["payments"]

    @post(
        "/api/orders/{order_id:int}/payments/offline",
        status_code=200,
        guards=[requires(Role.CENTRE_ADMIN, Role.WORKSHOP_MANAGER, Role.KIOSK)],
        summary="Staff confirm an offline payment (kiosk counter / pickup point): the order is paid",
    )
    async def confirm_offline(
        self,
        db_session: AsyncSession,
        settings: Settings,
        caller: Caller,
        order_id: int,
        idempotency_key: str | None = IdempotencyKey,
    ) -> Response[OrderOut]:
        paid = await PaymentService(db_session, settings).confirm_offline_deferred(caller, order_id, idempotency_key)
        # Subscribers (live figures, shipments) and the buyer's notification run after the response is sent: the
        # payment is committed, and they are idempotent and never undo it.
        return Response(paid.order_out, background=BackgroundTask(paid.follow_up))

    @post(
        "/api/orders/{order_id:int}/payments/stripe",
        status_code=200,
        guards=[requires_login],
        summary="Start paying with Stripe (card, Alipay, WeChat Pay): the PaymentIntent's client secret",
    )
    async def start_stripe(
        self,
        db_session: AsyncSession,
        settings: Settings,
        caller: Caller,
        order_id: int,
        idempotency_key: str | None = IdempotencyKey,
    ) -> StripePaymentOut:
        return await PaymentService(db_session, settings).start_stripe(caller, order_id, idempotency_key)

    @post(
        "/api/payments/stripe/webhook",
        opt={**PUBLIC, "no_rate_limit": True},
        status_code=200,
        summary="Stripe webhook (signature verified on the raw body)",
    )
    async def webhook(
        self, db_session: AsyncSession, settings: Settings, request: Request[Any, Any, Any]
    ) -> WebhookAck:
        body = await request.body()
        return await WebhookService(db_session, settings).handle(body, request.headers.get("stripe-signature"))


route_handlers = [PaymentController]
