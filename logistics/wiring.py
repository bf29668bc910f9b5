"""Background work started with the app: the periodic return of uncollected parcels (in-process)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar

from logistics.config import get_logistics_settings
from logistics.services.returns import return_uncollected

log = structlog.get_logger(__name__)


async def run_periodically(app: Litestar, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)  # first run after one interval: start-up stays quick
        try:
            async with app.state.session_factory() as session:
                result = await return_uncollected(session)
            if result.returned or result.refunds_notified:
                log.info("logistics_returns", returned=result.returned, refunds_notified=result.refunds_notified)
        except Exception:
            log.warning("logistics_returns_failed", exc_info=True)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    config = get_logistics_settings()
    settings = app.state.settings
    task = None
    if config.job_enabled and settings.app.inprocess_worker:
        task = asyncio.create_task(run_periodically(app, config.job_interval_seconds), name="logistics-returns")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
