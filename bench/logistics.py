"""Dispatch benchmark: plan one day's batches for 100,000 shipments over 10 counties, 100 townships and 2,000
pickup points. `python -m bench.logistics [--backend postgresql|sqlite|both] [--shipments N]`.

Builds its own throwaway database (PostgreSQL: `hub_bench_logistics` on TEST_PG_DSN's server; SQLite: a temp
file), loads the network and the parcels with bulk inserts (not timed), then times `plan_day` — the set-based
planner the CLI (`hub logistics dispatch`) and the API call. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.models import OperatorKind, Region, RegionLevel, Workshop, WorkshopType
from logistics.config import epoch_minutes, local_day_start
from logistics.models import (
    DispatchBatch,
    LogisticsNode,
    Route,
    RouteDeparture,
    Shipment,
    ShipmentLeg,
)
from logistics.services.dispatch import plan_day
from shop.cli import migrate_to
from shop.db import create_engine, create_session_factory
from shop.settings import DatabaseSettings
from shop.threads import run_in_thread

COUNTIES, TOWNSHIPS_PER_COUNTY, POINTS_PER_TOWNSHIP, WORKSHOPS_PER_COUNTY = 10, 10, 20, 10
DAY = dt.date(2026, 11, 26)  # a Thursday
CHUNK = 5_000


_in_thread = run_in_thread


async def _bulk(engine: AsyncEngine, table: Any, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await conn.execute(insert(table), rows[start : start + CHUNK])


async def load(engine: AsyncEngine, shipments: int, seed: int = 7) -> dict[str, int]:
    """The network and `shipments` parcels ready at their county hubs between Wednesday noon and Thursday noon."""
    rnd = random.Random(seed)
    regions, nodes, routes, departures, workshops = [], [], [], [], []
    rid = nid = route_id = 0
    hubs, stations, points = [], [], []  # (node id, ...)
    station_of: dict[int, int] = {}
    hub_of_station: dict[int, int] = {}
    hub_by_county: dict[int, int] = {}
    route_ids: dict[tuple[int, int], int] = {}

    def add_route(origin: int, dest: int, transit: int, weekdays: range, minutes: list[int]) -> None:
        nonlocal route_id
        route_id += 1
        routes.append(
            {
                "id": route_id,
                "origin_id": origin,
                "destination_id": dest,
                "transit_minutes": transit,
                "name": f"{origin}→{dest}",
                "is_active": True,
            }
        )
        route_ids[(origin, dest)] = route_id
        departures.extend({"route_id": route_id, "weekday": wd, "minute": m} for wd in weekdays for m in minutes)

    village_ids = []
    for c in range(COUNTIES):
        rid += 1
        county_id = rid
        regions.append(
            {
                "id": county_id,
                "level": RegionLevel.COUNTY.value,
                "name": f"县{c}",
                "parent_id": None,
                "county_id": county_id,
                "township_id": None,
            }
        )
        nid += 1
        hubs.append(nid)
        hub_by_county[county_id] = nid
        nodes.append(
            {
                "id": nid,
                "kind": "hub",
                "code": f"H{c}",
                "name": f"县{c}物流中心",
                "region_id": county_id,
                "parent_id": None,
                "capacity": 0,
            }
        )
        for t in range(TOWNSHIPS_PER_COUNTY):
            rid += 1
            township_id = rid
            regions.append(
                {
                    "id": township_id,
                    "level": RegionLevel.TOWNSHIP.value,
                    "name": f"镇{c}-{t}",
                    "parent_id": county_id,
                    "county_id": county_id,
                    "township_id": None,
                }
            )
            nid += 1
            station = nid
            stations.append(station)
            hub_of_station[station] = hub_by_county[county_id]
            nodes.append(
                {
                    "id": station,
                    "kind": "station",
                    "code": f"S{c}-{t}",
                    "name": f"镇{c}-{t}站",
                    "region_id": township_id,
                    "parent_id": hub_by_county[county_id],
                    "capacity": 0,
                }
            )
            add_route(hub_by_county[county_id], station, 90, range(6), [8 * 60, 13 * 60])
            for v in range(POINTS_PER_TOWNSHIP):
                rid += 1
                regions.append(
                    {
                        "id": rid,
                        "level": RegionLevel.VILLAGE.value,
                        "name": f"村{c}-{t}-{v}",
                        "parent_id": township_id,
                        "county_id": county_id,
                        "township_id": township_id,
                    }
                )
                village_ids.append(rid)
                nid += 1
                points.append(nid)
                station_of[nid] = station
                nodes.append(
                    {
                        "id": nid,
                        "kind": "point",
                        "code": f"P{c}-{t}-{v}",
                        "name": f"村{c}-{t}-{v}服务点",
                        "region_id": rid,
                        "parent_id": station,
                        "capacity": 500,
                        "point_kind": "service_point",
                    }
                )
                add_route(station, nid, 60, range(5), [15 * 60])
    for a in hubs:
        for b in hubs:
            if a != b:
                add_route(a, b, 180, range(5), [6 * 60])
    wid = 0
    for county_id, _hub in hub_by_county.items():
        for _ in range(WORKSHOPS_PER_COUNTY):
            wid += 1
            workshops.append(
                {
                    "id": wid,
                    "name": f"工坊{wid}",
                    "village_id": rnd.choice(village_ids),
                    "county_id": county_id,
                    "workshop_type": WorkshopType.MATERIAL_PROCESSING.value,
                    "operator_kind": OperatorKind.VILLAGE_COMPANY.value,
                    "operator_name": "强村公司",
                    "benefit_models": [],
                    "service_fee_bp": 500,
                    "is_active": True,
                }
            )
    workshop_hub = {w["id"]: hub_by_county[w["county_id"]] for w in workshops}
    window_start = epoch_minutes(local_day_start(DAY)) - 12 * 60
    ship_rows, leg_rows = [], []
    leg_id = 0
    for sid in range(1, shipments + 1):
        w = rnd.randint(1, wid)
        point = rnd.choice(points)
        station = station_of[point]
        origin, dest_hub = workshop_hub[w], hub_of_station[station]
        path = [(dest_hub, station), (station, point)]
        if origin != dest_hub:
            path.insert(0, (origin, dest_hub))
        ship_rows.append(
            {
                "id": sid,
                "order_id": sid,
                "workshop_id": w,
                "mode": "pickup",
                "status": "created",
                "origin_hub_id": origin,
                "pickup_point_id": point,
                "weight_g": rnd.randint(200, 5000),
                "shipping_fen": 0,
                "wrong_code_attempts": 0,
                "locked": False,
            }
        )
        ready = window_start + rnd.randint(0, 24 * 60)
        for seq, hop in enumerate(path):
            leg_id += 1
            leg_rows.append(
                {
                    "id": leg_id,
                    "shipment_id": sid,
                    "seq": seq,
                    "route_id": route_ids[hop],
                    "status": "pending",
                    "available_min": ready if seq == 0 else None,
                }
            )
    for table, rows in (
        (Region.__table__, regions),
        (LogisticsNode.__table__, nodes),
        (Route.__table__, routes),
        (RouteDeparture.__table__, departures),
        (Workshop.__table__, workshops),
        (Shipment.__table__, ship_rows),
        (ShipmentLeg.__table__, leg_rows),
    ):
        await _bulk(engine, table, rows)
    return {
        "counties": COUNTIES,
        "townships": len(stations),
        "pickup_points": len(points),
        "routes": len(routes),
        "shipments": shipments,
        "legs": len(leg_rows),
    }


async def run(backend: str, shipments: int) -> dict[str, Any]:
    if backend == "postgresql":
        from tests.pg import create_database, drop_database

        name = "hub_bench_logistics"
        drop_database(name)
        url = create_database(name)
    else:
        path = Path(tempfile.mkdtemp()) / "bench_logistics.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
    _in_thread(migrate_to, "head", url)
    engine = create_engine(DatabaseSettings.model_validate({"DATABASE_URL": url}), null_pool=True)
    try:
        started = time.perf_counter()
        sizes = await load(engine, shipments)
        load_s = time.perf_counter() - started
        if backend == "postgresql":
            async with engine.connect() as conn:
                await conn.exec_driver_sql("ANALYZE")
        factory = create_session_factory(engine)
        async with factory() as session:
            started = time.perf_counter()
            summary = await plan_day(session, DAY)
            plan_s = time.perf_counter() - started
        async with factory() as session:
            parcels = await session.scalar(select(func.coalesce(func.sum(DispatchBatch.parcel_count), 0)))
            first_legs = await session.scalar(
                select(func.count())
                .select_from(ShipmentLeg)
                .where(ShipmentLeg.seq == 0, ShipmentLeg.status == "planned")
            )
    finally:
        await engine.dispose()
        if backend == "postgresql":
            drop_database("hub_bench_logistics")
    return {
        "backend": backend,
        **sizes,
        "load_s": round(load_s, 2),
        "plan_s": round(plan_s, 3),
        "legs_planned": summary.legs_planned,
        "batches": summary.batches,
        "parcels_in_batches": parcels,
        "shipments_moving": first_legs,
        "target_s": 10.0,
        "ok": plan_s <= 10.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--shipments", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("APP_ENV", "test")
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    results = [asyncio.run(run(b, args.shipments)) for b in backends]
    print(
        f"{'backend':<11} {'shipments':>9} {'legs':>7} {'points':>6} {'load s':>7} {'plan s':>7} "
        f"{'legs planned':>12} {'batches':>7} {'ok':>3}"
    )
    for r in results:
        print(
            f"{r['backend']:<11} {r['shipments']:>9} {r['legs']:>7} {r['pickup_points']:>6} {r['load_s']:>7} "
            f"{r['plan_s']:>7} {r['legs_planned']:>12} {r['batches']:>7} {'yes' if r['ok'] else 'NO':>3}"
        )
    print(json.dumps({"bench": "logistics.dispatch", "results": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
