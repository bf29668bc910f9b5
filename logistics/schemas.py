"""Logistics request and response bodies (msgspec)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from logistics.models import DeliveryMode, NodeKind, PointKind, ShipmentStatus

Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9][0-9-]{4,19}$")]
Hhmm = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Weekday = Annotated[int, msgspec.Meta(ge=0, le=6, description="0 = Monday … 6 = Sunday")]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 60)]
Capacity = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Fen = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
Grams = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
PickupCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]


# ---- network ---------------------------------------------------------------------------------------------------
class NodeCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A hub sits in a county, a station in a township (parent: its hub), a point in a village (parent: station)."""

    kind: NodeKind
    code: Code
    name: Name
    region_id: Id
    parent_id: Id | None = None
    point_kind: PointKind | None = None
    address: Annotated[str, msgspec.Meta(max_length=200)] = ""
    contact_name: Annotated[str, msgspec.Meta(max_length=50)] = ""
    contact_phone: Phone | None = None
    opening_hours: Annotated[str, msgspec.Meta(max_length=100)] = ""
    capacity: Capacity = 0
    is_active: bool = True


class NodeUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    contact_name: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    contact_phone: Phone | None = None
    opening_hours: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    capacity: Capacity | None = None
    is_active: bool | None = None


class NodeOut(msgspec.Struct):
    id: int
    kind: NodeKind
    code: str
    name: str
    region_id: int
    parent_id: int | None
    point_kind: PointKind | None
    address: str
    contact_name: str
    contact_phone: str
    opening_hours: str
    capacity: int
    is_active: bool


class DepartureIn(msgspec.Struct, forbid_unknown_fields=True):
    weekday: Weekday
    time: Hhmm


class RouteCreate(msgspec.Struct, forbid_unknown_fields=True):
    origin_id: Id
    destination_id: Id
    transit_minutes: Minutes
    departures: Annotated[list[DepartureIn], msgspec.Meta(max_length=200)] = []
    name: Annotated[str, msgspec.Meta(max_length=100)] = ""


class RouteUpdate(msgspec.Struct, forbid_unknown_fields=True):
    transit_minutes: Minutes | None = None
    departures: Annotated[list[DepartureIn], msgspec.Meta(max_length=200)] | None = None
    is_active: bool | None = None
    name: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class DepartureOut(msgspec.Struct):
    weekday: int
    time: str
    vehicle_stop_id: int | None = None


class RouteOut(msgspec.Struct):
    id: int
    name: str
    origin_id: int
    destination_id: int
    transit_minutes: int
    is_active: bool
    departures: list[DepartureOut]


class VehicleStopCreate(msgspec.Struct, forbid_unknown_fields=True):
    """The vehicle leaves the point's station `transit_minutes` before the window opens."""

    vehicle_name: Name
    weekday: Weekday
    window_start: Hhmm
    window_end: Hhmm
    transit_minutes: Minutes = 60


class VehicleStopOut(msgspec.Struct):
    id: int
    point_id: int
    vehicle_name: str
    weekday: int
    window_start: str
    window_end: str


class StaffIn(msgspec.Struct, forbid_unknown_fields=True):
    user_id: Id


class ShippingRateIn(msgspec.Struct, forbid_unknown_fields=True):
    first_fen: Fen
    first_weight_g: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1000
    extra_kg_fen: Fen = 0
    delivery_days: Annotated[int, msgspec.Meta(ge=0, le=30)] = 2


class ShippingRateOut(msgspec.Struct):
    county_id: int
    first_weight_g: int
    first_fen: int
    extra_kg_fen: int
    delivery_days: int


class RejectedRow(msgspec.Struct):
    row: int
    reason: str


class ImportReport(msgspec.Struct):
    created: int
    updated: int
    rejected: list[RejectedRow]


# ---- checkout --------------------------------------------------------------------------------------------------
class QuoteLine(msgspec.Struct, forbid_unknown_fields=True):
    product_id: Id
    workshop_id: Id
    weight_g: Grams
    qty: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    shelf_life_days: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None


class HomeAddress(msgspec.Struct, forbid_unknown_fields=True):
    county_id: Id
    township_id: Id
    village_id: Id
    street: Annotated[str, msgspec.Meta(max_length=200)]
    recipient: Annotated[str, msgspec.Meta(max_length=50)]
    phone: Annotated[str, msgspec.Meta(max_length=20)]


class PickupRequest(msgspec.Struct, tag="pickup", forbid_unknown_fields=True):
    pickup_point_id: Id
    recipient: Annotated[str, msgspec.Meta(max_length=50)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=20)] = ""


class HomeRequest(msgspec.Struct, tag="home", forbid_unknown_fields=True):
    address: HomeAddress


DeliveryRequest = PickupRequest | HomeRequest


class QuoteIn(msgspec.Struct, forbid_unknown_fields=True):
    delivery: DeliveryRequest
    lines: Annotated[list[QuoteLine], msgspec.Meta(min_length=1, max_length=200)]


class ParcelQuote(msgspec.Struct):
    workshop_id: int
    weight_g: int
    shipping_fen: int
    ready_at: dt.datetime | None
    ready_date: dt.date | None


class DeliveryQuote(msgspec.Struct):
    """`ok` False carries `reason_code` and a `reason` a buyer can read; otherwise fee and earliest date."""

    ok: bool
    mode: DeliveryMode
    shipping_fen: int = 0
    ready_date: dt.date | None = None
    parcels: list[ParcelQuote] = []
    reason_code: str | None = None
    reason: str | None = None


class PointOption(msgspec.Struct):
    point_id: int
    name: str
    point_kind: PointKind
    village_id: int
    address: str
    opening_hours: str
    same_village: bool
    available: bool
    ready_date: dt.date | None = None
    ready_at: dt.datetime | None = None
    free_slots: int = 0
    reason_code: str | None = None
    reason: str | None = None


class PointOptions(msgspec.Struct):
    village_id: int
    points: list[PointOption]
    unavailable: list[PointOption]


# ---- shipments, tracking, pickup -------------------------------------------------------------------------------
class TimelineEntry(msgspec.Struct):
    at: dt.datetime
    kind: str
    text: str
    node_id: int | None = None
    batch_id: int | None = None


class ShipmentOut(msgspec.Struct):
    id: int
    order_id: int
    workshop_id: int
    mode: DeliveryMode
    status: ShipmentStatus
    pickup_point_id: int | None
    weight_g: int
    shipping_fen: int
    ready_date: dt.date | None
    courier: str
    tracking_number: str
    locked: bool
    pickup_code: str | None = None  # shown to the buyer only
    timeline: list[TimelineEntry] = []


class TrackingOut(msgspec.Struct):
    order_id: int
    shipments: list[ShipmentOut]


class CodeIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(max_length=16)]


class PickupResult(msgspec.Struct):
    shipment_id: int
    status: ShipmentStatus
    collected_at: dt.datetime | None


class TrackingNumberIn(msgspec.Struct, forbid_unknown_fields=True):
    courier: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    tracking_number: Annotated[str, msgspec.Meta(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


class DispatchIn(msgspec.Struct, forbid_unknown_fields=True):
    date: dt.date


class DispatchSummary(msgspec.Struct):
    run_id: int
    service_date: dt.date
    legs_planned: int
    batches: int
    elapsed_ms: int


class BatchOut(msgspec.Struct):
    id: int
    route_id: int
    route_name: str
    origin: str
    destination: str
    service_date: dt.date
    departs_at: dt.datetime
    arrives_at: dt.datetime
    status: str
    parcel_count: int
    weight_g: int


class ArrivalResult(msgspec.Struct):
    batch_id: int
    arrived: int
    awaiting_pickup: int


class ReturnRun(msgspec.Struct):
    returned: int
    refunds_notified: int


SheetFormat = Literal["html", "pdf"]
