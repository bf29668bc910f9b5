"""The logistics network as each process keeps it: read once, then reused until its stamp changes.

Every checkout quotes its delivery and every paid order plans its shipments on the network (points, stations, hubs,
routes and their timetables), which changes a few times a month. Reading it took four queries per quote, a
quarter of the statements of a paid checkout. Now a quote reads one stamp (`logistics_network_stamp`) and reuses
the copy read under the same stamp.

Correctness rests on two rules:
- every write to the network replaces the stamp in the writing transaction: the session hooks below see ORM
  flushes and ORM bulk statements on the network's tables (vehicle stops too: their departures go with them);
- the stamp is read before the network, so a copy is never filed under a newer stamp than its contents. A copy
  read inside a transaction that changed the network is filed under that transaction's stamp, which no other
  transaction sees unless it commits.

A database without the stamp row (emptied by the tests, say) is read afresh on every call until a write adds it.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from logistics.models import LogisticsNode, NetworkStamp, NodeKind, PointKind, Route, RouteDeparture, VehicleStop

NETWORK_MODELS = (LogisticsNode, Route, RouteDeparture, VehicleStop)
NETWORK_TABLES = frozenset(model.__table__.name for model in NETWORK_MODELS)  # type: ignore[attr-defined]
STAMP_ROW = 1

_READ_STAMP = select(NetworkStamp.stamp).where(NetworkStamp.id == STAMP_ROW)
# The stamp as a column of a caller's own read (then `snapshot_at_stamp`): one round trip instead of two.
STAMP_COLUMN = _READ_STAMP.scalar_subquery()


@dataclass(frozen=True, slots=True)
class NodeView:
    """A node as the network copy holds it (the columns routing and quoting read)."""

    id: int
    kind: NodeKind
    code: str
    name: str
    region_id: int
    parent_id: int | None
    point_kind: PointKind | None
    address: str
    opening_hours: str
    capacity: int
    is_active: bool


@dataclass(frozen=True, slots=True)
class RouteView:
    id: int
    origin_id: int
    destination_id: int
    transit_minutes: int
    departures: dict[int, tuple[int, ...]]  # weekday → sorted local minutes


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity: a copy is one reading
class Snapshot:
    """All nodes and the active routes, as of `stamp` (None: read without a stamp, not kept)."""

    stamp: int | None
    nodes: dict[int, NodeView]
    routes: tuple[RouteView, ...]
    hub_by_county: dict[int, int]  # the lowest-id active hub of each county

    def point(self, node_id: int | None) -> NodeView | None:
        node = self.nodes.get(node_id) if node_id is not None else None
        return node if node is not None and node.kind is NodeKind.POINT else None

    @property
    def has_points(self) -> bool:
        return any(node.kind is NodeKind.POINT for node in self.nodes.values())


_kept: Snapshot | None = None
_MEMO = "logistics.network"  # session.info: (transaction, snapshot) — the copy this transaction has read


async def network_snapshot(session: AsyncSession) -> Snapshot:
    """The network as the session's transaction sees it; one small query when this process has it already."""
    held = held_snapshot(session)
    if held is not None:
        return held
    return await snapshot_at_stamp(session, await session.scalar(_READ_STAMP))


def held_snapshot(session: AsyncSession) -> Snapshot | None:
    """The copy this session's transaction has already read (a checkout quotes twice, a payment quotes and plans)."""
    held = session.info.get(_MEMO)
    if held is not None and held[0] is session.sync_session.get_transaction():
        return held[1]  # type: ignore[no-any-return]
    return None


async def snapshot_at_stamp(session: AsyncSession, stamp: int | None) -> Snapshot:
    """The copy for the stamp just read in this transaction: this process's copy while it is current, else read."""
    global _kept
    kept = _kept
    if stamp is not None and kept is not None and kept.stamp == stamp:
        snapshot = kept
    else:
        snapshot = await _read(session, stamp)
        if stamp is not None:
            _kept = snapshot
    session.info[_MEMO] = (session.sync_session.get_transaction(), snapshot)
    return snapshot


def forget() -> None:
    """Drop this process's copy (tests that rewrite the network with plain SQL)."""
    global _kept
    _kept = None


async def _read(session: AsyncSession, stamp: int | None) -> Snapshot:
    node_rows = await session.execute(
        select(
            LogisticsNode.id,
            LogisticsNode.kind,
            LogisticsNode.code,
            LogisticsNode.name,
            LogisticsNode.region_id,
            LogisticsNode.parent_id,
            LogisticsNode.point_kind,
            LogisticsNode.address,
            LogisticsNode.opening_hours,
            LogisticsNode.capacity,
            LogisticsNode.is_active,
        )
    )
    nodes = {row.id: NodeView(*row) for row in node_rows}
    route_rows = await session.execute(
        select(
            Route.id,
            Route.origin_id,
            Route.destination_id,
            Route.transit_minutes,
            RouteDeparture.weekday,
            RouteDeparture.minute,
        )
        .outerjoin(RouteDeparture, RouteDeparture.route_id == Route.id)
        .where(Route.is_active.is_(True))
    )
    heads: dict[int, tuple[int, int, int]] = {}
    departures: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for route_id, origin_id, destination_id, transit, weekday, minute in route_rows:
        heads[route_id] = (origin_id, destination_id, transit)
        if weekday is not None:
            departures[route_id][weekday].append(minute)
    routes = tuple(
        RouteView(
            route_id, origin, destination, transit, {wd: tuple(sorted(ms)) for wd, ms in departures[route_id].items()}
        )
        for route_id, (origin, destination, transit) in sorted(heads.items())
    )
    hub_by_county: dict[int, int] = {}
    for node in sorted(nodes.values(), key=lambda n: n.id):
        if node.kind is NodeKind.HUB and node.is_active:
            hub_by_county.setdefault(node.region_id, node.id)
    return Snapshot(stamp, nodes, routes, hub_by_county)


def _restamp(session: Session) -> None:
    """Replace the stamp in the session's transaction (an upsert: the row may be missing from an emptied database)."""
    session.info.pop(_MEMO, None)
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    new = secrets.randbits(62)
    statement = insert(NetworkStamp).values(id=STAMP_ROW, stamp=new)
    connection.execute(statement.on_conflict_do_update(index_elements=[NetworkStamp.id], set_={"stamp": new}))


@event.listens_for(Session, "before_flush")
def _network_flushed(session: Session, _context: Any, _instances: Any) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, NETWORK_MODELS):
            _restamp(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _network_bulk_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in NETWORK_TABLES:
        _restamp(state.session)
