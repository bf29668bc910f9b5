"""Daily dispatch: plan a day's batches per route departure with set-based SQL, and confirm arrivals.

Planning takes every leg whose parcel is at the leg's origin (the first leg from `available_min`, a later leg from
its previous leg's arrival) and puts it on
the earliest departure of its route that day at or after that time. A planned leg makes the next leg available
at its arrival, so a parcel reaching a station in the morning can leave on the afternoon run the same day; a few
passes (one per network level) settle that. No Python loop over parcels: each pass is three statements.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    SmallInteger,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.config import epoch_minutes, from_epoch_minutes, local_day_start, utc_now
from logistics.models import (
    BatchStatus,
    DispatchBatch,
    DispatchRun,
    LegStatus,
    LogisticsNode,
    Route,
    RouteDeparture,
    Shipment,
    ShipmentLeg,
)
from logistics.schemas import BatchOut, DispatchSummary

MAX_PASSES = 4  # hub → hub → station → point is three legs; one more pass finds nothing and stops

L: Table = ShipmentLeg.__table__  # type: ignore[assignment]
B: Table = DispatchBatch.__table__  # type: ignore[assignment]
D: Table = RouteDeparture.__table__  # type: ignore[assignment]
R: Table = Route.__table__  # type: ignore[assignment]
S: Table = Shipment.__table__  # type: ignore[assignment]


async def plan_day(session: AsyncSession, day: dt.date, now: dt.datetime | None = None) -> DispatchSummary:
    """Plan `day`'s batches (Asia/Shanghai); idempotent: a second run adds only parcels that became ready since."""
    started = time.perf_counter()
    now = now or utc_now()
    if session.bind.dialect.name == "postgresql":
        # One planner per database at a time; SQLite is already serialised by BEGIN IMMEDIATE.
        await session.execute(text("SELECT pg_advisory_xact_lock(730001)"))
    run = DispatchRun(service_date=day, started_at=now)
    session.add(run)
    await session.flush()
    # A BIGINT literal: minute columns are SMALLINT, and PostgreSQL would type the sum after them.
    day_start = literal(epoch_minutes(local_day_start(day)), BigInteger())
    planned = 0
    for _ in range(MAX_PASSES):
        count = await _plan_pass(session, run.id, day, day_start)
        if count == 0:
            break
        planned += count
    await session.run_sync(lambda s: _plan.drop(s.connection(), checkfirst=True))
    if planned:
        await _record_run(session, run.id, day)
    run.legs_planned = planned
    run.batches = await session.scalar(select(func.count(func.distinct(L.c.batch_id))).where(L.c.run_id == run.id)) or 0
    run.elapsed_ms = int((time.perf_counter() - started) * 1000)
    await session.commit()
    return DispatchSummary(run.id, day, planned, run.batches, run.elapsed_ms)


# Per-pass scratch table: the ready legs and their chosen departure. Built by one grouped join, so the planner
# sees real row counts (PostgreSQL ANALYZEs it) instead of guessing from statistics taken before the run.
_plan = Table(
    "logistics_plan_scratch",
    MetaData(),
    Column("leg_id", BigInteger, primary_key=True),
    Column("shipment_id", BigInteger),
    Column("seq", SmallInteger),
    Column("route_id", BigInteger),
    Column("minute", SmallInteger),
    prefixes=["TEMPORARY"],
)


async def _plan_pass(session: AsyncSession, run_id: int, day: dt.date, day_start: Any) -> int:
    """One level of the network: ready legs take their departure, batches appear, next legs become ready."""
    postgres = session.bind.dialect.name == "postgresql"
    await session.run_sync(lambda s: _plan.create(s.connection(), checkfirst=True))
    await session.execute(delete(_plan))
    # 1. each ready leg (the first leg once the parcel is at its hub; a later leg once the previous one is
    #    planned, at its arrival) and the earliest departure of its route that day at or after that time
    prev = L.alias("prev")
    ready_at = case((L.c.seq == 0, L.c.available_min), else_=prev.c.arrives_min)
    await session.execute(
        insert(_plan).from_select(
            ["leg_id", "shipment_id", "seq", "route_id", "minute"],
            select(L.c.id, L.c.shipment_id, L.c.seq, L.c.route_id, func.min(D.c.minute))
            .outerjoin(prev, and_(prev.c.shipment_id == L.c.shipment_id, prev.c.seq == L.c.seq - 1))
            .join(R, and_(R.c.id == L.c.route_id, R.c.is_active.is_(True)))
            .join(
                D, and_(D.c.route_id == L.c.route_id, D.c.weekday == day.weekday(), D.c.minute + day_start >= ready_at)
            )
            .where(L.c.status == LegStatus.PENDING.value, ready_at.is_not(None), ready_at <= day_start + 1439)
            .group_by(L.c.id, L.c.shipment_id, L.c.seq, L.c.route_id),
        )
    )
    count = await session.scalar(select(func.count()).select_from(_plan)) or 0
    if count == 0:
        return 0
    if postgres:
        await session.execute(text("ANALYZE logistics_plan_scratch"))
    # 2. one batch per (route, departure) that has parcels and no batch yet
    fresh = select(_plan.c.route_id, _plan.c.minute).distinct().subquery("fresh")
    await session.execute(
        insert(B).from_select(
            ["route_id", "service_date", "minute", "departs_min", "arrives_min", "status", "parcel_count", "weight_g"],
            select(
                fresh.c.route_id,
                literal(day),
                fresh.c.minute,
                fresh.c.minute + day_start,
                fresh.c.minute + day_start + R.c.transit_minutes,
                literal(BatchStatus.PLANNED.value),
                literal(0),
                literal(0),
            )
            .join(R, R.c.id == fresh.c.route_id)
            .where(
                ~exists().where(B.c.route_id == fresh.c.route_id, B.c.service_date == day, B.c.minute == fresh.c.minute)
            ),
        )
    )
    # 3. the legs join their batch
    await session.execute(
        update(L)
        .values(
            status=LegStatus.PLANNED.value,
            batch_id=B.c.id,
            departs_min=B.c.departs_min,
            arrives_min=B.c.arrives_min,
            run_id=run_id,
        )
        .where(
            L.c.id == _plan.c.leg_id,
            B.c.route_id == _plan.c.route_id,
            B.c.service_date == day,
            B.c.minute == _plan.c.minute,
        )
    )
    return count


async def _record_run(session: AsyncSession, run_id: int, day: dt.date) -> None:
    """Batch totals for everything this run planned, in one grouped statement. The buyer's timeline reads the
    planned legs themselves, and a parcel turns in_transit when its first batch is confirmed, so planning touches
    no shipment or event rows."""
    totals = (
        select(L.c.batch_id, func.count().label("n"), func.coalesce(func.sum(S.c.weight_g), 0).label("grams"))
        .join(S, S.c.id == L.c.shipment_id)
        .where(L.c.run_id == run_id)
        .group_by(L.c.batch_id)
        .subquery("totals")
    )
    await session.execute(
        update(B)
        .values(parcel_count=B.c.parcel_count + totals.c.n, weight_g=B.c.weight_g + totals.c.grams)
        .where(B.c.id == totals.c.batch_id)
    )


async def list_batches(session: AsyncSession, day: dt.date, destination_id: int | None = None) -> list[BatchOut]:
    origin = LogisticsNode.__table__.alias("origin")
    dest = LogisticsNode.__table__.alias("dest")
    query = (
        select(B, R.c.name.label("route_name"), origin.c.name.label("origin"), dest.c.name.label("destination"))
        .join(R, R.c.id == B.c.route_id)
        .join(origin, origin.c.id == R.c.origin_id)
        .join(dest, dest.c.id == R.c.destination_id)
        .where(B.c.service_date == day)
        .order_by(B.c.minute, B.c.id)
    )
    if destination_id is not None:
        query = query.where(R.c.destination_id == destination_id)
    rows = (await session.execute(query)).mappings().all()
    return [
        BatchOut(
            r["id"],
            r["route_id"],
            r["route_name"],
            r["origin"],
            r["destination"],
            r["service_date"],
            from_epoch_minutes(r["departs_min"]),
            from_epoch_minutes(r["arrives_min"]),
            r["status"],
            r["parcel_count"],
            r["weight_g"],
        )
        for r in rows
    ]
