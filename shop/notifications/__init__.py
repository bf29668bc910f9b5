"""Notifications to buyers (order paid, ready for pickup) through a pluggable sender.

The default sender writes a structured log line with ids only (no names, phones or addresses). Another sender
(SMS, WeChat template message) is installed with `set_sender`. Call `notify(...)` after the commit; a failing
sender is logged, never raised into the request.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

log = structlog.get_logger("shop.notifications")


class NotificationKind(enum.StrEnum):
    ORDER_PAID = "order_paid"  # 付款成功
    READY_FOR_PICKUP = "ready_for_pickup"  # 可以自提
    ORDER_REFUNDED = "order_refunded"  # 退款


@dataclass(frozen=True, slots=True)
class Notification:
    kind: NotificationKind
    user_id: int
    order_id: int
    data: dict[str, Any] = field(default_factory=dict)  # ids, amounts, and the buyer's `message` (never logged)


class Sender(Protocol):
    async def send(self, notification: Notification) -> None: ...


# What the buyer reads (it may hold a pickup code) and anything personal never reaches the log.
PRIVATE_FIELDS = frozenset({"message", "text", "code", "pickup_code", "phone", "address", "name"})


def log_fields(notification: Notification) -> dict[str, Any]:
    """What the log sender writes: ids and amounts, and the names (not values) of the private fields."""
    public = {k: v for k, v in notification.data.items() if k not in PRIVATE_FIELDS}
    withheld = sorted(k for k in notification.data if k in PRIVATE_FIELDS)
    return {
        "kind": notification.kind.value,
        "user_id": notification.user_id,
        "order_id": notification.order_id,
        "withheld": withheld,
        **public,
    }


class LogSender:
    async def send(self, notification: Notification) -> None:
        log.info("notification", **log_fields(notification))


class MemorySender:
    """Keeps what was sent; for the demo page and tests."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    async def send(self, notification: Notification) -> None:
        self.sent.append(notification)


_sender: Sender = LogSender()


def set_sender(sender: Sender | None) -> None:
    global _sender
    _sender = sender or LogSender()


def get_sender() -> Sender:
    return _sender


async def notify(kind: NotificationKind, user_id: int, order_id: int, **data: Any) -> None:
    try:
        await _sender.send(Notification(kind, user_id, order_id, data))
    except Exception as exc:
        log.warning("notification_failed", kind=kind.value, order_id=order_id, error=str(exc)[:200])
