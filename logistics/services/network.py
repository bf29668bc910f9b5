"""The 丽水山递 network: hubs, stations, pickup points, routes and timetables, vehicle stops, staff, fees."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Region, RegionLevel
from logistics.config import format_minute, parse_hhmm
from logistics.models import (
    LogisticsNode,
    NodeKind,
    PointKind,
    PointStaff,
    Route,
    RouteDeparture,
    ShippingRate,
    VehicleStop,
)
from logistics.schemas import (
    DepartureIn,
    DepartureOut,
    NodeCreate,
    NodeOut,
    NodeUpdate,
    RouteCreate,
    RouteOut,
    RouteUpdate,
    ShippingRateIn,
    ShippingRateOut,
    VehicleStopCreate,
    VehicleStopOut,
)
from shop import audit
from shop.accounts.models import User
from shop.auth import Caller
from shop.errors import Conflict, InvalidInput, NotFound

REGION_LEVEL = {
    NodeKind.HUB: RegionLevel.COUNTY,
    NodeKind.STATION: RegionLevel.TOWNSHIP,
    NodeKind.POINT: RegionLevel.VILLAGE,
}
PARENT_KIND = {NodeKind.STATION: NodeKind.HUB, NodeKind.POINT: NodeKind.STATION}
NODE_LABEL = {NodeKind.HUB: "county hub", NodeKind.STATION: "township station", NodeKind.POINT: "pickup point"}


def node_out(n: LogisticsNode) -> NodeOut:
    return NodeOut(
        n.id,
        n.kind,
        n.code,
        n.name,
        n.region_id,
        n.parent_id,
        n.point_kind,
        n.address,
        n.contact_name,
        n.contact_phone,
        n.opening_hours,
        n.capacity,
        n.is_active,
    )


def _departures(rows: list[RouteDeparture]) -> list[DepartureOut]:
    return [
        DepartureOut(d.weekday, format_minute(d.minute), d.vehicle_stop_id)
        for d in sorted(rows, key=lambda d: (d.weekday, d.minute))
    ]


class NetworkService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- nodes -------------------------------------------------------------------------------------------------
    async def node(self, node_id: int, kind: NodeKind | None = None) -> LogisticsNode:
        node = await self.session.get(LogisticsNode, node_id)
        if node is None or (kind is not None and node.kind is not kind):
            label = NODE_LABEL[kind] if kind else "Network node"
            raise NotFound(f"{label.capitalize()} {node_id} not found.")
        return node

    async def list_nodes(
        self, kind: NodeKind, parent_id: int | None = None, region_id: int | None = None, active: bool | None = None
    ) -> list[NodeOut]:
        query = select(LogisticsNode).where(LogisticsNode.kind == kind).order_by(LogisticsNode.id)
        if parent_id is not None:
            query = query.where(LogisticsNode.parent_id == parent_id)
        if region_id is not None:
            query = query.where(LogisticsNode.region_id == region_id)
        if active is not None:
            query = query.where(LogisticsNode.is_active.is_(active))
        return [node_out(n) for n in await self.session.scalars(query)]

    async def check_node(self, data: NodeCreate) -> tuple[Region, LogisticsNode | None]:
        """The region and parent a new node needs; InvalidInput naming the field otherwise."""
        region = await self.session.get(Region, data.region_id)
        want = REGION_LEVEL[data.kind]
        if region is None or region.level is not want:
            raise InvalidInput(
                f"A {NODE_LABEL[data.kind]} must sit in a {want.value}; region {data.region_id} is not one.",
                field="region_id",
            )
        if data.kind is NodeKind.HUB:
            if data.parent_id is not None:
                raise InvalidInput("A county hub has no parent node.", field="parent_id")
            if data.point_kind is not None:
                raise InvalidInput("Only pickup points have a point kind.", field="point_kind")
            return region, None
        if data.parent_id is None:
            raise InvalidInput(
                f"A {NODE_LABEL[data.kind]} needs its {NODE_LABEL[PARENT_KIND[data.kind]]}.", field="parent_id"
            )
        parent = await self.session.get(LogisticsNode, data.parent_id)
        if parent is None or parent.kind is not PARENT_KIND[data.kind]:
            raise InvalidInput(
                f"Parent {data.parent_id} is not a {NODE_LABEL[PARENT_KIND[data.kind]]}.", field="parent_id"
            )
        parent_region = region.county_id if data.kind is NodeKind.STATION else region.township_id
        if parent.region_id != parent_region:
            area = "county" if data.kind is NodeKind.STATION else "township"
            raise InvalidInput(f"{parent.name} serves another {area}.", field="parent_id")
        if data.kind is NodeKind.STATION and data.point_kind is not None:
            raise InvalidInput("Only pickup points have a point kind.", field="point_kind")
        return region, parent

    async def create_node(self, actor: Caller | None, data: NodeCreate, *, commit: bool = True) -> LogisticsNode:
        await self.check_node(data)
        if await self.session.scalar(select(LogisticsNode.id).where(LogisticsNode.code == data.code)):
            raise Conflict(f"Code {data.code!r} is already used by another node.", field="code")
        node = LogisticsNode(
            kind=data.kind,
            code=data.code,
            name=data.name,
            region_id=data.region_id,
            parent_id=data.parent_id,
            point_kind=(data.point_kind or PointKind.SERVICE_POINT) if data.kind is NodeKind.POINT else None,
            address=data.address,
            contact_name=data.contact_name,
            contact_phone=data.contact_phone or "",
            opening_hours=data.opening_hours,
            capacity=data.capacity,
            is_active=data.is_active,
        )
        self.session.add(node)
        await self.session.flush()
        audit.record(
            self.session,
            actor_id=actor.id if actor else None,
            action="create",
            entity="logistics_node",
            entity_id=node.id,
            changes={"kind": data.kind.value, "code": data.code, "name": data.name},
        )
        if commit:
            await self.session.commit()
        return node

    async def update_node(
        self, actor: Caller | None, node_id: int, data: NodeUpdate, *, commit: bool = True
    ) -> LogisticsNode:
        node = await self.node(node_id)
        changes: dict[str, Any] = {}
        for field in ("name", "address", "contact_name", "contact_phone", "opening_hours", "capacity", "is_active"):
            value = getattr(data, field)
            if value is not None and getattr(node, field) != value:
                changes[field] = [getattr(node, field), value]
                setattr(node, field, value)
        if changes:
            audit.record(
                self.session,
                actor_id=actor.id if actor else None,
                action="update",
                entity="logistics_node",
                entity_id=node.id,
                changes={k: v for k, v in changes.items() if k != "contact_phone"},
            )
        if commit:
            await self.session.commit()
        return node

    # ---- routes ------------------------------------------------------------------------------------------------
    async def route_out(self, route: Route) -> RouteOut:
        rows = list(await self.session.scalars(select(RouteDeparture).where(RouteDeparture.route_id == route.id)))
        return RouteOut(
            route.id,
            route.name,
            route.origin_id,
            route.destination_id,
            route.transit_minutes,
            route.is_active,
            _departures(rows),
        )

    async def list_routes(self, origin_id: int | None = None, destination_id: int | None = None) -> list[RouteOut]:
        query = select(Route).order_by(Route.id)
        if origin_id is not None:
            query = query.where(Route.origin_id == origin_id)
        if destination_id is not None:
            query = query.where(Route.destination_id == destination_id)
        routes = list(await self.session.scalars(query))
        deps: dict[int, list[RouteDeparture]] = {r.id: [] for r in routes}
        if routes:
            for d in await self.session.scalars(select(RouteDeparture).where(RouteDeparture.route_id.in_(deps))):
                deps[d.route_id].append(d)
        return [
            RouteOut(
                r.id, r.name, r.origin_id, r.destination_id, r.transit_minutes, r.is_active, _departures(deps[r.id])
            )
            for r in routes
        ]

    async def create_route(self, actor: Caller, data: RouteCreate) -> RouteOut:
        origin = await self._route_end(data.origin_id, "origin_id")
        destination = await self._route_end(data.destination_id, "destination_id")
        valid = (origin.kind is NodeKind.HUB and destination.kind is NodeKind.HUB and origin.id != destination.id) or (
            destination.kind in (NodeKind.STATION, NodeKind.POINT) and destination.parent_id == origin.id
        )
        if not valid:
            raise InvalidInput(
                "A route runs hub → hub, hub → one of its stations, or station → one of its pickup points.",
                field="destination_id",
            )
        if await self.session.scalar(
            select(Route.id).where(Route.origin_id == origin.id, Route.destination_id == destination.id)
        ):
            raise Conflict(f"A route {origin.name} → {destination.name} already exists.", field="destination_id")
        route = Route(
            origin_id=origin.id,
            destination_id=destination.id,
            transit_minutes=data.transit_minutes,
            name=data.name or f"{origin.name} → {destination.name}",
        )
        self.session.add(route)
        await self.session.flush()
        self._set_departures(route.id, data.departures)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="logistics_route",
            entity_id=route.id,
            changes={"origin_id": origin.id, "destination_id": destination.id},
        )
        await self.session.commit()
        return await self.route_out(route)

    async def update_route(self, actor: Caller, route_id: int, data: RouteUpdate) -> RouteOut:
        route = await self.session.get(Route, route_id)
        if route is None:
            raise NotFound(f"Route {route_id} not found.")
        if data.transit_minutes is not None:
            route.transit_minutes = data.transit_minutes
        if data.is_active is not None:
            route.is_active = data.is_active
        if data.name is not None:
            route.name = data.name
        if data.departures is not None:
            # Vehicle-stop departures follow their stops; the timetable edit replaces the others.
            await self.session.execute(
                delete(RouteDeparture).where(
                    RouteDeparture.route_id == route.id, RouteDeparture.vehicle_stop_id.is_(None)
                )
            )
            self._set_departures(route.id, data.departures)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="update",
            entity="logistics_route",
            entity_id=route.id,
            changes={"transit_minutes": route.transit_minutes, "is_active": route.is_active},
        )
        await self.session.commit()
        return await self.route_out(route)

    async def _route_end(self, node_id: int, field: str) -> LogisticsNode:
        node = await self.session.get(LogisticsNode, node_id)
        if node is None:
            raise InvalidInput(f"Node {node_id} does not exist.", field=field)
        return node

    def _set_departures(self, route_id: int, departures: list[DepartureIn]) -> None:
        seen = set()
        for d in departures:
            key = (d.weekday, parse_hhmm(d.time))
            if key in seen:
                raise InvalidInput(f"Departure {d.time} on weekday {d.weekday} is listed twice.", field="departures")
            seen.add(key)
            self.session.add(RouteDeparture(route_id=route_id, weekday=key[0], minute=key[1]))

    # ---- mobile supply vehicle stops ----------------------------------------------------------------------------
    async def add_vehicle_stop(self, actor: Caller, point_id: int, data: VehicleStopCreate) -> VehicleStopOut:
        point = await self.node(point_id, NodeKind.POINT)
        if point.point_kind is not PointKind.VEHICLE_STOP:
            raise InvalidInput(f"{point.name} is a fixed service point, not a vehicle stop.", field="point_id")
        start, end = parse_hhmm(data.window_start), parse_hhmm(data.window_end)
        if start >= end:
            raise InvalidInput("The stop window must end after it starts.", field="window_end")
        departs = start - data.transit_minutes
        if departs < 0:
            raise InvalidInput(
                "The vehicle would have to leave the station the day before; start the window later "
                "or shorten the transit time.",
                field="transit_minutes",
            )
        if await self.session.scalar(
            select(VehicleStop.id).where(
                VehicleStop.point_id == point.id, VehicleStop.weekday == data.weekday, VehicleStop.window_start == start
            )
        ):
            raise Conflict("That stop is already on the timetable.", field="window_start")
        route = await self.session.scalar(
            select(Route).where(Route.origin_id == point.parent_id, Route.destination_id == point.id)
        )
        if route is None:
            route = Route(
                origin_id=point.parent_id,
                destination_id=point.id,
                transit_minutes=data.transit_minutes,
                name=f"{data.vehicle_name} → {point.name}",
            )
            self.session.add(route)
            await self.session.flush()
        elif route.transit_minutes != data.transit_minutes:
            raise Conflict(
                f"The vehicle route to {point.name} takes {route.transit_minutes} minutes; use the same "
                "transit time or change the route.",
                field="transit_minutes",
            )
        if await self.session.scalar(
            select(RouteDeparture.id).where(
                RouteDeparture.route_id == route.id,
                RouteDeparture.weekday == data.weekday,
                RouteDeparture.minute == departs,
            )
        ):
            raise Conflict("The route already departs then.", field="window_start")
        stop = VehicleStop(
            point_id=point.id, vehicle_name=data.vehicle_name, weekday=data.weekday, window_start=start, window_end=end
        )
        self.session.add(stop)
        await self.session.flush()
        self.session.add(
            RouteDeparture(route_id=route.id, weekday=data.weekday, minute=departs, vehicle_stop_id=stop.id)
        )
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="logistics_vehicle_stop",
            entity_id=stop.id,
            changes={"point_id": point.id, "weekday": data.weekday},
        )
        await self.session.commit()
        return VehicleStopOut(stop.id, point.id, stop.vehicle_name, stop.weekday, data.window_start, data.window_end)

    async def list_vehicle_stops(self, point_id: int) -> list[VehicleStopOut]:
        await self.node(point_id, NodeKind.POINT)
        rows = await self.session.scalars(
            select(VehicleStop)
            .where(VehicleStop.point_id == point_id)
            .order_by(VehicleStop.weekday, VehicleStop.window_start)
        )
        return [
            VehicleStopOut(
                s.id, s.point_id, s.vehicle_name, s.weekday, format_minute(s.window_start), format_minute(s.window_end)
            )
            for s in rows
        ]

    async def remove_vehicle_stop(self, actor: Caller, stop_id: int) -> None:
        stop = await self.session.get(VehicleStop, stop_id)
        if stop is None:
            raise NotFound(f"Vehicle stop {stop_id} not found.")
        await self.session.execute(delete(RouteDeparture).where(RouteDeparture.vehicle_stop_id == stop.id))
        await self.session.delete(stop)
        audit.record(
            self.session, actor_id=actor.id, action="delete", entity="logistics_vehicle_stop", entity_id=stop_id
        )
        await self.session.commit()

    # ---- staff and fees ----------------------------------------------------------------------------------------
    async def add_staff(self, actor: Caller, point_id: int, user_id: int) -> None:
        await self.node(point_id, NodeKind.POINT)
        if await self.session.get(User, user_id) is None:
            raise InvalidInput(f"User {user_id} does not exist.", field="user_id")
        if await self.session.scalar(
            select(PointStaff.id).where(PointStaff.point_id == point_id, PointStaff.user_id == user_id)
        ):
            raise Conflict("That user already works at this point.", field="user_id")
        self.session.add(PointStaff(point_id=point_id, user_id=user_id))
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="logistics_point_staff",
            entity_id=point_id,
            changes={"user_id": user_id},
        )
        await self.session.commit()

    async def set_rate(self, actor: Caller, county_id: int, data: ShippingRateIn) -> ShippingRateOut:
        county = await self.session.get(Region, county_id)
        if county is None or county.level is not RegionLevel.COUNTY:
            raise NotFound(f"County {county_id} not found.", field="county_id")
        rate = await self.session.scalar(select(ShippingRate).where(ShippingRate.county_id == county_id))
        if rate is None:
            rate = ShippingRate(county_id=county_id, first_fen=data.first_fen)
            self.session.add(rate)
        rate.first_fen, rate.first_weight_g = data.first_fen, data.first_weight_g
        rate.extra_kg_fen, rate.delivery_days = data.extra_kg_fen, data.delivery_days
        audit.record(
            self.session,
            actor_id=actor.id,
            action="update",
            entity="logistics_shipping_rate",
            entity_id=county_id,
            changes={"first_fen": data.first_fen, "extra_kg_fen": data.extra_kg_fen},
        )
        await self.session.commit()
        return rate_out(rate)

    async def rates(self) -> list[ShippingRateOut]:
        return [rate_out(r) for r in await self.session.scalars(select(ShippingRate).order_by(ShippingRate.county_id))]


def rate_out(r: ShippingRate) -> ShippingRateOut:
    return ShippingRateOut(r.county_id, r.first_weight_g, r.first_fen, r.extra_kg_fen, r.delivery_days)
