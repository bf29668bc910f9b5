"""Order events for other contexts: "order paid" and "order refunded" (livestream figures, logistics shipments).

Each event is written as an outbox row (topic "orders") in the same transaction as the change, and handed to
in-process subscribers right after the commit; the row is then marked processed. A row still unprocessed a while
later (the process died between the commit and the hand-over) is handed over again by the relay job
(`shop.orders.jobs`), so a paid order always gets its shipment and its live figures. Subscribers must be idempotent
(key: event + order + refund id); a subscriber that raises is logged and the others still run.

A batch subscriber gets every event of its name in a hand-over at once (logistics plans all paid orders' parcels
in one transaction). After a payment the hand-over goes through `hand_over`, which gathers the events of payments
that finish while one hand-over is running into the next: under a flash sale the shipments of many orders are
planned together, and a quiet shop hands each event over at once.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from sqlalchemy import inspect as inspect_row
from sqlalchemy.ext.asyncio import AsyncSession

from shop.outbox import OutboxEvent, new_row

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
BatchSubscriber = Callable[[list[OrderEvent]], Awaitable[None]]
_subscribers: dict[str, list[Subscriber]] = {}
_batch_subscribers: dict[str, list[BatchSubscriber]] = {}


def _add(registry: dict[str, list[Any]], event_name: str, fn: Any) -> None:
    listed = registry.setdefault(event_name, [])
    if fn not in listed:
        listed.append(fn)


def _remove(registry: dict[str, list[Any]], event_name: str, fn: Any) -> None:
    if fn in registry.get(event_name, []):
        registry[event_name].remove(fn)


def subscribe(event_name: str, fn: Subscriber) -> Subscriber:
    """Register `fn` for an event name; returns it so it can be used as a decorator helper."""
    _add(_subscribers, event_name, fn)
    return fn


def unsubscribe(event_name: str, fn: Subscriber) -> None:
    _remove(_subscribers, event_name, fn)


def subscribe_batch(event_name: str, fn: BatchSubscriber) -> BatchSubscriber:
    """Register `fn` for all the events of a name in one hand-over (called once per hand-over that has any)."""
    _add(_batch_subscribers, event_name, fn)
    return fn


def unsubscribe_batch(event_name: str, fn: BatchSubscriber) -> None:
    _remove(_batch_subscribers, event_name, fn)


def on_order_paid(fn: Subscriber) -> Subscriber:
    return subscribe(ORDER_PAID, fn)


def on_order_refunded(fn: Subscriber) -> Subscriber:
    return subscribe(ORDER_REFUNDED, fn)


def record(session: AsyncSession, event: OrderEvent) -> OrderEvent:
    """Write the outbox row in the caller's transaction; dispatch after the commit."""
    recorded = with_outbox_row(event)
    assert recorded.outbox is not None
    session.add(recorded.outbox)
    return recorded


def with_outbox_row(event: OrderEvent) -> OrderEvent:
    """The event with its outbox row, which the caller writes (`shop.inserts.insert_together`) before the commit."""
    row = new_row(
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
            await _call(fn, event, event.name, [event])
    for name in dict.fromkeys(event.name for event in events):
        named = [event for event in events if event.name == name]
        for batch_fn in list(_batch_subscribers.get(name, [])):
            await _call(batch_fn, named, name, named)
    # The identity survives the recording session (reading `.id` of a detached, expired row would not).
    identities = [inspect_row(e.outbox).identity for e in events if e.outbox is not None]
    handed_over = [int(identity[0]) for identity in identities if identity]
    if handed_over and _processed_marker is not None:
        try:
            await _processed_marker(handed_over)
        except Exception as exc:  # the relay hands it over again later; subscribers are idempotent
            log.warning("order_event_mark_failed", outbox_ids=handed_over, error=str(exc)[:200])


async def _call(fn: Callable[[Any], Any], arg: Any, name: str, events: list[OrderEvent]) -> None:
    try:
        result = fn(arg)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        log.warning(
            "order_event_subscriber_failed",
            event_name=name,
            order_id=events[0].order_id if len(events) == 1 else None,
            order_ids=[event.order_id for event in events][:20] if len(events) > 1 else None,
            subscriber=getattr(fn, "__qualname__", repr(fn)),
            error=str(exc)[:200],
        )


MAX_HAND_OVER = 200  # events in one hand-over; more wait for the next


class _HandOver:
    """Events waiting for a hand-over in this event loop, and whether one is running (see the module docstring)."""

    def __init__(self) -> None:
        self.waiting: list[tuple[OrderEvent, asyncio.Future[None]]] = []
        self.running = False
        self.task: asyncio.Task[None] | None = None  # held: the loop keeps only a weak reference to a task


_hand_overs: dict[asyncio.AbstractEventLoop, _HandOver] = {}


async def hand_over(events: list[OrderEvent]) -> None:
    """Dispatch `events` with those of other payments that finish meanwhile; returns once they are handed over.

    The hand-over runs in its own task: a caller that gives up waiting (a cancelled request) does not cancel it,
    and a hand-over that fails is left to the relay like any other.
    """
    if not events:
        return
    loop = asyncio.get_running_loop()
    state = _hand_overs.get(loop)
    if state is None:
        for other in [known for known in _hand_overs if known.is_closed()]:
            del _hand_overs[other]  # loops that have ended (each `asyncio.run`, each test)
        state = _hand_overs[loop] = _HandOver()
    done = [loop.create_future() for _ in events]
    state.waiting.extend(zip(events, done, strict=True))
    if not state.running:
        state.running = True
        state.task = loop.create_task(_run_hand_overs(state))
    await asyncio.gather(*(asyncio.shield(future) for future in done))


async def _run_hand_overs(state: _HandOver) -> None:
    try:
        while state.waiting:
            batch, state.waiting = state.waiting[:MAX_HAND_OVER], state.waiting[MAX_HAND_OVER:]
            try:
                await dispatch([event for event, _ in batch])
            except Exception as exc:  # dispatch logs its subscribers' failures; this is the marker or a bug
                log.warning("order_event_hand_over_failed", events=len(batch), error=str(exc)[:200])
            finally:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
    finally:
        state.running = False
        # Only when cancelled (the app is stopping): the callers still waiting return; their rows go to the relay.
        stranded, state.waiting = state.waiting, []
        for _, future in stranded:
            if not future.done():
                future.set_result(None)
