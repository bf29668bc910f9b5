"""Centre admins manage the 丽水山递 network, plan dispatch and print route sheets."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.models import NodeKind
from logistics.schemas import (
    BatchOut,
    DispatchIn,
    DispatchSummary,
    ImportReport,
    NodeCreate,
    NodeOut,
    NodeUpdate,
    ReturnRun,
    RouteCreate,
    RouteOut,
    RouteUpdate,
    ShippingRateIn,
    ShippingRateOut,
    StaffIn,
    VehicleStopCreate,
    VehicleStopOut,
)
from logistics.services import NetworkService, PointImporter, list_batches, plan_day, return_uncollected
from logistics.services.network import node_out
from logistics.services.route_sheets import build_sheet, render_html, render_pdf
from shop.auth import Caller, requires_admin
from shop.errors import InvalidInput

MAX_CSV_BYTES = 2 * 1024 * 1024


class CsvUpload(msgspec.Struct):
    file: UploadFile


class LogisticsAdminController(Controller):
    path = "/api/admin/logistics"
    tags = ["logistics admin"]
    guards = [requires_admin]

    @get("/nodes", summary="Hubs, stations or pickup points")
    async def nodes(
        self,
        db_session: AsyncSession,
        kind: NodeKind = Parameter(query="kind"),
        parent_id: int | None = Parameter(query="parent_id", default=None, ge=1),
        region_id: int | None = Parameter(query="region_id", default=None, ge=1),
        active: bool | None = Parameter(query="active", default=None),
    ) -> list[NodeOut]:
        return await NetworkService(db_session).list_nodes(kind, parent_id, region_id, active)

    @post("/nodes", summary="Add a county hub, township station or pickup point", status_code=201)
    async def create_node(self, db_session: AsyncSession, caller: Caller, data: NodeCreate) -> NodeOut:
        """422 when the region or parent does not fit the level; 409 for a used code."""
        return node_out(await NetworkService(db_session).create_node(caller, data))

    @get("/nodes/{node_id:int}", summary="A network node")
    async def node(self, db_session: AsyncSession, node_id: int) -> NodeOut:
        return node_out(await NetworkService(db_session).node(node_id))

    @patch("/nodes/{node_id:int}", summary="Change contact, opening hours, capacity or the active flag")
    async def update_node(self, db_session: AsyncSession, caller: Caller, node_id: int, data: NodeUpdate) -> NodeOut:
        return node_out(await NetworkService(db_session).update_node(caller, node_id, data))

    @post(
        "/points/import",
        summary="Import pickup points from CSV; answers the rejected rows with reasons",
        status_code=200,
    )
    async def import_points(
        self,
        db_session: AsyncSession,
        caller: Caller,
        data: Annotated[CsvUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportReport:
        content = await data.file.read(MAX_CSV_BYTES + 1)
        if len(content) > MAX_CSV_BYTES:
            raise InvalidInput(f"The file is larger than {MAX_CSV_BYTES // 1024 // 1024} MB.", field="file")
        return await PointImporter(db_session).run(caller, content)

    @get("/routes", summary="Routes with their weekly departures")
    async def routes(
        self,
        db_session: AsyncSession,
        origin_id: int | None = Parameter(query="origin_id", default=None, ge=1),
        destination_id: int | None = Parameter(query="destination_id", default=None, ge=1),
    ) -> list[RouteOut]:
        return await NetworkService(db_session).list_routes(origin_id, destination_id)

    @post("/routes", summary="Add a route (hub→hub, hub→station, station→point) with departures", status_code=201)
    async def create_route(self, db_session: AsyncSession, caller: Caller, data: RouteCreate) -> RouteOut:
        return await NetworkService(db_session).create_route(caller, data)

    @patch("/routes/{route_id:int}", summary="Change a route's transit time, timetable or active flag")
    async def update_route(
        self, db_session: AsyncSession, caller: Caller, route_id: int, data: RouteUpdate
    ) -> RouteOut:
        return await NetworkService(db_session).update_route(caller, route_id, data)

    @get("/points/{point_id:int}/vehicle-stops", summary="A vehicle-stop point's timetable (流动供销车)")
    async def vehicle_stops(self, db_session: AsyncSession, point_id: int) -> list[VehicleStopOut]:
        return await NetworkService(db_session).list_vehicle_stops(point_id)

    @post("/points/{point_id:int}/vehicle-stops", summary="Add a mobile supply vehicle stop", status_code=201)
    async def add_vehicle_stop(
        self, db_session: AsyncSession, caller: Caller, point_id: int, data: VehicleStopCreate
    ) -> VehicleStopOut:
        return await NetworkService(db_session).add_vehicle_stop(caller, point_id, data)

    @delete("/vehicle-stops/{stop_id:int}", summary="Remove a vehicle stop", status_code=204)
    async def remove_vehicle_stop(self, db_session: AsyncSession, caller: Caller, stop_id: int) -> None:
        await NetworkService(db_session).remove_vehicle_stop(caller, stop_id)

    @post("/points/{point_id:int}/staff", summary="Let a user work at a pickup point", status_code=204)
    async def add_staff(self, db_session: AsyncSession, caller: Caller, point_id: int, data: StaffIn) -> None:
        await NetworkService(db_session).add_staff(caller, point_id, data.user_id)

    @get("/shipping-rates", summary="Home-delivery fees by county")
    async def rates(self, db_session: AsyncSession) -> list[ShippingRateOut]:
        return await NetworkService(db_session).rates()

    @put("/shipping-rates/{county_id:int}", summary="Set a county's home-delivery fee")
    async def set_rate(
        self, db_session: AsyncSession, caller: Caller, county_id: int, data: ShippingRateIn
    ) -> ShippingRateOut:
        return await NetworkService(db_session).set_rate(caller, county_id, data)

    @post("/dispatch", summary="Plan a day's dispatch batches (idempotent)", status_code=200)
    async def dispatch(self, db_session: AsyncSession, data: DispatchIn) -> DispatchSummary:
        return await plan_day(db_session, data.date)

    @get("/batches", summary="A day's dispatch batches")
    async def batches(
        self,
        db_session: AsyncSession,
        date: dt.date = Parameter(query="date"),
        destination_id: int | None = Parameter(query="destination_id", default=None, ge=1),
    ) -> list[BatchOut]:
        return await list_batches(db_session, date, destination_id)

    @get("/batches/{batch_id:int}/sheet", summary="A driver's route sheet, printable page", media_type="text/html")
    async def sheet_html(self, db_session: AsyncSession, batch_id: int) -> str:
        return render_html(await build_sheet(db_session, batch_id))

    @get("/batches/{batch_id:int}/sheet.pdf", summary="A driver's route sheet as PDF", media_type="application/pdf")
    async def sheet_pdf(self, db_session: AsyncSession, batch_id: int) -> Response[bytes]:
        """503 when no Chinese font is installed (scripts/ensure-fonts.sh)."""
        pdf = render_pdf(await build_sheet(db_session, batch_id))
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="route-sheet-{batch_id}.pdf"'},
        )

    @post(
        "/returns/run",
        summary="Return parcels uncollected past the limit now (the job also does this)",
        status_code=200,
    )
    async def run_returns(self, db_session: AsyncSession) -> ReturnRun:
        return await return_uncollected(db_session)
