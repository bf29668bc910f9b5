"""Order events for other contexts: "order paid" and "order refunded" (livestream figures, logistics shipments).

Each event is written as an outbox row (topic "orders") in the same transaction as the change, and handed to
in-process subscribers right after the commit; the row is then marked processed. A row still unprocessed a while
later (the process died between the commit and the hand-over) is handed over again by the relay job
(`shop.orders.jobs`), so a paid order always gets its shipment and its live figures. Subscribers must be idempotent
(key: event + order + refund id); a subscriber that raises is logged and the others still run.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from sqlalchemy import inspect as inspect_row
from sqlalchemy.ext.asyncio import AsyncSession

from shop.outbox import OutboxEvent, emit

log = structlog.get_logger(__name__)

ORDERS_TOPIC = "orders"
ORDER_PAID = "order_paid"
ORDER_REFUNDED = "order_refunded"
ORDER_CANCELLED = "order_cancelled"
ORDER_STATUS_CHANGED = "order_status"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    name: str  # ORDER_PAID, ORDER_REFUNDED, ...
    order_id: int
    buyer_id: int
    payload: dict[str, Any] = field(default_factory=dict)
    outbox: OutboxEvent | None = field(default=None, compare=False, repr=False)  # its row, once recorded


Subscriber = Callable[[OrderEvent], Awaitable[None] | None]
_subscribers: dict[str, list[Subscriber]] = {}


def subscribe(event_name: str, fn: Subscriber) -> Subscriber:
    """Register `fn` for an event name; returns it so it can be used as a decorator helper."""
    _subscribers.setdefault(event_name, [])
    if fn not in _subscribers[event_name]:
        _subscribers[event_name].append(fn)
    return fn


def unsubscribe(event_name: str, fn: Subscriber) -> None:
    if fn in _subscribers.get(event_name, []):
        _subscribers[event_name].remove(fn)


def on_order_paid(fn: Subscriber) -> Subscriber:
    return subscribe(ORDER_PAID, fn)


def on_order_refunded(fn: Subscriber) -> Subscriber:
    return subscribe(ORDER_REFUNDED, fn)


def record(session: AsyncSession, event: OrderEvent) -> OrderEvent:
    """Write the outbox row in the caller's transaction; dispatch after the commit."""
    row = emit(
        session,
        topic=ORDERS_TOPIC,
        entity="order",
        entity_id=event.order_id,
        reason=event.name,
        payload={"buyer_id": event.buyer_id, **event.payload},
    )
    return replace(event, outbox=row)


def from_outbox(row: OutboxEvent) -> OrderEvent:
    """The event an outbox row recorded (for the relay)."""
    payload = dict(row.payload)
    buyer_id = int(payload.pop("buyer_id", 0) or 0)
    return OrderEvent(row.reason, row.entity_id, buyer_id, payload, row)


# Marks handed-over rows processed; set by the app's wiring (it owns the session factory), None in bare services.
ProcessedMarker = Callable[[list[int]], Awaitable[None]]
_processed_marker: ProcessedMarker | None = None


def set_processed_marker(marker: ProcessedMarker | None) -> None:
    global _processed_marker
    _processed_marker = marker


async def dispatch(events: list[OrderEvent]) -> None:
    for event in events:
        for fn in list(_subscribers.get(event.name, [])):
            try:
                result = fn(event)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                log.warning(
                    "order_event_subscriber_failed",
                    event_name=event.name,
                    order_id=event.order_id,
                    subscriber=getattr(fn, "__qualname__", repr(fn)),
                    error=str(exc)[:200],
                )
    # The identity survives the recording session (reading `.id` of a detached, expired row would not).
    identities = [inspect_row(e.outbox).identity for e in events if e.outbox is not None]
    handed_over = [int(identity[0]) for identity in identities if identity]
    if handed_over and _processed_marker is not None:
        try:
            await _processed_marker(handed_over)
        except Exception as exc:  # the relay hands it over again later; subscribers are idempotent
            log.warning("order_event_mark_failed", outbox_ids=handed_over, error=str(exc)[:200])
