"""Background jobs: periodic tasks each context registers (outbox indexing, reservation expiry, parcel returns).

On the embedded default they run inside the app process; in production (`APP_INPROCESS_WORKER=false`) the
`hub worker` process runs them, so several app processes never run the same job twice at once. Each job is
idempotent and claims its rows with row locks, so a retried or concurrent run applies a change once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    state: Any  # the app state when in-process, a namespace in `hub worker`


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[JobContext], Awaitable[Any]]


# Modules that define `periodic_jobs: list[PeriodicJob]`.
JOB_MODULES: list[str] = ["search.jobs", "shop.stock.jobs", "shop.orders.jobs"]


def all_jobs() -> list[PeriodicJob]:
    jobs: list[PeriodicJob] = []
    for name in JOB_MODULES:
        jobs.extend(importlib.import_module(name).periodic_jobs)
    return jobs


async def _loop(job: PeriodicJob, ctx: JobContext, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await job.run(ctx)
        except Exception:
            log.exception("job_failed", job=job.name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=job.every_seconds)


@contextlib.asynccontextmanager
async def run_periodic(ctx: JobContext, jobs: list[PeriodicJob] | None = None) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_loop(job, ctx, stop), name=f"job:{job.name}") for job in jobs or all_jobs()]
    try:
        yield
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10)
