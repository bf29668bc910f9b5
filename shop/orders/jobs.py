"""The order-event relay (订单事件补发): hands over again an order event whose hand-over never happened.

An order event is recorded in the order's own transaction and handed to the subscribers (logistics shipments, live
figures) right after the commit. If the process dies between the two, the row stays unprocessed; this job finds
rows older than `RELAY_AFTER` and dispatches them again. Subscribers are idempotent, so a row handed over twice
(two runners, or a hand-over that finished just as the relay read it) has one effect.

No lock is held while subscribers run: on SQLite they need the database's write lock themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop import driver
from shop.db import utcnow
from shop.jobs import JobContext, PeriodicJob
from shop.orders import events
from shop.outbox import OutboxEvent

RELAY_AFTER = dt.timedelta(minutes=2)  # well past a normal hand-over, which follows the commit within seconds
RELAY_SECONDS = 30.0
BATCH = 100


_MARK_PROCESSED = (  # built once: building a statement cost more CPU than running it
    update(OutboxEvent)
    .where(OutboxEvent.id.in_(bindparam("ids", expanding=True)), OutboxEvent.processed_at.is_(None))
    .values(processed_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)


def processed_marker(session_factory: async_sessionmaker[AsyncSession]) -> Callable[[list[int]], Awaitable[None]]:
    async def mark(outbox_ids: list[int]) -> None:
        async with session_factory() as session:
            if session.get_bind().dialect.name == "postgresql":
                # One statement is its own transaction: without BEGIN and COMMIT it is one round trip, not three.
                conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                await driver.fetch(conn, _MARK_PROCESSED, {"ids": outbox_ids, "at": utcnow()})
                return
            await session.execute(_MARK_PROCESSED, {"ids": outbox_ids, "at": utcnow()})
            await session.commit()

    return mark


async def relay_order_events(
    session_factory: async_sessionmaker[AsyncSession], *, now: dt.datetime | None = None
) -> int:
    """Dispatch the order events left unprocessed past `RELAY_AFTER`; the number handed over."""
    cutoff = (now or utcnow()) - RELAY_AFTER
    total = 0
    while True:
        async with session_factory() as session:
            rows = list(
                await session.scalars(
                    select(OutboxEvent)
                    .where(
                        OutboxEvent.topic == events.ORDERS_TOPIC,
                        OutboxEvent.processed_at.is_(None),
                        OutboxEvent.created_at < cutoff,
                    )
                    .order_by(OutboxEvent.id)
                    .limit(BATCH)
                )
            )
            await session.commit()  # not a rollback: that would expire the rows this job is about to read
        if not rows:
            return total
        await events.dispatch([events.from_outbox(row) for row in rows])
        # Marked here too: dispatch marks only through the app's marker, which a bare runner may not have.
        await processed_marker(session_factory)([row.id for row in rows])
        total += len(rows)
        if len(rows) < BATCH:
            return total


async def _relay(ctx: JobContext) -> int:
    return await relay_order_events(ctx.session_factory)


periodic_jobs = [PeriodicJob("order-event-relay", RELAY_SECONDS, _relay)]
