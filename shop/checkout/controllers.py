"""Checkout API."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from shop.auth import Caller, requires_login
from shop.cart.controllers import TokenCookie, TokenHeader, cart_token
from shop.checkout.schemas import CheckoutIn
from shop.checkout.services import CheckoutService
from shop.orders.schemas import OrderOut
from shop.ratelimit import CHECKOUT, limited

IdempotencyKey = Parameter(header="Idempotency-Key", default=None, max_length=128)


class CheckoutController(Controller):
    tags = ["checkout"]

    @post(
        "/api/checkout",
        guards=[requires_login],
        opt=limited(CHECKOUT),
        status_code=201,
        summary="Check out the cart (or `lines`): an order awaiting payment, stock held for 15 minutes",
    )
    async def checkout(
        self,
        db_session: AsyncSession,
        caller: Caller,
        data: CheckoutIn,
        idempotency_key: str | None = IdempotencyKey,
        x_cart_token: str | None = TokenHeader,
        hub_cart: str | None = TokenCookie,
    ) -> OrderOut:
        """409 with `reason` when stock runs out or a voucher is used up; same Idempotency-Key and body → the same
        order; same key, other body → 409."""
        return await CheckoutService(db_session).checkout(
            caller, data, cart_token=cart_token(x_cart_token, hub_cart), idempotency_key=idempotency_key
        )


route_handlers = [CheckoutController]
