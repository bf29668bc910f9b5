"""Checkout quotes and point listings (public), the buyer's tracking, and work at a pickup point."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.models import NodeKind
from logistics.schemas import (
    ArrivalResult,
    CodeIn,
    DeliveryQuote,
    Id,
    NodeOut,
    PickupResult,
    PointOptions,
    QuoteIn,
    QuoteLine,
    ShipmentOut,
    TrackingNumberIn,
    TrackingOut,
)
from logistics.services import LogisticsDelivery, NetworkService, order_tracking
from logistics.services import pickup as pickup_service
from shop.auth import PUBLIC, Caller, requires_login, requires_staff
from shop.ratelimit import PICKUP_CODE, limited


class PointSearchIn(msgspec.Struct, forbid_unknown_fields=True):
    village_id: Id
    lines: Annotated[list[QuoteLine], msgspec.Meta(min_length=1, max_length=200)]


class LogisticsController(Controller):
    path = "/api/logistics"
    tags = ["logistics"]

    @post("/quote", opt=PUBLIC, summary="Delivery quote for a basket: fee, earliest date, or why not", status_code=200)
    async def quote(self, db_session: AsyncSession, data: QuoteIn) -> DeliveryQuote:
        return await LogisticsDelivery().quote(db_session, data.delivery, data.lines)

    @post(
        "/pickup-points/search",
        opt=PUBLIC,
        status_code=200,
        summary="Pickup points that can serve a village for a basket, earliest ready date first",
    )
    async def pickup_points(self, db_session: AsyncSession, data: PointSearchIn) -> PointOptions:
        return await LogisticsDelivery().available_pickup_points(db_session, data.village_id, data.lines)

    @get("/pickup-points", opt=PUBLIC, summary="Active pickup points of a village or township")
    async def points(
        self, db_session: AsyncSession, region_id: int = Parameter(query="village_id", ge=1)
    ) -> list[NodeOut]:
        return await NetworkService(db_session).list_nodes(NodeKind.POINT, region_id=region_id, active=True)

    @get("/orders/{order_id:int}/tracking", guards=[requires_login], summary="An order's parcels and timeline")
    async def tracking(self, db_session: AsyncSession, caller: Caller, order_id: int) -> TrackingOut:
        """404 unless the caller bought the order (or is a centre admin)."""
        return await order_tracking(db_session, caller, order_id)

    @post(
        "/batches/{batch_id:int}/arrive",
        guards=[requires_login],
        status_code=200,
        summary="Confirm a batch arrived (point staff for their point; admins anywhere)",
    )
    async def arrive(self, db_session: AsyncSession, caller: Caller, batch_id: int) -> ArrivalResult:
        return await pickup_service.arrive_batch(db_session, caller, batch_id)

    @get("/points/{point_id:int}/parcels", guards=[requires_login], summary="Parcels waiting at a point (staff)")
    async def parcels(self, db_session: AsyncSession, caller: Caller, point_id: int) -> list[ShipmentOut]:
        return await pickup_service.waiting_parcels(db_session, caller, point_id)

    @post(
        "/points/{point_id:int}/parcels/{shipment_id:int}/collect",
        guards=[requires_login],
        opt=limited(PICKUP_CODE),
        status_code=200,
        summary="Verify the buyer's pickup code and hand the parcel over (once)",
    )
    async def collect(
        self, db_session: AsyncSession, caller: Caller, point_id: int, shipment_id: int, data: CodeIn
    ) -> PickupResult:
        """422 for a wrong code (with attempts_left); 409 when locked or not waiting."""
        return await pickup_service.verify_code(db_session, caller, point_id, shipment_id, data.code)

    @post(
        "/points/{point_id:int}/parcels/{shipment_id:int}/unlock",
        guards=[requires_login],
        status_code=200,
        summary="Unlock a parcel locked after wrong codes (staff, after checking the buyer's ID)",
    )
    async def unlock(self, db_session: AsyncSession, caller: Caller, point_id: int, shipment_id: int) -> ShipmentOut:
        return await pickup_service.unlock(db_session, caller, point_id, shipment_id)

    @put(
        "/shipments/{shipment_id:int}/tracking-number",
        guards=[requires_staff],
        summary="Record the courier and tracking number of a home delivery",
    )
    async def tracking_number(
        self, db_session: AsyncSession, caller: Caller, shipment_id: int, data: TrackingNumberIn
    ) -> ShipmentOut:
        return await pickup_service.set_tracking_number(db_session, caller, shipment_id, data)
