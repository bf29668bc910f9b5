"""A small 丽水山递 network for the logistics tests, built through the ORM.

青田县 hub → 仁庄镇 station → 夏严村 point (capacity 2) and 岭头村 point; a 流动供销车 stop at 岭头村 is separate.
Hub → station runs Mon–Sat 08:00 (2 h); station → points Mon–Fri 14:00 (1 h): nothing leaves for the villages
on a Saturday or Sunday. A second county (莲都区) has its own hub with a hub → hub trunk Mon–Fri 07:00 (3 h).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Region, RegionLevel, Workshop
from logistics.config import LOCAL_TZ
from logistics.models import LogisticsNode, NodeKind, PointKind, Route, RouteDeparture, ShippingRate
from logistics.schemas import QuoteLine
from tests import factories

MON_FRI = range(5)
MON_SAT = range(6)


@dataclass
class Net:
    county: Region
    township: Region
    village: Region
    village2: Region
    hub: LogisticsNode
    station: LogisticsNode
    point: LogisticsNode
    point2: LogisticsNode
    workshop: Workshop
    other_county: Region
    other_hub: LogisticsNode
    far_workshop: Workshop


def at(day: str, hhmm: str) -> dt.datetime:
    """A local (Asia/Shanghai) time as an aware UTC datetime."""
    local = dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=LOCAL_TZ)
    return local.astimezone(dt.UTC)


async def route(
    session: AsyncSession, origin: LogisticsNode, dest: LogisticsNode, transit: int, weekdays: range, minute: int
) -> Route:
    r = Route(origin_id=origin.id, destination_id=dest.id, transit_minutes=transit, name=f"{origin.name}→{dest.name}")
    session.add(r)
    await session.flush()
    for wd in weekdays:
        session.add(RouteDeparture(route_id=r.id, weekday=wd, minute=minute))
    return r


async def node(
    session: AsyncSession,
    kind: NodeKind,
    code: str,
    name: str,
    region: Region,
    parent: LogisticsNode | None = None,
    capacity: int = 0,
) -> LogisticsNode:
    n = LogisticsNode(
        kind=kind,
        code=code,
        name=name,
        region_id=region.id,
        parent_id=parent.id if parent else None,
        point_kind=PointKind.SERVICE_POINT if kind is NodeKind.POINT else None,
        capacity=capacity,
        opening_hours="08:00-18:00",
        address="村委会一楼",
        contact_name="李芳",
    )
    session.add(n)
    await session.flush()
    return n


async def build_net(session: AsyncSession) -> Net:
    county, township, village = await factories.region_tree(session)
    village2 = Region(
        level=RegionLevel.VILLAGE, name="岭头村", parent_id=township.id, county_id=county.id, township_id=township.id
    )
    session.add(village2)
    await session.flush()
    hub = await node(session, NodeKind.HUB, "QT-HUB", "青田县物流中心", county)
    station = await node(session, NodeKind.STATION, "RZ-ST", "仁庄镇服务站", township, hub)
    point = await node(session, NodeKind.POINT, "XY-PT", "夏严村服务点", village, station, capacity=2)
    point2 = await node(session, NodeKind.POINT, "LT-PT", "岭头村服务点", village2, station, capacity=50)
    await route(session, hub, station, 120, MON_SAT, 8 * 60)
    await route(session, station, point, 60, MON_FRI, 14 * 60)
    await route(session, station, point2, 60, MON_FRI, 14 * 60)
    workshop = await factories.workshop(session, village, "知味红·红糖工坊")
    other_county, _, other_village = await factories.region_tree(session, "莲都区", "雅溪镇", "里东村")
    other_hub = await node(session, NodeKind.HUB, "LD-HUB", "莲都区物流中心", other_county)
    await route(session, other_hub, hub, 180, MON_FRI, 7 * 60)
    far_workshop = await factories.workshop(session, other_village, "雅溪茶叶工坊")
    session.add(
        ShippingRate(county_id=county.id, first_weight_g=1000, first_fen=800, extra_kg_fen=300, delivery_days=2)
    )
    await session.commit()
    return Net(
        county,
        township,
        village,
        village2,
        hub,
        station,
        point,
        point2,
        workshop,
        other_county,
        other_hub,
        far_workshop,
    )


def line(
    workshop: Workshop, weight_g: int = 500, qty: int = 1, shelf_life_days: int | None = None, product_id: int = 1
) -> QuoteLine:
    return QuoteLine(
        product_id=product_id, workshop_id=workshop.id, weight_g=weight_g, qty=qty, shelf_life_days=shelf_life_days
    )
