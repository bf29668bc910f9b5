"""Stripe through the official `stripe` package: PaymentIntents (card, Alipay, WeChat Pay) and refunds.

`STRIPE_API_BASE` points the client elsewhere (the tests' local stand-in). Calls carry Stripe idempotency keys
derived from our ids, so a retried call never creates a second intent or refund.
"""

from __future__ import annotations

import functools
from typing import Any

import stripe
import structlog

from shop.errors import ServiceUnavailable
from shop.settings import StripeSettings

log = structlog.get_logger(__name__)

# This SDK's API version names the list `allowed_payment_method_types` (formerly `payment_method_types`).
PAYMENT_METHOD_TYPES = ["card", "alipay", "wechat_pay"]
CURRENCY = "cny"


@functools.cache
def _client(secret_key: str, api_base: str | None) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.HTTPXClient(timeout=10),
        max_network_retries=2,
    )


class StripeGateway:
    def __init__(self, settings: StripeSettings) -> None:
        if not settings.secret_key:
            raise ServiceUnavailable("Stripe payments are not configured; choose the offline payment.")
        self.client = _client(settings.secret_key, settings.api_base)

    async def create_intent(self, order_id: int, amount_fen: int, buyer_id: int) -> Any:
        try:
            return await self.client.v1.payment_intents.create_async(
                params={
                    "amount": amount_fen,
                    "currency": CURRENCY,
                    "allowed_payment_method_types": PAYMENT_METHOD_TYPES,
                    "metadata": {"order_id": str(order_id), "buyer_id": str(buyer_id)},
                    "description": f"共富工坊订单 {order_id}",
                },
                options={"idempotency_key": f"hub-order-{order_id}-intent"},
            )
        except stripe.StripeError as exc:
            log.warning("stripe_unavailable", call="payment_intents.create", order_id=order_id, error=str(exc)[:200])
            raise ServiceUnavailable("The payment provider is unavailable; please retry shortly.") from exc

    async def refund(self, payment_intent_id: str, amount_fen: int, idempotency_key: str) -> str:
        refund = await self.client.v1.refunds.create_async(
            params={"payment_intent": payment_intent_id, "amount": amount_fen},
            options={"idempotency_key": idempotency_key},
        )
        return str(refund.id)
