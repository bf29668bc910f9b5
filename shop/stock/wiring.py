"""Started with the app: the in-process worker that releases expired reservations (embedded default).

With several app processes each runs it; that is safe because each order is cancelled under its row lock and
re-checked. Disable with INPROCESS_WORKER=false when a separate worker runs `hub shop expire`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar

from shop.orders.services import OrderService

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 20.0


async def sweep_once(app: Litestar) -> int:
    async with app.state.session_factory() as session:
        return await OrderService(session).expire_due()


async def _run(app: Litestar, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await sweep_once(app)
        except Exception as exc:
            log.warning("reservation_sweep_failed", error=str(exc)[:200])


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    task = None
    if app.state.settings.app.inprocess_worker:
        task = asyncio.create_task(_run(app, SWEEP_SECONDS), name="reservation-sweeper")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
