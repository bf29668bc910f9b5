"""Notification seam: the shop plugs in its sender (SMS, WeChat…); until then a structured log line.

The default sender never logs the phone number, the address or the pickup code itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Notification:
    kind: str  # "pickup_code", "parcel_returned", …
    shipment_id: int
    order_id: int
    user_id: int | None
    phone: str
    text: str  # what the buyer reads (may hold the code)


class NotificationSender(Protocol):
    async def send(self, notification: Notification) -> None: ...


class LogSender:
    async def send(self, notification: Notification) -> None:
        log.info(
            "logistics_notification",
            kind=notification.kind,
            shipment_id=notification.shipment_id,
            order_id=notification.order_id,
            user_id=notification.user_id,
            has_phone=bool(notification.phone),
        )


_sender: NotificationSender = LogSender()


def set_sender(sender: NotificationSender | None) -> None:
    """Install the shop's sender (None restores the log sender)."""
    global _sender  # a process-wide registry, set once at start-up
    _sender = sender or LogSender()


def get_sender() -> NotificationSender:
    return _sender
