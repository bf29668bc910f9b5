"""Paths through the network and the earliest ready time (earliest departure of each leg, plus its transit).

A parcel is at its workshop's county hub `handover_minutes` after payment, then takes the next departure of each
leg: [hub → buyer's hub] → station → pickup point. A weekday without a departure (say Saturday) waits for the next
day that has one.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.config import LOCAL_TZ, local
from logistics.models import OPEN_STATUSES, NetworkStamp, NodeKind, Shipment
from logistics.snapshot import STAMP_ROW, NodeView, Snapshot, held_snapshot, network_snapshot, snapshot_at_stamp
from shop import driver


@dataclass(frozen=True, slots=True)
class Leg:
    route_id: int
    origin_id: int
    destination_id: int
    transit_minutes: int
    departures: dict[int, tuple[int, ...]]  # weekday → sorted local minutes

    def next_departure(self, after: dt.datetime) -> dt.datetime | None:
        """The first departure at or after `after` (local timetable), looking at most a week ahead."""
        start = local(after)
        for offset in range(8):
            day = start.date() + dt.timedelta(days=offset)
            for minute in self.departures.get(day.weekday(), ()):
                departs = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), LOCAL_TZ)
                if departs >= start:
                    return departs.astimezone(dt.UTC)
        return None


@dataclass
class Network:
    """The nodes and active routes a question needs: points and stations (active or not), active hubs."""

    nodes: dict[int, NodeView] = field(default_factory=dict)
    legs: dict[tuple[int, int], Leg] = field(default_factory=dict)
    hub_by_county: dict[int, int] = field(default_factory=dict)

    def path(self, origin_hub_id: int, point_id: int) -> list[Leg] | None:
        point = self.nodes.get(point_id)
        station = self.nodes.get(point.parent_id or 0) if point else None
        dest_hub = self.nodes.get(station.parent_id or 0) if station else None
        if point is None or station is None or dest_hub is None:
            return None
        hops = [(dest_hub.id, station.id), (station.id, point.id)]
        if dest_hub.id != origin_hub_id:
            hops.insert(0, (origin_hub_id, dest_hub.id))
        legs = [self.legs.get(hop) for hop in hops]
        return None if any(leg is None for leg in legs) else legs  # type: ignore[return-value]

    def ready_at(self, origin_hub_id: int, point_id: int, at_hub: dt.datetime) -> dt.datetime | None:
        legs = self.path(origin_hub_id, point_id)
        if legs is None:
            return None
        moment = at_hub
        for leg in legs:
            departs = leg.next_departure(moment)
            if departs is None:
                return None
            moment = departs + dt.timedelta(minutes=leg.transit_minutes)
        return moment


@functools.lru_cache(maxsize=2)  # by identity: one copy is current at a time (two while it is replaced)
def network_of(snapshot: Snapshot) -> Network:
    """The routing view of a network copy (built once per copy: it is as immutable as the copy)."""
    return Network(
        nodes={n.id: n for n in snapshot.nodes.values() if n.kind is not NodeKind.HUB or n.is_active},
        legs={
            (r.origin_id, r.destination_id): Leg(r.id, r.origin_id, r.destination_id, r.transit_minutes, r.departures)
            for r in snapshot.routes
        },
        hub_by_county=dict(snapshot.hub_by_county),
    )


async def load_network(session: AsyncSession) -> Network:
    """The network as the session's transaction sees it (one small query while this process's copy is current)."""
    return network_of(await network_snapshot(session))


_OPEN = Shipment.status.in_(OPEN_STATUSES)
# Built once: constructing a statement (operators, coercions, its cache key) cost more CPU than running it.
_OPEN_PARCELS = (
    select(Shipment.pickup_point_id, func.count().label("parcels"))
    .where(Shipment.pickup_point_id.in_(bindparam("point_ids", expanding=True)), _OPEN)
    .group_by(Shipment.pickup_point_id)
)


_OPEN_PARCELS_BY_POINT = _OPEN_PARCELS.subquery()
# One row per point with open parcels (one row of NULLs when none has any), each carrying the network's stamp.
_STAMP_AND_OPEN_PARCELS = (
    select(NetworkStamp.stamp, _OPEN_PARCELS_BY_POINT.c.pickup_point_id, _OPEN_PARCELS_BY_POINT.c.parcels)
    .select_from(NetworkStamp)
    .outerjoin(_OPEN_PARCELS_BY_POINT, true())
    .where(NetworkStamp.id == STAMP_ROW)
)


# For a caller's own read (the checkout's read of its lines): a pickup point's load, bound by `pickup_point_id`, as a
# column (with `logistics.snapshot.STAMP_COLUMN`); `snapshot_and_loads` is the same read on its own.
POINT_LOAD_COLUMN = (
    select(func.count()).where(Shipment.pickup_point_id == bindparam("pickup_point_id"), _OPEN).scalar_subquery()
)


async def snapshot_and_loads(session: AsyncSession, point_ids: list[int]) -> tuple[Snapshot, dict[int, int]]:
    """The network copy and the parcels each point holds or expects, in one round trip while this process's copy
    is current (the stamp that says so is read with the loads)."""
    held = held_snapshot(session)
    if held is not None or not point_ids:
        return held or await network_snapshot(session), await open_parcels(session, point_ids)
    rows = await driver.fetch(
        await session.connection(), _STAMP_AND_OPEN_PARCELS, {"point_ids": point_ids}, begin=False
    )
    if not rows:  # a network never stamped (nothing written to it yet)
        return await network_snapshot(session), await open_parcels(session, point_ids)
    loads = {int(point_id): int(count) for _stamp, point_id, count in rows if point_id is not None}
    return await snapshot_at_stamp(session, rows[0][0]), loads


async def open_parcels(session: AsyncSession, point_ids: list[int]) -> dict[int, int]:
    """Parcels each point holds or expects (checked out, on the way, or waiting on its shelf)."""
    if not point_ids:
        return {}
    rows = await session.execute(_OPEN_PARCELS, {"point_ids": point_ids})
    return {point_id: count for point_id, count in rows}


def transit_days(now: dt.datetime, ready: dt.datetime) -> int:
    """Calendar days (Asia/Shanghai) from the order to the day the parcel is ready."""
    return (local(ready).date() - local(now).date()).days
