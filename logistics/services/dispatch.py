"""Daily dispatch: plan a day's batches per route departure with set-based SQL, and confirm arrivals.

Planning takes every leg whose parcel is at the leg's origin (`available_min` set, still pending) and puts it on
the earliest departure of its route that day at or after that time. A planned leg makes the next leg available
at its arrival, so a parcel reaching a station in the morning can leave on the afternoon run the same day; a few
passes (one per network level) settle that. No Python loop over parcels: each pass is four statements.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, and_, exists, func, insert, literal, select, text, update
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
    ShipmentEvent,
    ShipmentLeg,
    ShipmentStatus,
)
from logistics.schemas import BatchOut, DispatchSummary

MAX_PASSES = 4  # hub → hub → station → point is three legs; one more pass finds nothing and stops

L = ShipmentLeg.__table__
B = DispatchBatch.__table__
D = RouteDeparture.__table__
R = Route.__table__
S = Shipment.__table__


def _ready_legs(day: dt.date, day_start: Any) -> Any:
    """Subquery (leg_id, route_id, minute): each ready leg and its earliest departure minute on `day`."""
    leg = L.alias("ready_leg")
    first_departure = (
        select(func.min(D.c.minute))
        .where(D.c.route_id == leg.c.route_id, D.c.weekday == day.weekday(),
               D.c.minute + day_start >= leg.c.available_min)
        .scalar_subquery()
    )
    candidates = (
        select(leg.c.id.label("leg_id"), leg.c.route_id, first_departure.label("minute"))
        .join(R, and_(R.c.id == leg.c.route_id, R.c.is_active.is_(True)))
        .where(leg.c.status == LegStatus.PENDING.value, leg.c.available_min.is_not(None),
               leg.c.available_min <= day_start + 1439)
        .subquery("candidates")
    )
    return select(candidates).where(candidates.c.minute.is_not(None)).subquery("ready")


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
        ready = _ready_legs(day, day_start)
        await session.execute(insert(B).from_select(
            ["route_id", "service_date", "minute", "departs_min", "arrives_min", "status", "parcel_count", "weight_g"],
            select(ready.c.route_id, literal(day), ready.c.minute, ready.c.minute + day_start,
                   ready.c.minute + day_start + R.c.transit_minutes, literal(BatchStatus.PLANNED.value),
                   literal(0), literal(0))
            .join(R, R.c.id == ready.c.route_id)
            .where(~exists().where(B.c.route_id == ready.c.route_id, B.c.service_date == day,
                                   B.c.minute == ready.c.minute))
            .distinct(),
        ))
        ready = _ready_legs(day, day_start)
        result = await session.execute(
            update(L)
            .values(status=LegStatus.PLANNED.value, batch_id=B.c.id, departs_min=B.c.departs_min,
                    arrives_min=B.c.arrives_min, run_id=run.id)
            .where(L.c.id == ready.c.leg_id, B.c.route_id == ready.c.route_id, B.c.service_date == day,
                   B.c.minute == ready.c.minute)
        )
        count = result.rowcount or 0  # type: ignore[attr-defined]
        if count == 0:
            break
        planned += count
        prev = L.alias("prev")
        await session.execute(
            update(L).values(available_min=prev.c.arrives_min)
            .where(prev.c.shipment_id == L.c.shipment_id, prev.c.seq == L.c.seq - 1, prev.c.run_id == run.id,
                   L.c.available_min.is_(None), L.c.status == LegStatus.PENDING.value)
        )
    if planned:
        await _record_run(session, run.id, day, now)
    run.legs_planned = planned
    run.batches = await session.scalar(
        select(func.count(func.distinct(L.c.batch_id))).where(L.c.run_id == run.id)) or 0
    run.elapsed_ms = int((time.perf_counter() - started) * 1000)
    await session.commit()
    return DispatchSummary(run.id, day, planned, run.batches, run.elapsed_ms)


async def _record_run(session: AsyncSession, run_id: int, day: dt.date, now: dt.datetime) -> None:
    """Timeline lines, shipment status and batch totals for everything this run planned (set-based)."""
    E = ShipmentEvent.__table__
    await session.execute(insert(E).from_select(
        ["shipment_id", "at", "kind", "node_id", "batch_id", "note"],
        select(L.c.shipment_id, literal(now, DateTimeUTC(timezone=True)), literal("dispatched"), R.c.origin_id,
               L.c.batch_id, literal(""))
        .join(R, R.c.id == L.c.route_id).where(L.c.run_id == run_id),
    ))
    await session.execute(
        update(S).values(status=ShipmentStatus.IN_TRANSIT.value)
        .where(S.c.status == ShipmentStatus.CREATED.value,
               S.c.id.in_(select(L.c.shipment_id).where(L.c.run_id == run_id, L.c.seq == 0)))
    )
    counted = L.alias("counted")
    weighed = S.alias("weighed")
    await session.execute(
        update(B).values(
            parcel_count=select(func.count()).where(counted.c.batch_id == B.c.id).scalar_subquery(),
            weight_g=select(func.coalesce(func.sum(weighed.c.weight_g), 0))
            .select_from(counted.join(weighed, weighed.c.id == counted.c.shipment_id))
            .where(counted.c.batch_id == B.c.id).scalar_subquery(),
        ).where(B.c.service_date == day, B.c.id.in_(select(L.c.batch_id).where(L.c.run_id == run_id)))
    )


async def list_batches(session: AsyncSession, day: dt.date, destination_id: int | None = None) -> list[BatchOut]:
    origin = LogisticsNode.__table__.alias("origin")
    dest = LogisticsNode.__table__.alias("dest")
    query = (
        select(B, R.c.name.label("route_name"), origin.c.name.label("origin"), dest.c.name.label("destination"))
        .join(R, R.c.id == B.c.route_id).join(origin, origin.c.id == R.c.origin_id)
        .join(dest, dest.c.id == R.c.destination_id)
        .where(B.c.service_date == day).order_by(B.c.minute, B.c.id)
    )
    if destination_id is not None:
        query = query.where(R.c.destination_id == destination_id)
    rows = (await session.execute(query)).mappings().all()
    return [BatchOut(r["id"], r["route_id"], r["route_name"], r["origin"], r["destination"], r["service_date"],
                     from_epoch_minutes(r["departs_min"]), from_epoch_minutes(r["arrives_min"]), r["status"],
                     r["parcel_count"], r["weight_g"]) for r in rows]
