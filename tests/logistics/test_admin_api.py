"""Centre-admin network API, CSV import report, guards and bad input for the logistics routes."""

from __future__ import annotations

import datetime as dt

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.models import LogisticsNode, RouteDeparture, Shipment
from logistics.schemas import HomeAddress, HomeRequest, PickupRequest
from logistics.services import create_shipments_for_order
from shop.accounts.models import Role
from tests import factories
from tests.logistics.helpers import at, build_net, line


async def staff(db: AsyncSession, role: Role = Role.CENTRE_ADMIN, **kw: object) -> dict[str, str]:
    u = await factories.user(db, role, **kw)  # type: ignore[arg-type]
    await db.commit()
    return factories.auth(u)


async def test_admin_builds_the_network(client: AsyncTestClient[Litestar], db: AsyncSession) -> None:
    # given a county/township/village and an admin
    county, township, village = await factories.region_tree(db)
    headers = await staff(db)
    # when hub, station and point are added and joined by routes
    hub = await client.post(
        "/api/admin/logistics/nodes",
        headers=headers,
        json={"kind": "hub", "code": "QT", "name": "青田县物流中心", "region_id": county.id},
    )
    station = await client.post(
        "/api/admin/logistics/nodes",
        headers=headers,
        json={
            "kind": "station",
            "code": "RZ",
            "name": "仁庄镇站",
            "region_id": township.id,
            "parent_id": hub.json()["id"],
        },
    )
    point = await client.post(
        "/api/admin/logistics/nodes",
        headers=headers,
        json={
            "kind": "point",
            "code": "XY",
            "name": "夏严村服务点",
            "region_id": village.id,
            "parent_id": station.json()["id"],
            "capacity": 30,
            "opening_hours": "08:00-18:00",
            "contact_phone": "13800001111",
        },
    )
    trunk = await client.post(
        "/api/admin/logistics/routes",
        headers=headers,
        json={
            "origin_id": hub.json()["id"],
            "destination_id": station.json()["id"],
            "transit_minutes": 90,
            "departures": [{"weekday": 0, "time": "08:00"}, {"weekday": 2, "time": "13:30"}],
        },
    )
    # then
    assert [r.status_code for r in (hub, station, point, trunk)] == [201, 201, 201, 201]
    assert point.json()["capacity"] == 30 and point.json()["point_kind"] == "service_point"
    assert trunk.json()["departures"] == [
        {"weekday": 0, "time": "08:00", "vehicle_stop_id": None},
        {"weekday": 2, "time": "13:30", "vehicle_stop_id": None},
    ]
    # and bad shapes are refused with the field named, changing nothing
    wrong_level = await client.post(
        "/api/admin/logistics/nodes",
        headers=headers,
        json={"kind": "station", "code": "X1", "name": "错", "region_id": village.id, "parent_id": hub.json()["id"]},
    )
    duplicate = await client.post(
        "/api/admin/logistics/nodes",
        headers=headers,
        json={"kind": "hub", "code": "QT", "name": "又一个", "region_id": county.id},
    )
    skip_level = await client.post(
        "/api/admin/logistics/routes",
        headers=headers,
        json={"origin_id": hub.json()["id"], "destination_id": point.json()["id"], "transit_minutes": 60},
    )
    bad_time = await client.post(
        "/api/admin/logistics/routes",
        headers=headers,
        json={
            "origin_id": station.json()["id"],
            "destination_id": point.json()["id"],
            "transit_minutes": 60,
            "departures": [{"weekday": 7, "time": "25:00"}],
        },
    )
    assert (wrong_level.status_code, wrong_level.json()["errors"][0]["field"]) == (422, "region_id")
    assert (duplicate.status_code, duplicate.json()["errors"][0]["field"]) == (409, "code")
    assert (skip_level.status_code, skip_level.json()["errors"][0]["field"]) == (422, "destination_id")
    assert bad_time.status_code == 400
    assert await db.scalar(select(func.count()).select_from(LogisticsNode)) == 3


async def test_vehicle_stop_becomes_a_departure(client: AsyncTestClient[Litestar], db: AsyncSession) -> None:
    net = await build_net(db)
    headers = await staff(db)
    stop_point = await client.post(
        "/api/admin/logistics/nodes",
        headers=headers,
        json={
            "kind": "point",
            "code": "VAN-1",
            "name": "岭头村流动供销车停靠点",
            "region_id": net.village2.id,
            "parent_id": net.station.id,
            "point_kind": "vehicle_stop",
            "capacity": 20,
        },
    )
    point_id = stop_point.json()["id"]
    stop = await client.post(
        f"/api/admin/logistics/points/{point_id}/vehicle-stops",
        headers=headers,
        json={
            "vehicle_name": "仁庄流动供销车",
            "weekday": 2,
            "window_start": "10:00",
            "window_end": "11:30",
            "transit_minutes": 45,
        },
    )
    assert stop.status_code == 201
    assert stop.json() == {
        "id": stop.json()["id"],
        "point_id": point_id,
        "vehicle_name": "仁庄流动供销车",
        "weekday": 2,
        "window_start": "10:00",
        "window_end": "11:30",
    }
    deps = (
        await db.execute(
            select(RouteDeparture.weekday, RouteDeparture.minute).where(
                RouteDeparture.vehicle_stop_id == stop.json()["id"]
            )
        )
    ).all()
    assert deps == [(2, 9 * 60 + 15)]
    await db.commit()  # release SQLite's write lock before the app writes again
    # Tuesday 05:00 order: trunk Tue 08:00 → 10:00 at the station, the van leaves Wednesday 09:15 → 10:00
    quote = await client.post(
        "/api/logistics/quote",
        json={
            "delivery": {"type": "pickup", "pickup_point_id": point_id},
            "lines": [{"product_id": 1, "workshop_id": net.workshop.id, "weight_g": 500, "qty": 1}],
        },
    )
    assert quote.json()["parcels"][0]["ready_at"] is not None
    backwards = await client.post(
        f"/api/admin/logistics/points/{point_id}/vehicle-stops",
        headers=headers,
        json={"vehicle_name": "车", "weekday": 3, "window_start": "11:00", "window_end": "10:00"},
    )
    fixed = await client.post(
        f"/api/admin/logistics/points/{net.point.id}/vehicle-stops",
        headers=headers,
        json={"vehicle_name": "车", "weekday": 3, "window_start": "10:00", "window_end": "11:00"},
    )
    assert (backwards.status_code, fixed.status_code) == (422, 422)


async def test_csv_import_reports_rejected_rows(client: AsyncTestClient[Litestar], db: AsyncSession) -> None:
    await build_net(db)
    headers = await staff(db)
    csv_text = (
        "code,name,station_code,county,township,village,capacity,opening_hours,contact_phone,is_active\n"
        "NEW-1,新村服务点,RZ-ST,青田县,仁庄镇,岭头村,40,08:00-17:00,13800002222,是\n"
        "NEW-2,无站点,NO-SUCH,青田县,仁庄镇,岭头村,40,,,\n"
        "NEW-3,无此村,RZ-ST,青田县,仁庄镇,不存在村,40,,,\n"
        "NEW-4,容量错,RZ-ST,青田县,仁庄镇,岭头村,lots,,,\n"
        "XY-PT,夏严村服务点（扩容）,RZ-ST,青田县,仁庄镇,夏严村,80,,,\n"
        "NEW-1,重复,RZ-ST,青田县,仁庄镇,岭头村,10,,,\n"
    )
    response = await client.post(
        "/api/admin/logistics/points/import",
        headers=headers,
        files={"file": ("points.csv", csv_text.encode("utf-8-sig"), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "created": 1,
        "updated": 1,
        "rejected": [
            {"row": 3, "reason": "station_code 'NO-SUCH' names no township station"},
            {"row": 4, "reason": "no village 青田县/仁庄镇/不存在村"},
            {"row": 5, "reason": "capacity 'lots' is not a whole number"},
            {"row": 7, "reason": "code 'NEW-1' appears twice in the file"},
        ],
    }
    capacity = await db.scalar(select(LogisticsNode.capacity).where(LogisticsNode.code == "XY-PT"))
    assert capacity == 80
    await db.commit()  # release SQLite's write lock before the app writes again
    no_header = await client.post(
        "/api/admin/logistics/points/import", headers=headers, files={"file": ("p.csv", b"name\nx\n", "text/csv")}
    )
    assert no_header.status_code == 422


async def test_guards_on_logistics_routes(client: AsyncTestClient[Litestar], db: AsyncSession) -> None:
    net = await build_net(db)
    buyer = await staff(db, Role.BUYER)
    anonymous = await client.get("/api/admin/logistics/nodes?kind=hub")
    as_buyer = await client.get("/api/admin/logistics/nodes?kind=hub", headers=buyer)
    dispatch_as_buyer = await client.post("/api/admin/logistics/dispatch", headers=buyer, json={"date": "2026-11-26"})
    collect_anonymous = await client.post(
        f"/api/logistics/points/{net.point.id}/parcels/1/collect", json={"code": "123456"}
    )
    parcels_as_buyer = await client.get(f"/api/logistics/points/{net.point.id}/parcels", headers=buyer)
    tracking_other = await client.get("/api/logistics/orders/5/tracking", headers=buyer)
    assert [
        r.status_code
        for r in (anonymous, as_buyer, dispatch_as_buyer, collect_anonymous, parcels_as_buyer, tracking_other)
    ] == [401, 403, 403, 401, 403, 404]


async def test_dispatch_api_and_route_sheets(client: AsyncTestClient[Litestar], db: AsyncSession) -> None:
    net = await build_net(db)
    headers = await staff(db)
    await create_shipments_for_order(
        db, 1, [line(net.workshop)], PickupRequest(net.point.id), now=at("2026-11-26", "05:00")
    )
    planned = await client.post("/api/admin/logistics/dispatch", headers=headers, json={"date": "2026-11-26"})
    assert planned.status_code == 200 and planned.json()["legs_planned"] == 2
    batches = (await client.get("/api/admin/logistics/batches?date=2026-11-26", headers=headers)).json()
    assert [(b["destination"], b["parcel_count"]) for b in batches] == [("仁庄镇服务站", 1), ("夏严村服务点", 1)]
    html = await client.get(f"/api/admin/logistics/batches/{batches[1]['id']}/sheet", headers=headers)
    pdf = await client.get(f"/api/admin/logistics/batches/{batches[1]['id']}/sheet.pdf", headers=headers)
    missing = await client.get("/api/admin/logistics/batches/999999/sheet", headers=headers)
    bad_date = await client.post("/api/admin/logistics/dispatch", headers=headers, json={"date": "26/11/2026"})
    assert (
        html.status_code == 200 and "夏严村服务点" in html.text and html.headers["content-type"].startswith("text/html")
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (missing.status_code, bad_date.status_code) == (404, 400)


async def test_home_delivery_tracking_number(client: AsyncTestClient[Litestar], db: AsyncSession) -> None:
    net = await build_net(db)
    address = HomeAddress(net.county.id, net.township.id, net.village.id, "3组 12号", "王小明", "13912345678")
    (parcel,) = await create_shipments_for_order(
        db, 9, [line(net.workshop, weight_g=1500)], HomeRequest(address), now=at("2026-11-26", "09:00")
    )
    assert (parcel.shipping_fen, parcel.ready_date) == (1100, dt.date(2026, 11, 28))
    manager = await staff(db, Role.WORKSHOP_MANAGER, workshop_ids=[net.workshop.id])
    other_manager = await staff(db, Role.WORKSHOP_MANAGER, workshop_ids=[net.far_workshop.id])
    body = {"courier": "邮政EMS", "tracking_number": "EMS1234567890"}
    refused = await client.put(
        f"/api/logistics/shipments/{parcel.id}/tracking-number", headers=other_manager, json=body
    )
    bad = await client.put(
        f"/api/logistics/shipments/{parcel.id}/tracking-number",
        headers=manager,
        json={"courier": "x", "tracking_number": "有空格 1"},
    )
    ok = await client.put(f"/api/logistics/shipments/{parcel.id}/tracking-number", headers=manager, json=body)
    assert (refused.status_code, bad.status_code, ok.status_code) == (403, 400, 200)
    assert (ok.json()["status"], ok.json()["tracking_number"]) == ("with_courier", "EMS1234567890")
    assert await db.scalar(select(func.count()).select_from(Shipment)) == 1
