"""Keep the index in step with the catalogue through the transactional outbox (topic ``search``).

Catalogue writes add an outbox row in their own transaction; this applies the rows after the commit. With the
embedded engine each app process owns its index, so the app applies rows past its own cursor (`LocalIndexer`).
With Meilisearch the index is shared: one worker claims rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), applies
them and marks them processed; a failure leaves them pending with the error, to be retried on the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from search.services import SearchService
from shop.db import utcnow
from shop.jobs import JobContext, PeriodicJob
from shop.outbox import SEARCH_TOPIC, OutboxEvent

log = structlog.get_logger(__name__)
BATCH = 500


async def latest_event_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0))) or 0)


async def apply_batch(
    service: SearchService, session: AsyncSession, *, after_id: int | None = None, claim: bool = False
) -> tuple[int, int]:
    """Apply up to BATCH search events (past `after_id`, or all unprocessed when claiming).

    Returns (events applied, id of the last one). Marks them processed in the same transaction as the claim.
    """
    query = select(OutboxEvent).where(OutboxEvent.topic == SEARCH_TOPIC).order_by(OutboxEvent.id).limit(BATCH)
    if after_id is not None:
        query = query.where(OutboxEvent.id > after_id)
    else:
        query = query.where(OutboxEvent.processed_at.is_(None))
    if claim:
        query = query.with_for_update(skip_locked=True)
    events = list(await session.scalars(query))
    if not events:
        await session.rollback()
        return 0, after_id or 0
    products = {e.entity_id for e in events if e.entity == "product"}
    workshops = {e.entity_id for e in events if e.entity == "workshop"}
    ids = [e.id for e in events]
    try:
        await service.apply_changes(session, products, workshops)
    except Exception as exc:
        log.warning("search.outbox_apply_failed", events=len(ids), error=str(exc)[:200])
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))
            .values(attempts=OutboxEvent.attempts + 1, last_error=str(exc)[:500])
        )
        await session.commit()
        raise
    await session.execute(
        update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(processed_at=utcnow(), last_error=None)
    )
    await session.commit()
    return len(ids), ids[-1]


class LocalIndexer:
    """Applies new search events to this process's embedded index, from a cursor taken before the warm-up."""

    def __init__(self, service: SearchService, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.service = service
        self.session_factory = session_factory
        self.cursor = 0
        self.wakeup = asyncio.Event()

    async def start_cursor(self) -> None:
        async with self.session_factory() as session:
            self.cursor = await latest_event_id(session)

    async def drain(self) -> int:
        total = 0
        while True:
            async with self.session_factory() as session:
                applied, last = await apply_batch(self.service, session, after_id=self.cursor)
            if not applied:
                return total
            self.cursor, total = last, total + applied

    async def run(self, interval: float = 0.5) -> None:
        while True:
            try:
                await self.drain()
            except Exception:
                await asyncio.sleep(2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=interval)
            self.wakeup.clear()


def _service(ctx: JobContext) -> SearchService:
    service: Any = getattr(ctx.state, "search", None)
    if service is None:
        service = SearchService.from_settings(ctx.settings, ctx.session_factory)
        ctx.state.search = service
    return service  # type: ignore[no-any-return]


async def apply_shared_index(ctx: JobContext) -> None:
    """The worker's job for a shared (Meilisearch) index; the embedded engine is kept by `LocalIndexer`."""
    if ctx.settings.search.backend != "meilisearch":
        return
    service = _service(ctx)
    while True:
        async with ctx.session_factory() as session:
            applied, _ = await apply_batch(service, session, claim=True)
        if applied < BATCH:
            return


periodic_jobs = [PeriodicJob("search-outbox", 1.0, apply_shared_index)]
