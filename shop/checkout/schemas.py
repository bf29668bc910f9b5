"""Checkout and payment bodies."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shop.cart.schemas import CartLineIn
from shop.orders.models import PaymentMethod

Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class AddressIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Short
    phone: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9][0-9-]{4,19}$")]
    county: Short
    detail: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    township: Annotated[str, msgspec.Meta(max_length=64)] = ""
    village: Annotated[str, msgspec.Meta(max_length=64)] = ""


class DeliveryIn(msgspec.Struct, forbid_unknown_fields=True):
    method: Literal["pickup", "home"]
    pickup_point_id: Id | None = None
    address: AddressIn | None = None


class CheckoutIn(msgspec.Struct, forbid_unknown_fields=True):
    """Check out the caller's cart, or (with `lines`) buy these lines now without a cart (live buy button, kiosk)."""

    delivery: DeliveryIn
    payment_method: PaymentMethod = PaymentMethod.OFFLINE
    voucher_code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    lines: Annotated[list[CartLineIn], msgspec.Meta(min_length=1, max_length=50)] | None = None


class StripePaymentOut(msgspec.Struct):
    order_id: int
    payment_intent_id: str
    client_secret: str | None
    amount_fen: int
    currency: str
    payment_method_types: list[str]
    publishable_key: str | None


class WebhookAck(msgspec.Struct):
    received: bool
    event_id: str
    outcome: str
