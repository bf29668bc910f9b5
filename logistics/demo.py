"""Demo 丽水山递 network for the demo regions (`hub seed --demo`): every demo county gets a hub, every township a
station, every village a pickup point, with daily timetables and home-delivery fees, so checkout can offer real
pickup points and the dispatch planner has routes to plan.

Idempotent: nodes are looked up by code, routes by (origin, destination), fees by county; only what is missing is
added, through `NetworkService` so the network's own rules (levels, parents, codes) are checked as for an admin.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Region, RegionLevel
from catalog.seed.regions import COUNTIES
from logistics.models import LogisticsNode, NodeKind, PointKind, Route, ShippingRate, VehicleStop
from logistics.schemas import DepartureIn, NodeCreate, RouteCreate, ShippingRateIn, VehicleStopCreate
from logistics.services import NetworkService
from shop.accounts.models import Role, User
from shop.auth import Caller
from shop.checkout.delivery import DEFAULT_HOME_FEE_FEN, HOME_DELIVERY_FEE_BY_COUNTY

WEEK = range(7)
# Trunk lines between county hubs leave early so parcels reach the township runs the same day.
HUB_DEPARTURES = ("06:00", "12:00")
STATION_DEPARTURES = ("09:00", "15:00")  # county hub → township station
POINT_DEPARTURES = ("10:30", "16:30")  # township station → village point
SAME_CITY_MINUTES = 90  # between hubs of one city (丽水市)
OTHER_CITY_MINUTES = 240
STATION_MINUTES = 60
POINT_MINUTES = 45
POINT_CAPACITY = 200
# A village served by the mobile supply vehicle (流动供销车) instead of a fixed service point.
VEHICLE_VILLAGES = frozenset({("青田县", "方山乡", "奎岩村"), ("松阳县", "四都乡", "平田村")})
# The vehicle calls twice a week (Tuesday, Friday), 09:30–11:30; parcels wait for it at the township station.
VEHICLE_STOPS = ((1, "09:30", "11:30"), (4, "09:30", "11:30"))


def _departures(times: tuple[str, ...]) -> list[DepartureIn]:
    return [DepartureIn(weekday=day, time=t) for day in WEEK for t in times]


async def _actor(session: AsyncSession) -> Caller:
    """The demo centre admin when present (the audit trail names who built the network), else the system."""
    admin = await session.scalar(select(User).where(User.role == Role.CENTRE_ADMIN).order_by(User.id).limit(1))
    if admin is None:
        return Caller(None, "system", Role.CENTRE_ADMIN, "系统")  # type: ignore[arg-type]
    return Caller(admin.id, admin.username, admin.role, admin.display_name)


async def _region(session: AsyncSession, level: RegionLevel, name: str, parent_id: int | None) -> Region | None:
    return await session.scalar(
        select(Region).where(Region.level == level, Region.name == name, Region.parent_id == parent_id)
    )


class _Builder:
    def __init__(self, session: AsyncSession, actor: Caller) -> None:
        self.session = session
        self.actor = actor
        self.network = NetworkService(session)
        self.nodes = self.routes = self.rates = 0

    async def node(self, data: NodeCreate) -> LogisticsNode:
        found = await self.session.scalar(select(LogisticsNode).where(LogisticsNode.code == data.code))
        if found is not None:
            return found
        self.nodes += 1
        return await self.network.create_node(self.actor, data)

    async def route(
        self, origin: LogisticsNode, destination: LogisticsNode, minutes: int, times: tuple[str, ...]
    ) -> None:
        exists = await self.session.scalar(
            select(Route.id).where(Route.origin_id == origin.id, Route.destination_id == destination.id)
        )
        if exists is not None:
            return
        self.routes += 1
        await self.network.create_route(
            self.actor,
            RouteCreate(
                origin_id=origin.id,
                destination_id=destination.id,
                transit_minutes=minutes,
                departures=_departures(times),
                name=f"{origin.name} → {destination.name}",
            ),
        )

    async def vehicle_stops(self, point: LogisticsNode, vehicle_name: str) -> None:
        for weekday, start, end in VEHICLE_STOPS:
            found = await self.session.scalar(
                select(VehicleStop.id).where(VehicleStop.point_id == point.id, VehicleStop.weekday == weekday)
            )
            if found is None:
                self.routes += 1
                await self.network.add_vehicle_stop(
                    self.actor,
                    point.id,
                    VehicleStopCreate(vehicle_name=vehicle_name, weekday=weekday, window_start=start, window_end=end),
                )

    async def rate(self, county: Region) -> None:
        if await self.session.scalar(select(ShippingRate.id).where(ShippingRate.county_id == county.id)):
            return
        self.rates += 1
        first = HOME_DELIVERY_FEE_BY_COUNTY.get(county.name, DEFAULT_HOME_FEE_FEN)
        await self.network.set_rate(
            self.actor, county.id, ShippingRateIn(first_fen=first, first_weight_g=1000, extra_kg_fen=200)
        )


async def load_demo(session: AsyncSession) -> str:
    """Hubs, stations and pickup points for the demo villages, their timetables and home-delivery fees."""
    builder = _Builder(session, await _actor(session))
    hubs: list[tuple[LogisticsNode, str]] = []
    for spec in COUNTIES:
        county = await _region(session, RegionLevel.COUNTY, spec.name, None)
        if county is None:
            continue  # the catalogue demo was not loaded: nothing to serve
        hub = await builder.node(
            NodeCreate(
                kind=NodeKind.HUB,
                code=f"HUB-{spec.code}",
                name=f"{spec.name}物流中心",
                region_id=county.id,
                address=f"{spec.city}{spec.name}丽水山递县级物流中心",
                contact_phone=f"{spec.area_code}-8800{spec.code[-3:]}",
                opening_hours="每天 06:00–20:00",
            )
        )
        hubs.append((hub, spec.city))
        await builder.rate(county)
        for t_index, (township_name, villages) in enumerate(spec.townships.items(), start=1):
            township = await _region(session, RegionLevel.TOWNSHIP, township_name, county.id)
            if township is None:
                continue
            station = await builder.node(
                NodeCreate(
                    kind=NodeKind.STATION,
                    code=f"STN-{spec.code}-{t_index:02d}",
                    name=f"{township_name}服务站",
                    region_id=township.id,
                    parent_id=hub.id,
                    address=f"{spec.name}{township_name}便民服务中心",
                    opening_hours="每天 08:00–18:00",
                )
            )
            await builder.route(hub, station, STATION_MINUTES, STATION_DEPARTURES)
            for v_index, village_name in enumerate(villages, start=1):
                village = await _region(session, RegionLevel.VILLAGE, village_name, township.id)
                if village is None:
                    continue
                vehicle = (spec.name, township_name, village_name) in VEHICLE_VILLAGES
                point = await builder.node(
                    NodeCreate(
                        kind=NodeKind.POINT,
                        code=f"PT-{spec.code}-{t_index:02d}{v_index:02d}",
                        name=f"{village_name}流动供销车停靠点" if vehicle else f"{village_name}村级服务点",
                        region_id=village.id,
                        parent_id=station.id,
                        point_kind=PointKind.VEHICLE_STOP if vehicle else PointKind.SERVICE_POINT,
                        address=f"{township_name}{village_name}文化礼堂旁"
                        if vehicle
                        else f"{township_name}{village_name}便民服务点",
                        contact_name=f"{village_name}代办员",
                        contact_phone=f"{spec.area_code}-86{spec.code[-3:]}{t_index}{v_index}",
                        opening_hours="周二、周五 09:30–11:30 停靠" if vehicle else "每天 08:00–20:00",
                        capacity=POINT_CAPACITY,
                    )
                )
                if vehicle:
                    await builder.vehicle_stops(point, f"{township_name}流动供销车")
                else:
                    await builder.route(station, point, POINT_MINUTES, POINT_DEPARTURES)
    for origin, origin_city in hubs:
        for destination, destination_city in hubs:
            if origin.id != destination.id:
                minutes = SAME_CITY_MINUTES if origin_city == destination_city else OTHER_CITY_MINUTES
                await builder.route(origin, destination, minutes, HUB_DEPARTURES)
    await session.commit()
    return (
        f"{builder.nodes} network nodes, {builder.routes} routes and vehicle stops, "
        f"{builder.rates} home-delivery fees added"
    )
