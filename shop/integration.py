"""Glue between the contexts (started with the app, listed last in WIRING_MODULES).

- cart attribution ← livestream share codes (`livestream.services.attribution.resolve`);
- "order paid" / "order refunded" → livestream live figures, and "order paid" → logistics shipments;
- logistics "parcel returned" → a shop refund of that parcel's lines (centre rules, system actor);
- logistics "pickup code ready" → the shop's notification sender;
- logistics parcel progress (at the pickup point, collected) → the order's fulfilment status (`ParcelProgress`).

- the checkout's delivery quoter ← logistics quotes (`LogisticsQuoter`): a pickup point is judged on the network
  (full, inactive, no route, shelf life → refused with logistics' reason), a home address's region names are
  resolved to ids as for shipments and priced from the county fee table. Until the network has a pickup point (a
  fresh install) it defers to the quoter it replaced. Shipments are still re-checked by logistics when paid.

Everything here runs after the shop's commit; a failure is logged (structlog warning) and never undoes a payment.
Each handler is idempotent: live figures key on order/refund id, logistics returns the existing shipments of an
order, and the return refund only refunds what is left on the parcel's lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.models import Product, ProductVariant, Region, RegionLevel, Workshop
from livestream.services import attribution as live_attribution
from livestream.services.figures import LiveFigures
from logistics import hooks as logistics_hooks
from logistics import notify as logistics_notify
from logistics.models import Shipment, ShipmentStatus
from logistics.schemas import DeliveryQuote as LogisticsQuote
from logistics.schemas import DeliveryRequest as LogisticsRequest
from logistics.schemas import HomeAddress, HomeRequest, PickupRequest, QuoteLine
from logistics.services.availability import POINT_LOAD_COLUMN, snapshot_and_loads
from logistics.services.delivery import WORKSHOP_ROUTE_COLUMNS, LogisticsDelivery, WorkshopRoute, hold_workshops
from logistics.services.shipments import ParcelPlan, create_shipments_for_orders
from logistics.snapshot import STAMP_COLUMN, held_snapshot, network_snapshot, snapshot_at_stamp
from shop import audit, driver
from shop.accounts.models import Role
from shop.auth import Caller
from shop.cart import attribution as cart_attribution
from shop.checkout import delivery as checkout_delivery
from shop.db import create_engine, create_session_factory, utcnow
from shop.errors import Conflict, InvalidInput, NotFound
from shop.notifications import NotificationKind, notify
from shop.orders import events, states
from shop.orders import jobs as order_jobs
from shop.orders.models import DeliveryMethod, Order, OrderLine, OrderStatus
from shop.orders.refunds import RefundService
from shop.orders.schemas import RefundIn, RefundLineIn
from shop.orders.services import load_order

log = structlog.get_logger(__name__)

# The actor of refunds the platform makes by itself (audit actor_id / refund created_by stay NULL).
SYSTEM_CALLER = Caller(None, "system", Role.CENTRE_ADMIN, "系统")  # type: ignore[arg-type]


class LiveAttributionResolver:
    """The cart's resolver: a share code → the live session, its streamer and rate (None when it does not attribute).

    It reads in its own session while the cart's transaction is open; on SQLite that one already holds the write
    lock (BEGIN IMMEDIATE), so the resolver reads through a deferred (read-only) engine there (WAL lets it read).
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def resolve(self, share_code: str | None, at: dt.datetime) -> cart_attribution.Attribution | None:
        async with self.session_factory() as session:
            found = await live_attribution.resolve(session, share_code, at)
        if found is None:
            return None
        return cart_attribution.Attribution(found.live_session_id, found.streamer_user_id, found.commission_bp)


class OrderEventBridge:
    """Order events → live figures and logistics shipments."""

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def on_paid(self, batch: list[events.OrderEvent]) -> None:
        """A hand-over's paid orders (a batch subscriber): their live figures, then all their shipments at once."""
        for event in batch:
            await self._figures_paid(event)
        await self._shipments(batch)

    async def _figures_paid(self, event: events.OrderEvent) -> None:
        lines = [
            (ln["live_session_id"], ln["streamer_user_id"], ln["net_fen"], ln.get("product_id"))
            for ln in event.payload.get("lines", [])
            if ln.get("live_session_id") is not None and ln.get("streamer_user_id") is not None
        ]
        if not lines:
            return
        paid_at = event.payload.get("paid_at")
        at = dt.datetime.fromisoformat(paid_at) if paid_at else utcnow()
        try:
            await LiveFigures.for_app(self.app).on_order_paid(event.order_id, lines, at)
        except Exception as exc:
            log.warning(
                "integration_live_figures_failed", event_name=event.name, order_id=event.order_id, error=str(exc)[:200]
            )

    async def on_refunded(self, event: events.OrderEvent) -> None:
        attributed = [
            ln
            for ln in event.payload.get("lines", [])
            if ln.get("live_session_id") is not None
            and ln.get("streamer_user_id") is not None
            and ln.get("amount_fen", 0) > 0
        ]
        refund_id = event.payload.get("refund_id")
        if not attributed or refund_id is None:
            return
        try:
            async with self.app.state.session_factory() as session:
                products = dict(
                    (
                        await session.execute(
                            select(OrderLine.id, OrderLine.product_id).where(
                                OrderLine.id.in_([ln["line_id"] for ln in attributed])
                            )
                        )
                    )
                    .tuples()
                    .all()
                )
            lines = [
                (ln["live_session_id"], ln["streamer_user_id"], ln["amount_fen"], products.get(ln["line_id"]))
                for ln in attributed
            ]
            await LiveFigures.for_app(self.app).on_order_refunded(event.order_id, int(refund_id), lines, utcnow())
        except Exception as exc:
            log.warning(
                "integration_live_figures_failed", event_name=event.name, order_id=event.order_id, error=str(exc)[:200]
            )

    async def _shipments(self, batch: list[events.OrderEvent]) -> None:
        """Plan the orders' shipments in one transaction; if it fails, one order at a time, so one order's problem
        (or a race with the relay on the same order) costs the others nothing."""
        try:
            async with self.app.state.session_factory() as session:
                planned = await create_shipments_for_orders(session, await self._plans(session, batch))
        except Exception as exc:
            if len(batch) == 1:
                log.warning("integration_shipments_failed", order_id=batch[0].order_id, error=str(exc)[:200])
                return
            log.info("integration_shipments_one_by_one", orders=len(batch), error=str(exc)[:200])
            for event in batch:
                await self._shipments([event])
            return
        for order_id, refusal in planned.refused.items():
            log.warning("integration_shipments_failed", order_id=order_id, error=str(refusal)[:200])

    async def _plans(self, session: AsyncSession, batch: list[events.OrderEvent]) -> list[ParcelPlan]:
        """The parcels and delivery of each paid order: pickup orders from their events (one catalogue read for all),
        home deliveries from the order (the address is not in the event)."""
        plans: dict[int, ParcelPlan] = {}
        pickups = [(event, point) for event in batch if (point := _pickup_point(event)) is not None]
        items = [
            (int(ln["variant_id"]), int(ln["product_id"]), int(ln["workshop_id"]), int(ln["quantity"]))
            for event, _ in pickups
            for ln in event.payload["lines"]
        ]
        parcels = iter(await _parcels(session, items)) if items else iter(())
        for event, point in pickups:
            lines = [next(parcels) for _ in event.payload["lines"]]
            delivery = PickupRequest(pickup_point_id=point)
            plans.setdefault(event.order_id, ParcelPlan(event.order_id, lines, delivery, event.buyer_id or None))
        for event in batch:
            if event.order_id in plans:
                continue
            order = await session.get(Order, event.order_id)
            if order is None:
                continue
            request = await delivery_request(session, order)
            if request is None:
                log.warning(
                    "integration_shipment_skipped",
                    order_id=order.id,
                    delivery_method=order.delivery_method.value,
                    reason="delivery not mappable",
                )
                continue
            lines = await parcel_lines(session, order)
            plans[order.id] = ParcelPlan(order.id, lines, request, order.buyer_id)
        return list(plans.values())


def _pickup_point(event: events.OrderEvent) -> int | None:
    """A pickup order's point from its "paid" event (which carries the point and the lines), so planning reads only
    the catalogue; None for home delivery (the address is on the order)."""
    payload = event.payload
    point_id = payload.get("pickup_point_id")
    if payload.get("delivery_method") != DeliveryMethod.PICKUP.value or point_id is None or not payload.get("lines"):
        return None
    return int(point_id)


_PARCEL_CATALOGUE = (  # built once: building a statement cost more CPU than running it
    select(ProductVariant.id, ProductVariant.weight_g, Product.shelf_life_days, *WORKSHOP_ROUTE_COLUMNS)
    .join(Product, Product.id == ProductVariant.product_id)
    .join(Workshop, Workshop.id == Product.workshop_id)
    .where(ProductVariant.id.in_(bindparam("variant_ids", expanding=True)))
)


async def _parcels(session: AsyncSession, lines: list[tuple[int, int, int, int]]) -> list[QuoteLine]:
    """(variant, product, workshop, quantity) lines as logistics parcels, weight and shelf life from the catalogue.

    The variants' workshops (county and name, for routing) come in the same read and are held for the plan, which
    then does not read them again.
    """
    found = await driver.fetch(
        await session.connection(), _PARCEL_CATALOGUE, {"variant_ids": [line[0] for line in lines]}, begin=False
    )
    hold_workshops(session, [WorkshopRoute(int(w), name, int(county)) for _v, _g, _s, w, name, county in found])
    catalogue = {int(row[0]): (int(row[1]), row[2]) for row in found}
    return [
        QuoteLine(
            product_id=product_id,
            workshop_id=workshop_id,
            weight_g=catalogue.get(variant_id, (0, None))[0],
            qty=quantity,
            shelf_life_days=catalogue.get(variant_id, (0, None))[1],
        )
        for variant_id, product_id, workshop_id, quantity in lines
    ]


async def parcel_lines(session: AsyncSession, order: Order) -> list[QuoteLine]:
    """The order's lines as logistics parcels (weight and shelf life from the catalogue)."""
    return await _parcels(session, [(ln.variant_id, ln.product_id, ln.workshop_id, ln.quantity) for ln in order.lines])


async def delivery_request(session: AsyncSession, order: Order) -> LogisticsRequest | None:
    """The shop's delivery as logistics expects it; None when a home address names no known village."""
    if order.delivery_method is DeliveryMethod.PICKUP:
        if order.pickup_point_id is None:
            return None
        return PickupRequest(pickup_point_id=order.pickup_point_id)
    address: dict[str, Any] = order.address or {}
    county, township, village = await resolve_regions(session, address)
    if county is None or township is None or village is None:
        return None
    return HomeRequest(home_address(address, county, township, village))


async def resolve_regions(session: AsyncSession, address: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """County, township and village ids of a free-text address (None from the first name that is not known)."""
    county = await _region(session, RegionLevel.COUNTY, address.get("county"))
    township = await _region(session, RegionLevel.TOWNSHIP, address.get("township"), county_id=county)
    village = await _region(session, RegionLevel.VILLAGE, address.get("village"), township_id=township)
    return county, township, village


def home_address(address: dict[str, Any], county: int, township: int, village: int) -> HomeAddress:
    return HomeAddress(
        county_id=county,
        township_id=township,
        village_id=village,
        street=str(address.get("detail") or ""),
        recipient=str(address.get("name") or ""),
        phone=str(address.get("phone") or ""),
    )


async def _region(session: AsyncSession, level: RegionLevel, name: Any, **parent: int | None) -> int | None:
    if not name or any(v is None for v in parent.values()):
        return None
    query = select(Region.id).where(Region.level == level, Region.name == str(name).strip())
    for column, value in parent.items():
        query = query.where(getattr(Region, column) == value)
    ids = list(await session.scalars(query.limit(2)))
    return ids[0] if len(ids) == 1 else None  # an ambiguous name is not guessed


_STAMP, _LOAD = "logistics_network_stamp", "logistics_point_load"


class LogisticsQuoter:
    """The checkout's delivery quoter on the logistics network; the quoter it replaced while the network has no
    pickup point. A refusal becomes a 422 (unknown point, bad address) or a 409 naming the delivery field."""

    INPUT_REFUSALS = frozenset({"unknown_point", "address_invalid"})
    # Read with the checkout's lines: the quote then needs no round trip of its own while the network copy is current.
    read_with_lines = (STAMP_COLUMN.label(_STAMP), POINT_LOAD_COLUMN.label(_LOAD))

    def __init__(self, fallback: checkout_delivery.DeliveryQuoter) -> None:
        self.fallback = fallback
        self.delivery = LogisticsDelivery()

    async def quote(
        self,
        session: AsyncSession,
        request: checkout_delivery.DeliveryRequest,
        lines: Sequence[checkout_delivery.QuoteLine],
    ) -> checkout_delivery.DeliveryQuote:
        # A network without pickup points (a fresh install) defers to the quoter logistics replaced. The copy read
        # here is the one the quote below reuses; for a pickup it comes with the point's load, in one round trip.
        loads: dict[int, int] | None = None
        known = request.read_with_lines
        if request.method == "pickup" and request.pickup_point_id is not None and _STAMP in known:
            network = held_snapshot(session) or await snapshot_at_stamp(session, known[_STAMP])
            loads = {request.pickup_point_id: int(known[_LOAD] or 0)}
        elif request.method == "pickup" and request.pickup_point_id is not None:
            network, loads = await snapshot_and_loads(session, [request.pickup_point_id])
        else:
            network = await network_snapshot(session)
        if network.point(request.pickup_point_id) is None and not network.has_points:
            return await self.fallback.quote(session, request, lines)
        parcels = [
            QuoteLine(
                product_id=ln.product_id,
                workshop_id=ln.workshop_id,
                weight_g=ln.weight_g,
                qty=ln.quantity,
                shelf_life_days=ln.shelf_life_days,
            )
            for ln in lines
        ]
        # the workshops as the checkout read them with its lines: the quote does not read them again
        routes = [
            WorkshopRoute(ln.workshop_id, ln.workshop_name, ln.workshop_county_id)
            for ln in lines
            if ln.workshop_county_id is not None
        ]
        hold_workshops(session, routes)
        if request.method == "pickup":
            if request.pickup_point_id is None:
                raise InvalidInput("Choose a pickup point.", field="delivery.pickup_point_id")
            got = await self.delivery.quote(
                session, PickupRequest(pickup_point_id=request.pickup_point_id), parcels, loads=loads
            )
            self._refuse(got, "delivery.pickup_point_id")
            return checkout_delivery.DeliveryQuote(0, request.pickup_point_id, None, got.ready_date)
        address = dict(request.address or {})
        ids = await resolve_regions(session, address)
        for level, found in zip(("county", "township", "village"), ids, strict=True):
            if found is None:
                name = str(address.get(level) or "").strip()
                detail = f"No {level} “{name}” is known in the delivery area." if name else f"Give the {level}."
                raise InvalidInput(detail, field=f"delivery.address.{level}")
        county, township, village = ids
        assert county is not None and township is not None and village is not None
        home = HomeRequest(home_address(address, county, township, village))
        got = await self.delivery.quote(session, home, parcels)
        self._refuse(got, "delivery.address")
        return checkout_delivery.DeliveryQuote(got.shipping_fen, None, address, got.ready_date)

    def _refuse(self, got: LogisticsQuote, field: str) -> None:
        if got.ok:
            return
        error = InvalidInput if got.reason_code in self.INPUT_REFUSALS else Conflict
        raise error(got.reason or "Delivery refused.", field=field, extra={"reason": got.reason_code})


class ReturnRefundHook:
    """A parcel went back uncollected: refund what is left of that parcel's lines (the workshop's lines)."""

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def on_parcel_returned(self, order_id: int, shipment_id: int) -> None:
        async with self.app.state.session_factory() as session:
            shipment = await session.get(Shipment, shipment_id)
            order = await session.get(Order, order_id)
            if shipment is None or order is None or shipment.order_id != order_id:
                log.warning("integration_return_unknown", order_id=order_id, shipment_id=shipment_id)
                return
            left = [
                RefundLineIn(line_id=ln.id, quantity=ln.quantity - ln.refunded_quantity)
                for ln in order.lines
                if ln.workshop_id == shipment.workshop_id and ln.quantity > ln.refunded_quantity
            ]
            await session.rollback()
            if not left:
                return  # already refunded: a retry changes nothing
            data = RefundIn(lines=left, reason=f"包裹 {shipment_id} 超期未取已退回")
            try:
                await RefundService(session, self.app.state.settings).refund(SYSTEM_CALLER, order_id, data)
            except Conflict as exc:  # the order's state forbids it (never paid…): retrying will not help
                log.warning(
                    "integration_return_refund_refused",
                    order_id=order_id,
                    shipment_id=shipment_id,
                    error=str(exc)[:200],
                )


# The pickup path an order walks as its parcels move; each step is recorded, none is skipped silently.
PICKUP_PATH = (
    OrderStatus.PAID,
    OrderStatus.PACKED,
    OrderStatus.SHIPPED,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.COLLECTED,
)


def parcels_target(statuses: Sequence[ShipmentStatus]) -> OrderStatus | None:
    """Where a pickup order stands given its parcels (returned ones are refunded and do not count)."""
    live = [s for s in statuses if s is not ShipmentStatus.RETURNED]
    if not live:
        return None
    if all(s is ShipmentStatus.COLLECTED for s in live):
        return OrderStatus.COLLECTED
    if all(s in (ShipmentStatus.AWAITING_PICKUP, ShipmentStatus.COLLECTED) for s in live):
        return OrderStatus.READY_FOR_PICKUP
    if any(s is not ShipmentStatus.CREATED for s in live):
        return OrderStatus.SHIPPED
    return None


class ParcelProgress:
    """Moves a pickup order forward when its parcels do: all at the point → 待取件, all collected → 已取件.

    Idempotent (an order already there, or further on, is left alone) and one transaction under the order's row lock,
    so two parcels arriving together move it once."""

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def follow(self, order_id: int) -> None:
        recorded: list[events.OrderEvent] = []
        async with self.app.state.session_factory() as session:
            try:
                order = await load_order(session, order_id, lock=True)
            except NotFound:
                return
            statuses = (await session.scalars(select(Shipment.status).where(Shipment.order_id == order_id))).all()
            target = parcels_target(statuses) if order.delivery_method is DeliveryMethod.PICKUP else None
            partial = order.status is OrderStatus.PARTIALLY_REFUNDED
            current = order.fulfilment_status if partial else order.status
            if target is None or current not in PICKUP_PATH or PICKUP_PATH.index(current) >= PICKUP_PATH.index(target):
                await session.rollback()
                return
            for step in PICKUP_PATH[PICKUP_PATH.index(current) + 1 : PICKUP_PATH.index(target) + 1]:
                before = order.fulfilment_status if partial else order.status
                if partial:  # a partly refunded order keeps that status; its fulfilment carries on
                    order.fulfilment_status = step
                else:
                    states.move(order, step)
                audit.record(
                    session,
                    actor_id=None,
                    action="status",
                    entity="order",
                    entity_id=order.id,
                    changes={"status": [before.value, step.value], "note": "包裹进度"},
                )
                change = {"from": before.value, "to": step.value}
                event = events.OrderEvent(events.ORDER_STATUS_CHANGED, order.id, order.buyer_id, change)
                recorded.append(events.record(session, event))
            await session.commit()
        await events.dispatch(recorded)


class PickupNoticeSender:
    """Logistics notices → the shop's sender and the order's status.

    The buyer's message carries the pickup code (取件码) — it is how the buyer learns it; the default log sender never
    writes the message, only that one was sent."""

    def __init__(self, progress: ParcelProgress | None = None) -> None:
        self.progress = progress

    async def send(self, notification: logistics_notify.Notification) -> None:
        if self.progress is not None and notification.kind in ("pickup_code", "collected"):
            try:
                await self.progress.follow(notification.order_id)
            except Exception:  # the parcel's move is committed; the order catches up on its next parcel event
                log.warning("integration_order_progress_failed", order_id=notification.order_id, exc_info=True)
        if notification.kind != "pickup_code" or notification.user_id is None:
            return  # a returned parcel is told through the refund's own notification
        await notify(
            NotificationKind.READY_FOR_PICKUP,
            notification.user_id,
            notification.order_id,
            shipment_id=notification.shipment_id,
            message=notification.text,
        )


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    bridge = OrderEventBridge(app)
    previous = (cart_attribution.get_resolver(), logistics_hooks.get_return_hook(), logistics_notify.get_sender())
    previous_quoter = checkout_delivery.get_quoter()
    settings = app.state.settings
    reader = create_engine(settings.db, sqlite_immediate=False) if settings.db.is_sqlite else None
    read_sessions = create_session_factory(reader) if reader is not None else app.state.session_factory
    cart_attribution.set_resolver(LiveAttributionResolver(read_sessions))
    events.subscribe_batch(events.ORDER_PAID, bridge.on_paid)
    events.subscribe(events.ORDER_REFUNDED, bridge.on_refunded)
    events.set_processed_marker(order_jobs.processed_marker(app.state.session_factory))
    logistics_hooks.set_return_hook(ReturnRefundHook(app))
    logistics_notify.set_sender(PickupNoticeSender(ParcelProgress(app)))
    checkout_delivery.set_quoter(LogisticsQuoter(previous_quoter))
    try:
        yield
    finally:
        events.unsubscribe_batch(events.ORDER_PAID, bridge.on_paid)
        events.unsubscribe(events.ORDER_REFUNDED, bridge.on_refunded)
        events.set_processed_marker(None)
        cart_attribution.set_resolver(previous[0])
        logistics_hooks.set_return_hook(previous[1])
        logistics_notify.set_sender(previous[2])
        checkout_delivery.set_quoter(previous_quoter)
        if reader is not None:
            await reader.dispose()
