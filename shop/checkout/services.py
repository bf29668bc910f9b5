"""Checkout (结算): cart or buy-now lines → an order awaiting payment, with its stock held for 15 minutes.

One transaction: price the lines, quote the delivery, check and count the voucher, create the order and its lines,
reserve stock (rows locked in id order; 409 naming the product when it runs out), store the idempotent response,
empty the cart, commit.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Select, bindparam, func, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Product, ProductStatus, ProductVariant, StockLevel, Workshop
from shop import driver, metrics
from shop.auth import Caller
from shop.cart import attribution
from shop.cart.services import CartService
from shop.checkout.delivery import DeliveryRequest, QuoteLine, get_quoter
from shop.checkout.idempotency import IdempotencyStore
from shop.checkout.pricing import PricedLine, compute_totals
from shop.checkout.schemas import CheckoutIn
from shop.db import utcnow
from shop.errors import Conflict, DomainError, InvalidInput, NotFound
from shop.inserts import Child, fill_defaults, insert_together
from shop.money import BP_SCALE
from shop.orders.mapping import order_out
from shop.orders.models import DeliveryMethod, Order, OrderLine, OrderStatus
from shop.orders.schemas import OrderOut
from shop.stock.services import RESERVATION_MINUTES, StockRequest, StockService
from shop.vouchers.services import VoucherService, terms_of

CHECKOUT_ROUTE = "POST /api/checkout"

# Built once (bound by name): building it (operators, coercions, its cache key) cost more CPU than running it.
_LINES_ON_SALE = (
    select(
        ProductVariant.id,
        ProductVariant.name,
        ProductVariant.price_fen,
        ProductVariant.weight_g,
        ProductVariant.is_active,
        Product.id.label("product_id"),
        Product.title,
        Product.status,
        Product.shelf_life_days,
        Product.workshop_id,
        # The workshop's columns (not the entity: loading one cost more than the rest of the read); its county and
        # name go to the delivery quote with the lines.
        Workshop.is_active.label("workshop_is_active"),
        Workshop.service_fee_bp,
        Workshop.county_id.label("workshop_county_id"),
        Workshop.name.label("workshop_name"),
        select(func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
        .where(StockLevel.variant_id == ProductVariant.id)
        .correlate(ProductVariant)
        .scalar_subquery()
        .label("available"),
        # Where the units are: a variant stocked in one place (the usual case) is reserved there without the stock
        # service reading its rows again.
        select(func.count(StockLevel.id))
        .where(StockLevel.variant_id == ProductVariant.id)
        .correlate(ProductVariant)
        .scalar_subquery()
        .label("locations"),
        select(func.min(StockLevel.id))
        .where(StockLevel.variant_id == ProductVariant.id)
        .correlate(ProductVariant)
        .scalar_subquery()
        .label("first_location"),
    )
    .join(Product, Product.id == ProductVariant.product_id)
    .join(Workshop, Workshop.id == Product.workshop_id)
    .where(ProductVariant.id.in_(bindparam("variant_ids", expanding=True)))
)


# PostgreSQL: the new order's id and one id per line, taken from their sequences in the lines' read, so the order,
# its lines, reservations and stored response can all be written in the one statement that takes the stock.
_NEW_IDS = (
    select(func.nextval(literal_column(f"'{Order.__tablename__}_id_seq'"))).scalar_subquery().label("new_order_id"),
    func.nextval(literal_column(f"'{OrderLine.__tablename__}_id_seq'")).label("new_line_id"),
)


@functools.lru_cache(maxsize=8)
def _lines_on_sale(read_with_lines: tuple[Any, ...], with_ids: bool) -> Select[Any]:
    """The lines' read with the delivery quoter's columns, and the new ids (one statement per case, built once)."""
    return _LINES_ON_SALE.add_columns(*read_with_lines, *(_NEW_IDS if with_ids else ()))


@dataclass(slots=True)
class Wanted:
    variant_id: int
    quantity: int
    field: str
    live_session_id: int | None = None
    streamer_user_id: int | None = None
    commission_bp: int | None = None


class CheckoutService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def checkout(
        self,
        caller: Caller,
        data: CheckoutIn,
        *,
        cart_token: str | None = None,
        idempotency_key: str | None = None,
        now: dt.datetime | None = None,
    ) -> OrderOut:
        store = IdempotencyStore(self.session, f"user:{caller.id}", idempotency_key, CHECKOUT_ROUTE, data)
        # Optimistic: a key is seldom reused, so the stored response is looked up only when this attempt fails
        # (a replay: the record's unique key refuses the second insert, or the first call's effect — an empty cart,
        # sold-out stock — refuses the work). Nothing of a failed attempt is kept, so the outcome is the same as
        # looking first: the stored response for the same body, a 409 for another body.
        try:
            result = await self._checkout(caller, data, cart_token, store, now or utcnow())
            await self.session.commit()
            metrics.checkout_placed()
        except (IntegrityError, DomainError):
            await self.session.rollback()
            stored = await store.replay()
            if stored is None:
                metrics.checkout_refused()
                raise
            await self.session.rollback()
            return msgspec.convert(stored, OrderOut)
        except BaseException:
            metrics.checkout_refused()
            await self.session.rollback()
            raise
        return result

    async def _wanted(
        self, caller: Caller, data: CheckoutIn, cart_token: str | None, now: dt.datetime
    ) -> tuple[list[Wanted], int | None]:
        if data.lines is not None:
            merged: dict[int, Wanted] = {}
            for i, line in enumerate(data.lines):
                touch = await attribution.resolve(line.share_code, now)
                want = merged.get(line.variant_id)
                if want is None:
                    want = merged[line.variant_id] = Wanted(line.variant_id, 0, f"lines[{i}].variant_id")
                want.quantity += line.quantity
                if touch is not None:
                    want.live_session_id, want.streamer_user_id = touch.live_session_id, touch.streamer_user_id
                    want.commission_bp = touch.commission_bp
            return list(merged.values()), None
        cart = await CartService(self.session).resolve(caller, cart_token, create=False)
        if cart is None or not cart.lines:
            raise InvalidInput("Your cart is empty; add something or send `lines`.", field="lines")
        return [
            Wanted(
                ln.variant_id,
                ln.quantity,
                f"cart.lines[{i}]",
                ln.live_session_id,
                ln.streamer_user_id,
                ln.commission_bp,
            )
            for i, ln in enumerate(cart.lines)
        ], cart.id

    async def _checkout(
        self,
        caller: Caller,
        data: CheckoutIn,
        cart_token: str | None,
        store: IdempotencyStore,
        now: dt.datetime,
    ) -> OrderOut:
        delivery = data.delivery
        if delivery.method == "pickup" and delivery.pickup_point_id is None:
            raise InvalidInput("Choose a pickup point.", field="delivery.pickup_point_id")
        if delivery.method == "home" and delivery.address is None:
            raise InvalidInput("Home delivery needs an address.", field="delivery.address")
        wanted, cart_id = await self._wanted(caller, data, cart_token, now)
        wanted.sort(key=lambda w: w.variant_id)
        quoter = get_quoter()
        connection = await self.session.connection()
        with_ids = connection.dialect.name == "postgresql"
        # No BEGIN for it: nothing is written yet, and the writes may then go as one statement of their own.
        found = await driver.fetch_named(
            connection,
            _lines_on_sale(quoter.read_with_lines, with_ids),
            {"variant_ids": [w.variant_id for w in wanted], "pickup_point_id": delivery.pickup_point_id or 0},
            begin=False,
        )
        rows = {r.id: r for r in found}
        for want in wanted:
            row = rows.get(want.variant_id)
            if row is None:
                raise NotFound(f"No product variant {want.variant_id}.", field=want.field)
            if not (row.is_active and row.status is ProductStatus.ACTIVE and row.workshop_is_active):
                raise Conflict(
                    f"“{row.title}” is no longer on sale.",
                    field=want.field,
                    extra={"reason": "not_on_sale", "variant_id": want.variant_id},
                )
        for want in wanted:
            # Unlocked, so only a fast refusal: when a live sale has sold out, the late buyers hear so before any
            # delivery quote or order row is made (the reservation's guarded UPDATE is the check that counts).
            row = rows[want.variant_id]
            if row.available < want.quantity:
                raise StockService.out_of_stock(
                    StockRequest(0, want.variant_id, want.quantity, row.title), row.available
                )
        priced = [PricedLine(i, rows[w.variant_id].price_fen, w.quantity) for i, w in enumerate(wanted)]
        quote = await quoter.quote(
            self.session,
            DeliveryRequest(
                delivery.method,
                delivery.pickup_point_id,
                msgspec.to_builtins(delivery.address) if delivery.address else None,
                {column.name: getattr(found[0], column.name) for column in quoter.read_with_lines},
            ),
            [
                QuoteLine(
                    w.variant_id,
                    rows[w.variant_id].product_id,
                    rows[w.variant_id].workshop_id,
                    w.quantity,
                    rows[w.variant_id].weight_g,
                    rows[w.variant_id].shelf_life_days,
                    rows[w.variant_id].workshop_county_id,
                    rows[w.variant_id].workshop_name,
                )
                for w in wanted
            ],
        )
        vouchers = VoucherService(self.session)
        subtotal = sum(p.gross_fen for p in priced)
        voucher = await vouchers.check(data.voucher_code, caller.id, subtotal, now) if data.voucher_code else None
        totals = compute_totals(priced, terms_of(voucher) if voucher else None, quote.shipping_fen)
        nets = totals.line_nets(priced)
        expires_at = now + dt.timedelta(minutes=RESERVATION_MINUTES)
        order = Order(
            buyer_id=caller.id,
            status=OrderStatus.PENDING_PAYMENT,
            fulfilment_status=OrderStatus.PENDING_PAYMENT,
            payment_method=data.payment_method,
            delivery_method=DeliveryMethod(delivery.method),
            pickup_point_id=quote.pickup_point_id,
            address=quote.address,
            ready_date=quote.ready_date,
            subtotal_fen=totals.subtotal_fen,
            discount_fen=totals.discount_fen,
            shipping_fen=totals.shipping_fen,
            total_fen=totals.total_fen,
            voucher_id=voucher.id if voucher else None,
            reserved_until=expires_at,
            created_at=now,
            updated_at=now,
        )
        if with_ids:
            order.id = found[0].new_order_id
        for i, want in enumerate(wanted):
            row = rows[want.variant_id]
            commission = want.commission_bp
            if commission is not None:  # fee + commission never above 100% of the line
                commission = min(commission, BP_SCALE - row.service_fee_bp)
            order.lines.append(
                OrderLine(
                    id=row.new_line_id if with_ids else None,
                    order_id=order.id,
                    variant_id=want.variant_id,
                    product_id=row.product_id,
                    workshop_id=row.workshop_id,
                    title=f"{row.title} · {row.name}"[:240],
                    quantity=want.quantity,
                    unit_price_fen=row.price_fen,
                    gross_fen=priced[i].gross_fen,
                    discount_fen=totals.line_discounts[i],
                    net_fen=nets[i],
                    service_fee_bp=row.service_fee_bp,
                    commission_bp=commission,
                    live_session_id=want.live_session_id,
                    streamer_user_id=want.streamer_user_id if want.live_session_id is not None else None,
                )
            )
        written: list[Order | OrderLine] = [order, *order.lines]
        # The order and its lines go first when their ids are not known yet (SQLite: the lines' INSERTs take the
        # order's new id) or when other writes refer to them (a voucher's redemption, flushed with the cart's).
        if not with_ids or voucher is not None or cart_id is not None:
            lines: list[OrderLine | Child] = [
                line if with_ids else Child(line, order, "order_id") for line in order.lines
            ]
            await insert_together(self.session, [order, *lines])
            written = []
        stock = StockService(self.session)
        requests = [StockRequest(line.id, line.variant_id, line.quantity, line.title) for line in order.lines]
        # A variant stocked in one place (the usual case) is reserved there: the read above showed where, so its row is
        # touched last (below). Variants stocked in several places are planned under a lock now.
        planned = stock.plan_in_place(
            order.id, requests, expires_at, {v: row.first_location for v, row in rows.items() if row.locations == 1}
        )
        reservations = [] if planned else await stock.reserve(order.id, requests, expires_at, add_rows=False)
        if voucher is not None:
            await vouchers.redeem(voucher, caller.id, order.id, totals.discount_fen)
        if cart_id is not None:
            await CartService(self.session).clear(cart_id)
        fill_defaults(written)  # the response is made before they are written
        result = order_out(order)
        # The reservations and the idempotency record (and the order with its lines, when not yet written) in one
        # statement, with the stock row's update when the units are in one place: the last statement, so the row
        # stays locked for the commit only. When it is the only write (a buy-now checkout on PostgreSQL) it is its
        # own transaction: no BEGIN or COMMIT round trip.
        if planned is not None:
            await stock.take(planned, with_rows=[*written, *store.records(201, result)])
        else:
            await insert_together(self.session, [*written, *reservations, *store.records(201, result)])
        return result
