"""Reservation expiry with the app: `sweep_once` for an app's own session factory.

The periodic run itself is the job `reservation-expiry` (`shop.stock.jobs`) on the job runner — in the app process
on the embedded default, in `hub worker` when INPROCESS_WORKER=false — so it is never run twice by one process and
a separate worker takes it over with the other jobs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from shop.orders.services import OrderService
from shop.stock.jobs import SWEEP_SECONDS

__all__ = ["SWEEP_SECONDS", "lifespan", "sweep_once"]


async def sweep_once(app: Litestar) -> int:
    async with app.state.session_factory() as session:
        return await OrderService(session).expire_due()


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    yield  # nothing to start: the job runner runs the expiry (see the module docstring)
