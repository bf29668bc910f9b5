"""Checkout seam: delivery quotes, the pickup points that can serve a village, address validation, home fees.

The shop calls `LogisticsDelivery.quote(session, request, lines)` and `available_pickup_points(...)`; lines are
anything with product_id, workshop_id, weight_g, qty and shelf_life_days (None for goods that keep).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Region, RegionLevel, Workshop
from logistics.config import get_logistics_settings, local, utc_now
from logistics.models import DeliveryMode, LogisticsNode, NodeKind, PointKind, ShippingRate
from logistics.schemas import (
    DeliveryQuote,
    DeliveryRequest,
    HomeAddress,
    HomeRequest,
    ParcelQuote,
    PickupRequest,
    PointOption,
    PointOptions,
)
from logistics.services.availability import Network, load_network, network_of, open_parcels, transit_days
from logistics.snapshot import NodeView, network_snapshot
from shop import driver
from shop.errors import InvalidInput, NotFound

MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")


class ParcelLine(Protocol):
    product_id: int
    workshop_id: int
    weight_g: int
    qty: int
    shelf_life_days: int | None


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A pickup point judged for one basket: ready time per workshop, or why it cannot serve."""

    ready: dict[int, dt.datetime]
    free_slots: int
    refusal: Refusal | None = None


def parcels_by_workshop(lines: Sequence[ParcelLine]) -> dict[int, list[ParcelLine]]:
    grouped: dict[int, list[ParcelLine]] = defaultdict(list)
    for line in lines:
        grouped[line.workshop_id].append(line)
    return dict(sorted(grouped.items()))


def parcel_weight(lines: Sequence[ParcelLine]) -> int:
    return sum(line.weight_g * line.qty for line in lines)


def home_fee(rate: ShippingRate, weight_g: int) -> int:
    """First weight at the flat fee, then each further started kilogram (integer fen, no rounding needed)."""
    extra_g = max(0, weight_g - rate.first_weight_g)
    return rate.first_fen + (-(-extra_g // 1000)) * rate.extra_kg_fen


def check_phone(phone: str, field: str) -> str:
    cleaned = phone.strip().replace(" ", "")
    if not (MOBILE.match(cleaned) or LANDLINE.match(cleaned)):
        raise InvalidInput("Give a mainland mobile number (11 digits, 1xx…) or a landline with area code.", field=field)
    return cleaned


async def validate_address(session: AsyncSession, address: HomeAddress) -> HomeAddress:
    """The village must sit in the township, the township in the county; street, recipient, phone filled in."""
    village = await session.get(Region, address.village_id)
    if village is None or village.level is not RegionLevel.VILLAGE:
        raise InvalidInput(f"Village {address.village_id} does not exist.", field="address.village_id")
    if village.township_id != address.township_id:
        raise InvalidInput("The village is not in that township.", field="address.township_id")
    if village.county_id != address.county_id:
        raise InvalidInput("The township is not in that county.", field="address.county_id")
    street = address.street.strip()
    if len(street) < 2:
        raise InvalidInput(
            "Give the street, house number or group (组) so the courier can find you.", field="address.street"
        )
    recipient = address.recipient.strip()
    if not recipient:
        raise InvalidInput("Give the recipient's name.", field="address.recipient")
    phone = check_phone(address.phone, "address.phone")
    return HomeAddress(address.county_id, address.township_id, address.village_id, street, recipient, phone)


@dataclass(frozen=True, slots=True)
class WorkshopRoute:
    """What routing needs of a workshop (工坊): its county, whose hub its parcels leave from, and its name."""

    id: int
    name: str
    county_id: int


# The columns of a `WorkshopRoute`, for a caller's own read that already joins the workshop (the checkout's lines,
# the hand-over's catalogue read), which then `hold_workshops` them for the quote.
WORKSHOP_ROUTE_COLUMNS = (
    Workshop.id.label("route_workshop_id"),
    Workshop.name.label("route_workshop_name"),
    Workshop.county_id.label("route_county_id"),
)
_HELD = "logistics.workshops"
_WORKSHOP_ROUTES = select(Workshop.id, Workshop.name, Workshop.county_id).where(
    Workshop.id.in_(bindparam("ids", expanding=True))
)


def _held_workshops(session: AsyncSession) -> dict[int, WorkshopRoute]:
    """The workshops this session's transaction has read (a fresh dict for a new transaction)."""
    transaction = session.sync_session.get_transaction()
    held = session.info.get(_HELD)
    if held is None or held[0] is not transaction:
        held = session.info[_HELD] = (transaction, {})
    routes: dict[int, WorkshopRoute] = held[1]
    return routes


def hold_workshops(session: AsyncSession, routes: Iterable[WorkshopRoute]) -> None:
    """Keep workshops just read in this transaction, so the quote or plan that follows does not read them again (a
    checkout quotes twice, a payment quotes and plans)."""
    _held_workshops(session).update({route.id: route for route in routes})


class LogisticsDelivery:
    """Quotes for checkout. Pure reads: no commit, no lock (create_shipments re-checks under its own write)."""

    @staticmethod
    async def workshops(session: AsyncSession, lines: Sequence[ParcelLine]) -> dict[int, WorkshopRoute]:
        ids = {line.workshop_id for line in lines}
        known = _held_workshops(session)
        if not ids <= known.keys():
            rows = await driver.fetch(
                await session.connection(), _WORKSHOP_ROUTES, {"ids": sorted(ids - known.keys())}, begin=False
            )
            known.update({int(i): WorkshopRoute(int(i), name, int(county)) for i, name, county in rows})
        found = {workshop_id: known[workshop_id] for workshop_id in ids if workshop_id in known}
        missing = sorted(ids - found.keys())
        if missing:
            raise InvalidInput(f"Workshop {missing[0]} does not exist.", field="lines")
        return found

    @staticmethod
    def evaluate(
        net: Network,
        point: NodeView | LogisticsNode,
        workshops: Mapping[int, WorkshopRoute],
        grouped: dict[int, list[ParcelLine]],
        load: int,
        now: dt.datetime,
    ) -> Evaluation:
        free = max(0, point.capacity - load)
        if not point.is_active:
            return Evaluation({}, free, Refusal("inactive", f"{point.name} is not taking parcels at the moment."))
        if len(grouped) > free:
            return Evaluation(
                {},
                free,
                Refusal("point_full", f"{point.name} is full ({point.capacity} parcels); choose another point."),
            )
        at_hub = now + dt.timedelta(minutes=get_logistics_settings().handover_minutes)
        ready: dict[int, dt.datetime] = {}
        for workshop_id, parcel in grouped.items():
            hub_id = net.hub_by_county.get(workshops[workshop_id].county_id)
            when = net.ready_at(hub_id, point.id, at_hub) if hub_id else None
            if when is None:
                return Evaluation(
                    {},
                    free,
                    Refusal("no_route", f"No scheduled route reaches {point.name} from {workshops[workshop_id].name}."),
                )
            ready[workshop_id] = when
            days = transit_days(now, when)
            for line in parcel:
                if line.shelf_life_days is not None and days >= line.shelf_life_days:
                    return Evaluation(
                        ready,
                        free,
                        Refusal(
                            "shelf_life",
                            f"Fresh goods (product {line.product_id}) keep {line.shelf_life_days} "
                            f"day(s) but would reach {point.name} only after {days} day(s).",
                        ),
                    )
        return Evaluation(ready, free)

    async def available_pickup_points(
        self, session: AsyncSession, village_id: int, lines: Sequence[ParcelLine], now: dt.datetime | None = None
    ) -> PointOptions:
        """Active points of the buyer's township (own village first), earliest first; the others with a reason."""
        now = now or utc_now()
        village = await session.get(Region, village_id)
        if village is None or village.level is not RegionLevel.VILLAGE:
            raise NotFound(f"Village {village_id} not found.", field="village_id")
        workshops = await self.workshops(session, lines)
        grouped = parcels_by_workshop(lines)
        points = list(
            await session.scalars(
                select(LogisticsNode)
                .join(Region, Region.id == LogisticsNode.region_id)
                .where(
                    LogisticsNode.kind == NodeKind.POINT,
                    LogisticsNode.is_active.is_(True),
                    Region.township_id == village.township_id,
                )
                .order_by(LogisticsNode.id)
            )
        )
        net = await load_network(session)
        loads = await open_parcels(session, [p.id for p in points])
        offered: list[PointOption] = []
        declined: list[PointOption] = []
        for point in points:
            result = self.evaluate(net, point, workshops, grouped, loads.get(point.id, 0), now)
            ready_at = max(result.ready.values()) if result.ready and result.refusal is None else None
            option = PointOption(
                point.id,
                point.name,
                point.point_kind or PointKind.SERVICE_POINT,
                point.region_id,
                point.address,
                point.opening_hours,
                point.region_id == village_id,
                result.refusal is None,
                local(ready_at).date() if ready_at else None,
                ready_at,
                result.free_slots,
                result.refusal.code if result.refusal else None,
                result.refusal.reason if result.refusal else None,
            )
            (declined if result.refusal else offered).append(option)
        offered.sort(key=lambda o: (not o.same_village, o.ready_at or now, o.point_id))
        return PointOptions(village_id, offered, declined)

    async def quote(
        self,
        session: AsyncSession,
        request: DeliveryRequest,
        lines: Sequence[ParcelLine],
        now: dt.datetime | None = None,
        *,
        loads: dict[int, int] | None = None,
    ) -> DeliveryQuote:
        """`loads`: parcels each point holds, when the caller has them (read here otherwise)."""
        now = now or utc_now()
        if not lines:
            raise InvalidInput("Nothing to deliver.", field="lines")
        workshops = await self.workshops(session, lines)
        grouped = parcels_by_workshop(lines)
        if isinstance(request, PickupRequest):
            return await self._pickup_quote(session, request, workshops, grouped, now, loads)
        return await self._home_quote(session, request, grouped, now)

    async def _pickup_quote(
        self,
        session: AsyncSession,
        request: PickupRequest,
        workshops: Mapping[int, WorkshopRoute],
        grouped: dict[int, list[ParcelLine]],
        now: dt.datetime,
        loads: dict[int, int] | None = None,
    ) -> DeliveryQuote:
        snapshot = await network_snapshot(session)
        point = snapshot.point(request.pickup_point_id)
        if point is None:
            return refused(
                DeliveryMode.PICKUP, "unknown_point", f"Pickup point {request.pickup_point_id} does not exist."
            )
        if request.phone:
            check_phone(request.phone, "delivery.phone")
        net = network_of(snapshot)
        if loads is None:
            loads = await open_parcels(session, [point.id])
        result = self.evaluate(net, point, workshops, grouped, loads.get(point.id, 0), now)
        if result.refusal:
            return refused(DeliveryMode.PICKUP, result.refusal.code, result.refusal.reason)
        parcels = [
            ParcelQuote(wid, parcel_weight(grouped[wid]), 0, when, local(when).date())
            for wid, when in result.ready.items()
        ]
        return DeliveryQuote(True, DeliveryMode.PICKUP, 0, max(p.ready_date for p in parcels if p.ready_date), parcels)

    async def _home_quote(
        self, session: AsyncSession, request: HomeRequest, grouped: dict[int, list[ParcelLine]], now: dt.datetime
    ) -> DeliveryQuote:
        try:
            address = await validate_address(session, request.address)
        except InvalidInput as exc:
            return refused(DeliveryMode.HOME, "address_invalid", exc.detail)
        rate = await session.scalar(select(ShippingRate).where(ShippingRate.county_id == address.county_id))
        if rate is None:
            return refused(
                DeliveryMode.HOME,
                "no_home_delivery",
                "Home delivery does not reach this county yet; choose a pickup point.",
            )
        at_hub = now + dt.timedelta(minutes=get_logistics_settings().handover_minutes)
        ready_date = local(at_hub).date() + dt.timedelta(days=rate.delivery_days)
        days = (ready_date - local(now).date()).days
        parcels = []
        for wid, parcel in grouped.items():
            for line in parcel:
                if line.shelf_life_days is not None and days >= line.shelf_life_days:
                    return refused(
                        DeliveryMode.HOME,
                        "shelf_life",
                        f"Fresh goods (product {line.product_id}) keep "
                        f"{line.shelf_life_days} day(s) but home delivery takes {days} day(s).",
                    )
            weight = parcel_weight(parcel)
            parcels.append(ParcelQuote(wid, weight, home_fee(rate, weight), None, ready_date))
        return DeliveryQuote(True, DeliveryMode.HOME, sum(p.shipping_fen for p in parcels), ready_date, parcels)


def refused(mode: DeliveryMode, code: str, reason: str) -> DeliveryQuote:
    return DeliveryQuote(False, mode, reason_code=code, reason=reason)
