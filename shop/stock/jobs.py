"""The stock-reservation expiry job (库存预留到期): unpaid orders past their 15 minutes are cancelled and their units
go back on sale.

It runs on the job runner (`shop.jobs`): inside the app process on the embedded default, or in `hub worker` when
`INPROCESS_WORKER=false`. Safe with several runners at once: each order is claimed with `FOR UPDATE SKIP LOCKED`
and re-checked under that lock, and cancelled in its own short transaction, so an order is released once and an
order that fails is logged and retried on the next round without holding up the others.
"""

from __future__ import annotations

from shop.jobs import JobContext, PeriodicJob
from shop.orders.services import OrderService

SWEEP_SECONDS = 20.0
BATCH = 200
MAX_BATCHES_PER_ROUND = 50  # a backlog (after downtime) drains in rounds without starving the other jobs


async def expire_reservations(ctx: JobContext) -> int:
    """Cancel every order due now, a batch at a time; the number cancelled."""
    total = 0
    for _ in range(MAX_BATCHES_PER_ROUND):
        async with ctx.session_factory() as session:
            expired, due = await OrderService(session).expire_due_counted(limit=BATCH)
        total += expired
        if due < BATCH:
            break
    return total


periodic_jobs = [PeriodicJob("reservation-expiry", SWEEP_SECONDS, expire_reservations)]
