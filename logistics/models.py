"""丽水山递 tables: the three-level network, routes and timetables, shipments, dispatch batches, pickup.

The network is one node table (county hub 县级中心 → township station 乡镇站 → village pickup point 村级服务点 /
mobile supply vehicle stop 流动供销车停靠点), so a route is simply origin node → destination node. Times that the
set-based dispatch planner compares are integer epoch minutes (see `logistics.config`).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, BigIntId, IdMixin, TimestampMixin, utcnow


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(
        cls, native_enum=False, length=32, validate_strings=True, values_callable=lambda e: [m.value for m in e]
    )


class NodeKind(enum.StrEnum):
    HUB = "hub"  # 县级物流中心
    STATION = "station"  # 乡镇服务站
    POINT = "point"  # 村级服务点 / 流动供销车停靠点


class PointKind(enum.StrEnum):
    SERVICE_POINT = "service_point"  # 村级服务点
    VEHICLE_STOP = "vehicle_stop"  # 流动供销车停靠点


class DeliveryMode(enum.StrEnum):
    PICKUP = "pickup"
    HOME = "home"


class ShipmentStatus(enum.StrEnum):
    CREATED = "created"
    IN_TRANSIT = "in_transit"
    AWAITING_PICKUP = "awaiting_pickup"
    COLLECTED = "collected"
    RETURNED = "returned"
    WITH_COURIER = "with_courier"
    DELIVERED = "delivered"


# A parcel occupies a pickup point's shelf from checkout until it is collected or sent back.
OPEN_STATUSES = (ShipmentStatus.CREATED, ShipmentStatus.IN_TRANSIT, ShipmentStatus.AWAITING_PICKUP)


class LegStatus(enum.StrEnum):
    PENDING = "pending"
    PLANNED = "planned"
    ARRIVED = "arrived"


class BatchStatus(enum.StrEnum):
    PLANNED = "planned"
    ARRIVED = "arrived"


class LogisticsNode(IdMixin, TimestampMixin, Base):
    """A hub, station or pickup point. `parent_id`: a station's hub, a point's station."""

    __tablename__ = "logistics_node"
    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_non_negative"),
        Index("ix_logistics_node_kind_region", "kind", "region_id"),
    )

    kind: Mapped[NodeKind] = mapped_column(_enum(NodeKind))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # The county (hub), township (station) or village (point) the node sits in.
    region_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("region.id", ondelete="RESTRICT"))
    parent_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("logistics_node.id", ondelete="RESTRICT"), index=True, default=None
    )
    point_kind: Mapped[PointKind | None] = mapped_column(_enum(PointKind), default=None)
    address: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    opening_hours: Mapped[str] = mapped_column(String(100), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=0)  # parcels a point can hold at once
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Route(IdMixin, TimestampMixin, Base):
    """A leg of the network with a weekly timetable: hub→hub, hub→station or station→point."""

    __tablename__ = "logistics_route"
    __table_args__ = (
        UniqueConstraint("origin_id", "destination_id"),
        CheckConstraint("transit_minutes > 0", name="transit_positive"),
    )

    origin_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("logistics_node.id", ondelete="RESTRICT"))
    destination_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("logistics_node.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    transit_minutes: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class RouteDeparture(IdMixin, Base):
    """A departure of a route on a weekday (0 = Monday) at a local minute of the day."""

    __tablename__ = "logistics_route_departure"
    __table_args__ = (
        UniqueConstraint("route_id", "weekday", "minute"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("minute BETWEEN 0 AND 1439", name="minute_range"),
    )

    route_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("logistics_route.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(SmallInteger)
    minute: Mapped[int] = mapped_column(SmallInteger)
    # Set when the departure is the run of a mobile supply vehicle to one of its stops.
    vehicle_stop_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("logistics_vehicle_stop.id", ondelete="CASCADE"), default=None
    )


class VehicleStop(IdMixin, Base):
    """流动供销车: a scheduled stop (weekday, local time window) at a vehicle-stop pickup point."""

    __tablename__ = "logistics_vehicle_stop"
    __table_args__ = (
        UniqueConstraint("point_id", "weekday", "window_start"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("window_start < window_end AND window_end <= 1440", name="window_order"),
    )

    point_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("logistics_node.id", ondelete="CASCADE"), index=True)
    vehicle_name: Mapped[str] = mapped_column(String(50))
    weekday: Mapped[int] = mapped_column(SmallInteger)
    window_start: Mapped[int] = mapped_column(SmallInteger)
    window_end: Mapped[int] = mapped_column(SmallInteger)


class PointStaff(IdMixin, Base):
    """A user who works at a pickup point (verifies pickup codes, confirms arrivals)."""

    __tablename__ = "logistics_point_staff"
    __table_args__ = (UniqueConstraint("point_id", "user_id"),)

    point_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("logistics_node.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("user_account.id", ondelete="CASCADE"), index=True)


class ShippingRate(IdMixin, TimestampMixin, Base):
    """Home-delivery fee by destination county: first weight, then each further started kilogram."""

    __tablename__ = "logistics_shipping_rate"
    __table_args__ = (
        CheckConstraint("first_fen >= 0 AND extra_kg_fen >= 0 AND first_weight_g > 0", name="non_negative"),
        CheckConstraint("delivery_days >= 0", name="delivery_days_non_negative"),
    )

    county_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("region.id", ondelete="CASCADE"), unique=True)
    first_weight_g: Mapped[int] = mapped_column(Integer, default=1000)
    first_fen: Mapped[int] = mapped_column(Integer)
    extra_kg_fen: Mapped[int] = mapped_column(Integer, default=0)
    delivery_days: Mapped[int] = mapped_column(SmallInteger, default=2)


class Shipment(IdMixin, TimestampMixin, Base):
    """One parcel: the lines of one paid order that leave from one workshop."""

    __tablename__ = "logistics_shipment"
    __table_args__ = (
        UniqueConstraint("order_id", "workshop_id"),
        # One-time codes: cleared when the parcel is collected or returned, so only waiting parcels collide.
        UniqueConstraint("pickup_point_id", "pickup_code"),
        Index("ix_logistics_shipment_point_status", "pickup_point_id", "status"),
        Index("ix_logistics_shipment_status_arrived", "status", "arrived_at"),
    )

    order_id: Mapped[int] = mapped_column(BigInteger, index=True)  # shop order; no FK until orders land
    workshop_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workshop.id", ondelete="RESTRICT"))
    buyer_user_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("user_account.id", ondelete="SET NULL"), index=True, default=None
    )
    mode: Mapped[DeliveryMode] = mapped_column(_enum(DeliveryMode))
    status: Mapped[ShipmentStatus] = mapped_column(_enum(ShipmentStatus), default=ShipmentStatus.CREATED)
    origin_hub_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("logistics_node.id"), default=None)
    pickup_point_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("logistics_node.id"), default=None)
    county_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("region.id"), default=None)
    township_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("region.id"), default=None)
    village_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("region.id"), default=None)
    street: Mapped[str] = mapped_column(String(200), default="")
    recipient_name: Mapped[str] = mapped_column(String(50), default="")
    recipient_phone: Mapped[str] = mapped_column(String(20), default="")
    weight_g: Mapped[int] = mapped_column(Integer, default=0)
    shipping_fen: Mapped[int] = mapped_column(Integer, default=0)
    ready_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    fresh_until: Mapped[dt.date | None] = mapped_column(Date, default=None)
    courier: Mapped[str] = mapped_column(String(50), default="")
    tracking_number: Mapped[str] = mapped_column(String(64), default="")
    pickup_code: Mapped[str | None] = mapped_column(String(6), default=None)
    wrong_code_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    collected_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    returned_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Set once the shop's refund hook has run for a returned parcel (retried by the job until then).
    return_notified_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class DispatchBatch(IdMixin, Base):
    """The parcels leaving on one departure of one route on one day (a driver's route sheet)."""

    __tablename__ = "logistics_dispatch_batch"
    __table_args__ = (UniqueConstraint("route_id", "service_date", "minute"),)

    route_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("logistics_route.id", ondelete="RESTRICT"))
    service_date: Mapped[dt.date] = mapped_column(Date, index=True)
    minute: Mapped[int] = mapped_column(SmallInteger)  # local departure minute of the day
    departs_min: Mapped[int] = mapped_column(BigInteger)  # epoch minutes
    arrives_min: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[BatchStatus] = mapped_column(_enum(BatchStatus), default=BatchStatus.PLANNED)
    parcel_count: Mapped[int] = mapped_column(Integer, default=0)
    weight_g: Mapped[int] = mapped_column(BigInteger, default=0)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ShipmentLeg(IdMixin, Base):
    """One leg of a parcel's path; the first leg's `available_min` is when the parcel is at its county hub."""

    __tablename__ = "logistics_shipment_leg"
    __table_args__ = (UniqueConstraint("shipment_id", "seq"),)

    shipment_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("logistics_shipment.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(SmallInteger)
    route_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("logistics_route.id", ondelete="RESTRICT"))
    status: Mapped[LegStatus] = mapped_column(_enum(LegStatus), default=LegStatus.PENDING)
    available_min: Mapped[int | None] = mapped_column(BigInteger, default=None)
    departs_min: Mapped[int | None] = mapped_column(BigInteger, default=None)
    arrives_min: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # No FK: planning sets 100,000s of these in one statement and batches are never deleted; a foreign key would
    # add a locking lookup per row for nothing.
    batch_id: Mapped[int | None] = mapped_column(BigInteger, index=True, default=None)
    run_id: Mapped[int | None] = mapped_column(BigInteger, default=None)  # the run that planned it


class DispatchRun(IdMixin, Base):
    """One planning of a day's batches (from the CLI, the API or the bench)."""

    __tablename__ = "logistics_dispatch_run"

    service_date: Mapped[dt.date] = mapped_column(Date, index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    legs_planned: Mapped[int] = mapped_column(Integer, default=0)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)


class ShipmentEvent(IdMixin, Base):
    """A line of the buyer's tracking timeline."""

    __tablename__ = "logistics_shipment_event"
    __table_args__ = (Index("ix_logistics_shipment_event_shipment", "shipment_id", "id"),)

    shipment_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("logistics_shipment.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    node_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("logistics_node.id"), default=None)
    batch_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("logistics_dispatch_batch.id", ondelete="SET NULL"), default=None
    )
    note: Mapped[str] = mapped_column(String(200), default="")


class NetworkStamp(Base):
    """One row: a random stamp that every change to the network (nodes, routes, timetables, vehicle stops) replaces
    in the changing transaction, so a process may keep its copy of the network until the stamp moves
    (`logistics.services.snapshot`). Random rather than a counter: a fresh or emptied database never repeats a
    stamp another one had."""

    __tablename__ = "logistics_network_stamp"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    stamp: Mapped[int] = mapped_column(BigInteger)


# The hooks that restamp the network on every write must be active wherever these models are.
import logistics.snapshot  # noqa: E402, F401
