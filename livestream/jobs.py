"""Background jobs: end sessions left on air well past their booked end (a forgotten "end" button)."""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from livestream.services.broadcast import BroadcastService
from livestream.services.figures import LiveFigures
from shop.errors import DomainError

log = structlog.get_logger(__name__)

OVERDUE_GRACE = dt.timedelta(minutes=30)
SWEEP_INTERVAL_SECONDS = 60.0


async def end_overdue(
    factory: async_sessionmaker[AsyncSession], figures: LiveFigures, now: dt.datetime | None = None
) -> list[int]:
    """End every live session more than 30 minutes past its booked end; return their ids."""
    async with factory() as session:
        ids = await BroadcastService(session, figures, now).overdue(OVERDUE_GRACE)
        await session.rollback()
    ended = []
    for session_id in ids:
        async with factory() as session:
            try:
                await BroadcastService(session, figures, now).end(None, session_id)
                ended.append(session_id)
            except DomainError:  # ended by its streamer meanwhile
                await session.rollback()
    if ended:
        log.info("live_sessions_ended_overdue", session_ids=ended)
    return ended


async def sweep_forever(factory: async_sessionmaker[AsyncSession], figures: LiveFigures) -> None:
    while True:
        await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
        try:
            await end_overdue(factory, figures)
        except Exception as exc:  # the sweeper must outlive a database hiccup
            log.warning("live_sweep_failed", error=str(exc)[:200])
