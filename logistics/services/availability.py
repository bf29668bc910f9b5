"""Paths through the network and the earliest ready time (earliest departure of each leg, plus its transit).

A parcel is at its workshop's county hub `handover_minutes` after payment, then takes the next departure of each
leg: [hub → buyer's hub] → station → pickup point. A weekday without a departure (say Saturday) waits for the next
day that has one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.config import LOCAL_TZ, local
from logistics.models import OPEN_STATUSES, LogisticsNode, NodeKind, Route, RouteDeparture, Shipment


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
    """The nodes and active routes needed to answer one question, loaded in a few queries."""

    nodes: dict[int, LogisticsNode] = field(default_factory=dict)
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


async def load_network(session: AsyncSession, point_ids: list[int], county_ids: set[int]) -> Network:
    """Points, their stations and hubs, the origin hubs of `county_ids`, and the active routes between them.

    Two queries, remembered for the rest of the session's transaction: a payment quotes the delivery and then plans
    its shipments over the same network, and re-reading it was a third of the statements of a paid checkout.
    """
    key = (tuple(sorted(point_ids)), tuple(sorted(county_ids)))
    remembered = _transaction_memo(session).get(key)
    if remembered is not None:
        return remembered
    net = Network()
    station_ids = select(LogisticsNode.parent_id).where(LogisticsNode.id.in_(point_ids)).scalar_subquery()
    hub_ids = select(LogisticsNode.parent_id).where(LogisticsNode.id.in_(station_ids)).scalar_subquery()
    nodes = list(
        await session.scalars(
            select(LogisticsNode).where(
                or_(
                    LogisticsNode.id.in_(point_ids),
                    LogisticsNode.id.in_(station_ids),
                    and_(
                        LogisticsNode.kind == NodeKind.HUB,
                        LogisticsNode.is_active.is_(True),
                        or_(LogisticsNode.id.in_(hub_ids), LogisticsNode.region_id.in_(county_ids)),
                    ),
                )
            )
        )
    )
    by_id = {node.id: node for node in nodes}
    points = [by_id[i] for i in dict.fromkeys(point_ids) if i in by_id]
    stations = [by_id[i] for i in dict.fromkeys(p.parent_id for p in points if p.parent_id) if i in by_id]
    parent_hubs = {s.parent_id for s in stations if s.parent_id}
    hubs = [
        n
        for n in nodes
        if n.kind is NodeKind.HUB and n.is_active and (n.id in parent_hubs or n.region_id in county_ids)
    ]
    for node in (*points, *stations, *hubs):
        net.nodes[node.id] = node
    for hub in sorted(hubs, key=lambda h: h.id):
        net.hub_by_county.setdefault(hub.region_id, hub.id)
    destinations = [n.id for n in (*points, *stations, *hubs)]
    rows = await session.execute(
        select(Route, RouteDeparture.weekday, RouteDeparture.minute)
        .outerjoin(RouteDeparture, RouteDeparture.route_id == Route.id)
        .where(Route.destination_id.in_(destinations), Route.is_active.is_(True))
    )
    routes: dict[int, Route] = {}
    departures: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for route, weekday, minute in rows:
        routes[route.id] = route
        if weekday is not None:
            departures[route.id][weekday].append(minute)
    for r in routes.values():
        deps = {wd: tuple(sorted(ms)) for wd, ms in departures[r.id].items()}
        net.legs[(r.origin_id, r.destination_id)] = Leg(r.id, r.origin_id, r.destination_id, r.transit_minutes, deps)
    _transaction_memo(session)[key] = net
    return net


def _transaction_memo(session: AsyncSession) -> dict[tuple[tuple[int, ...], tuple[int, ...]], Network]:
    """Networks read in the session's current transaction; a new transaction (after a commit) starts empty."""
    transaction = session.sync_session.get_transaction()
    held = session.info.get("logistics.network")
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info["logistics.network"] = held
    memo: dict[tuple[tuple[int, ...], tuple[int, ...]], Network] = held[1]
    return memo


async def open_parcels(session: AsyncSession, point_ids: list[int]) -> dict[int, int]:
    """Parcels each point holds or expects (checked out, on the way, or waiting on its shelf)."""
    if not point_ids:
        return {}
    rows = await session.execute(
        select(Shipment.pickup_point_id, func.count())
        .where(Shipment.pickup_point_id.in_(point_ids), Shipment.status.in_(OPEN_STATUSES))
        .group_by(Shipment.pickup_point_id)
    )
    return {point_id: count for point_id, count in rows}


def transit_days(now: dt.datetime, ready: dt.datetime) -> int:
    """Calendar days (Asia/Shanghai) from the order to the day the parcel is ready."""
    return (local(ready).date() - local(now).date()).days
