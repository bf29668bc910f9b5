"""Started with the app: the live figures instance and, in-process, the overdue-session sweeper."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar

from livestream.jobs import sweep_forever
from livestream.services.figures import LiveFigures
from livestream.services.leaderboards import LeaderboardService

log = structlog.get_logger(__name__)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    figures = LiveFigures.for_app(app)
    if app.state.redis is None:
        # The embedded default keeps figures in this process's memory: start from what the ledger says.
        try:
            async with app.state.session_factory() as session:
                await LeaderboardService(session, figures).rebuild()
        except Exception as exc:  # an unmigrated database must not stop the app from starting
            log.warning("live_leaderboard_rebuild_failed", error=str(exc)[:200])
    task = None
    if app.state.settings.app.inprocess_worker and app.state.settings.app.environment != "test":
        task = asyncio.create_task(sweep_forever(app.state.session_factory, figures))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await figures.close()
        app.state.live_figures = None
