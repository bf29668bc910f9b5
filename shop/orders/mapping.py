"""Order rows → response bodies."""

from __future__ import annotations

from shop.orders.models import Order, OrderLine
from shop.orders.schemas import OrderLineOut, OrderOut


def line_out(line: OrderLine) -> OrderLineOut:
    return OrderLineOut(
        line.id,
        line.variant_id,
        line.product_id,
        line.workshop_id,
        line.title,
        line.quantity,
        line.unit_price_fen,
        line.gross_fen,
        line.discount_fen,
        line.net_fen,
        line.live_session_id,
        line.refunded_quantity,
        line.refunded_fen,
    )


def order_out(order: Order) -> OrderOut:
    return OrderOut(
        order.id,
        order.buyer_id,
        order.status,
        order.payment_method,
        order.delivery_method,
        order.pickup_point_id,
        order.address,
        order.ready_date,
        order.subtotal_fen,
        order.discount_fen,
        order.shipping_fen,
        order.total_fen,
        order.refunded_fen,
        order.voucher_id,
        order.reserved_until,
        order.paid_at,
        order.created_at,
        [line_out(line) for line in order.lines],
    )
