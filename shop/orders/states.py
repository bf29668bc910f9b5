"""The order state machine (订单状态).

pending_payment → paid → packed → shipped → ready_for_pickup → collected, or shipped → delivered;
pending_payment → cancelled; paid and later → partially_refunded / refunded. A partially refunded order carries on
from where it was (its `fulfilment_status`). Anything else is a 409 naming both states.
"""

from __future__ import annotations

from shop.errors import Conflict
from shop.orders.models import Order, OrderStatus

S = OrderStatus

FULFILMENT: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.PACKED}),
    S.PACKED: frozenset({S.SHIPPED, S.READY_FOR_PICKUP}),
    S.SHIPPED: frozenset({S.READY_FOR_PICKUP, S.DELIVERED}),
    S.READY_FOR_PICKUP: frozenset({S.COLLECTED}),
    S.COLLECTED: frozenset(),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}
REFUNDABLE = frozenset(
    {S.PAID, S.PACKED, S.SHIPPED, S.READY_FOR_PICKUP, S.COLLECTED, S.DELIVERED, S.PARTIALLY_REFUNDED}
)
# Staff move orders along the fulfilment path; payment, cancellation and refunds have their own calls.
STAFF_TARGETS = frozenset({S.PACKED, S.SHIPPED, S.READY_FOR_PICKUP, S.COLLECTED, S.DELIVERED})


def allowed_next(order: Order) -> frozenset[OrderStatus]:
    current = order.fulfilment_status if order.status is S.PARTIALLY_REFUNDED else order.status
    nxt = FULFILMENT.get(current, frozenset())
    if order.status in REFUNDABLE:
        nxt = nxt | {S.PARTIALLY_REFUNDED, S.REFUNDED}
    return nxt


def ensure_transition(order: Order, target: OrderStatus) -> None:
    if target not in allowed_next(order):
        allowed = ", ".join(sorted(s.value for s in allowed_next(order))) or "none"
        raise Conflict(
            f"Order {order.id} cannot go from {order.status.value} to {target.value} (allowed next: {allowed}).",
            field="status",
            extra={"reason": "invalid_transition", "from": order.status.value, "to": target.value},
        )


def move(order: Order, target: OrderStatus) -> None:
    ensure_transition(order, target)
    order.status = target
    if target not in (S.PARTIALLY_REFUNDED, S.REFUNDED):
        order.fulfilment_status = target
