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
    data: dict[str, Any] = field(default_factory=dict)  # ids and amounts only


class Sender(Protocol):
    async def send(self, notification: Notification) -> None: ...


class LogSender:
    async def send(self, notification: Notification) -> None:
        log.info(
            "notification",
            kind=notification.kind.value,
            user_id=notification.user_id,
            order_id=notification.order_id,
            **notification.data,
        )


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
