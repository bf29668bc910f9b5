"""Order, refund and receipt bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from shop.orders.models import DeliveryMethod, OrderStatus, PaymentMethod

Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]


class OrderLineOut(msgspec.Struct):
    id: int
    variant_id: int
    product_id: int
    workshop_id: int
    title: str
    quantity: int
    unit_price_fen: int
    gross_fen: int
    discount_fen: int
    net_fen: int
    live_session_id: int | None
    refunded_quantity: int
    refunded_fen: int


class OrderOut(msgspec.Struct):
    id: int
    buyer_id: int
    status: OrderStatus
    payment_method: PaymentMethod
    delivery_method: DeliveryMethod
    pickup_point_id: int | None
    address: dict[str, Any] | None
    ready_date: dt.date | None
    subtotal_fen: int
    discount_fen: int
    shipping_fen: int
    total_fen: int
    refunded_fen: int
    voucher_id: int | None
    reserved_until: dt.datetime | None
    paid_at: dt.datetime | None
    created_at: dt.datetime
    lines: list[OrderLineOut]


class OrderPage(msgspec.Struct):
    items: list[OrderOut]
    total: int
    page: int
    per_page: int


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    status: OrderStatus
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class RefundLineIn(msgspec.Struct, forbid_unknown_fields=True):
    line_id: Id
    quantity: Annotated[int, msgspec.Meta(ge=1, le=999)]


class RefundIn(msgspec.Struct, forbid_unknown_fields=True):
    """Omit `lines` to refund everything left (lines and shipping)."""

    lines: list[RefundLineIn] | None = None
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class RefundOut(msgspec.Struct):
    id: int
    order_id: int
    amount_fen: int
    shipping_fen: int
    lines: list[dict[str, int]]
    order_status: OrderStatus
    stripe_refund_id: str | None


class WorkshopShare(msgspec.Struct):
    workshop_id: int
    name: str
    amount_fen: int
    benefit_models: list[str]
    benefit_labels: list[str]


class StreamerShare(msgspec.Struct):
    streamer_user_id: int
    display_name: str
    live_session_id: int | None
    amount_fen: int


class ReceiptOut(msgspec.Struct):
    """收据: where this purchase's money goes."""

    order_id: int
    status: OrderStatus
    paid_at: dt.datetime | None
    total_fen: int
    refunded_fen: int
    lines: list[OrderLineOut]
    workshops: list[WorkshopShare]
    streamers: list[StreamerShare]
    service_centre_fen: int
    shipping_fen: int
    summary: str
