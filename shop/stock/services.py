"""Reserving, releasing, committing and returning stock — never overselling, on PostgreSQL or SQLite.

Every method runs inside the caller's transaction and touches `stock_level` rows in ascending id order:
PostgreSQL locks them with SELECT ... FOR UPDATE (so two checkouts never deadlock and never both take the last
unit); SQLite serialises writers at BEGIN IMMEDIATE. Each UPDATE also carries its own guard
(`on_hand - reserved >= qty`), so even a caller that forgot to lock cannot oversell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CTE, ColumnElement, Executable, Select, bindparam, distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import ProductVariant, StockLevel
from shop import driver
from shop.db import Base
from shop.errors import Conflict
from shop.inserts import Guard, insert_together
from shop.outbox import emit_search
from shop.stock.models import ReservationState, StockReservation

RESERVATION_MINUTES = 15

# The hot statements are built once (bound by name): building one (operators, coercions, its cache key) cost more
# CPU than running it.
_FREE_LEVELS = (
    select(StockLevel.id, StockLevel.variant_id, StockLevel.on_hand - StockLevel.reserved)
    .where(StockLevel.variant_id.in_(bindparam("variant_ids", expanding=True)))
    .order_by(StockLevel.id)
)
_RESERVE_GUARDED = (
    update(StockLevel)
    .where(StockLevel.id == bindparam("level_id"), StockLevel.on_hand - StockLevel.reserved >= bindparam("qty"))
    .values(reserved=StockLevel.reserved + bindparam("qty"))
    .returning(StockLevel.on_hand - StockLevel.reserved)
)
_FREE_AT = select(StockLevel.on_hand - StockLevel.reserved).where(StockLevel.id == bindparam("level_id"))
_SETTLE = (
    update(StockReservation)
    .where(StockReservation.order_id == bindparam("for_order"), StockReservation.state == ReservationState.ACTIVE)
    .values(state=bindparam("new_state"))
    .returning(StockReservation.stock_level_id, StockReservation.variant_id, StockReservation.quantity)
    .execution_options(synchronize_session=False)
)
_TAKE_OFF_SHELF = (
    update(StockLevel)
    .where(StockLevel.id == bindparam("level_id"))
    .values(on_hand=StockLevel.on_hand - bindparam("qty"), reserved=StockLevel.reserved - bindparam("qty"))
)


# PostgreSQL: settle an order's reservations and, when they all sit on one stock row (the usual case), take the units
# off that shelf in the same statement. Several rows are left to `_TAKE_OFF_SHELF` one by one in id order, so rows
# are still locked in ascending id order (one UPDATE over several rows would lock them in the join's order).
def _settlement(of_order: ColumnElement[bool], paid: CTE | None = None) -> Select[Any]:
    """The settlement as one value: 1 when the units came off their one shelf in the statement, 0 when nothing was
    settled or the units sit on several rows (`after_settle` then takes them off, one row at a time in id order).
    With `paid` (a CTE of the order's UPDATE to paid), one row only if that UPDATE matched, and none otherwise."""
    settled = (
        update(StockReservation)
        .where(of_order, StockReservation.state == ReservationState.ACTIVE)
        .values(state=ReservationState.COMMITTED)
        .returning(StockReservation.stock_level_id, StockReservation.variant_id, StockReservation.quantity)
        .cte("settled")
    )
    one_row = (
        select(func.min(settled.c.stock_level_id).label("level_id"), func.sum(settled.c.quantity).label("qty"))
        .having(func.count(distinct(settled.c.stock_level_id)) == 1)
        .cte("one_row")
    )
    off_one_shelf = (
        update(StockLevel)
        .where(StockLevel.id == one_row.c.level_id)
        .values(on_hand=StockLevel.on_hand - one_row.c.qty, reserved=StockLevel.reserved - one_row.c.qty)
        .returning(StockLevel.id)
        .cte("off_one_shelf")
    )
    taken_off = select(func.count()).select_from(off_one_shelf).scalar_subquery()
    return select(taken_off) if paid is None else select(taken_off).select_from(paid)


# The settlement run on its own (`commit`) or as the guard of the payment's ledger statement (`insert_together`).
_SETTLE_WITH_ROWS = _settlement(StockReservation.order_id == bindparam("for_order"))
# Units of the order held on how many stock rows (a payment made in one statement needs them on one).
ACTIVE_LOCATIONS = (
    select(func.count(distinct(StockReservation.stock_level_id)))
    .where(StockReservation.order_id == bindparam("for_order"), StockReservation.state == ReservationState.ACTIVE)
    .scalar_subquery()
)


def settlement_after(paid: CTE) -> Select[Any]:
    """`settle_with_rows`'s guard for the order that `paid` (an UPDATE returning the order's id) moves to paid in
    the same statement: the reservations are settled only if it matched, and the guard returns a row only then."""
    return _settlement(StockReservation.order_id.in_(select(paid.c.id)), paid)


_COMMITTED_BY_LEVEL = (
    select(StockReservation.stock_level_id, func.sum(StockReservation.quantity))
    .where(
        StockReservation.order_id == bindparam("for_order"),
        StockReservation.state == ReservationState.COMMITTED,
    )
    .group_by(StockReservation.stock_level_id)
)


@dataclass(frozen=True, slots=True)
class StockRequest:
    order_line_id: int
    variant_id: int
    quantity: int
    title: str


@dataclass(frozen=True, slots=True)
class Planned:
    """Reservations planned in place (`StockService.plan_in_place`): `rows` to write, then `take` the units."""

    rows: list[StockReservation]
    plan: list[tuple[int, StockRequest, int]]  # (stock row, request, units)


class StockService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _core(self, statement: Executable, params: dict[str, Any], *, begin: bool = True) -> Sequence[Any]:
        """A prebuilt Core statement's rows, in the session's transaction: these touch no ORM objects, so the
        session's execution layer is skipped (and on PostgreSQL SQLAlchemy's too: `shop.driver`)."""
        return await driver.fetch(await self.session.connection(), statement, params, begin=begin)

    async def _value(self, statement: Executable, params: dict[str, Any], *, begin: bool = True) -> Any:
        """The first column of the statement's first row; None when it returns no row."""
        rows = await self._core(statement, params, begin=begin)
        return rows[0][0] if rows else None

    def plan_in_place(
        self,
        order_id: int,
        requests: Sequence[StockRequest],
        expires_at: dt.datetime,
        locations: Mapping[int, int],
    ) -> Planned | None:
        """The reservations for variants each stocked in one place (`locations`: variant → its one stock row, from a
        caller that has just read them without a lock, as the checkout does), before any stock row is touched; None
        when a variant is not there (`reserve` then). The caller writes `rows`, then calls `take` last."""
        if not all(req.variant_id in locations for req in requests):
            return None
        plan = [(locations[req.variant_id], req, req.quantity) for req in requests]
        return Planned(self._rows(order_id, plan, expires_at), plan)

    async def take(self, planned: Planned, *, with_rows: Sequence[Base] = ()) -> None:
        """Write the planned reservations (after the caller's `with_rows`) and take their units off sale: one guarded
        UPDATE per stock row, in id order, or 409 naming the product (and nothing written).

        Called last, just before the commit, so each row stays locked for the commit's round trip only: under a
        flash sale every buyer queues on one row for as long as the one ahead holds it. One stock row (the usual
        case) is updated in the same statement as the rows are written (on PostgreSQL), which is then its own
        transaction if it is the caller's only write (`insert_together(alone=True)`): the row is locked for no round
        trip at all.
        """
        wanted: dict[int, int] = {}
        first_request: dict[int, StockRequest] = {}
        for level_id, req, qty in planned.plan:
            wanted[level_id] = wanted.get(level_id, 0) + qty
            first_request.setdefault(level_id, req)
        levels = sorted(wanted)
        rows = [*with_rows, *planned.rows]
        lefts: dict[int, int] = {}
        if len(levels) == 1:
            guard = (_RESERVE_GUARDED, {"level_id": levels[0], "qty": wanted[levels[0]]})
            left = await insert_together(self.session, rows, guard=guard, alone=True)
            lefts[levels[0]] = await self._or_refuse(left, levels[0], first_request[levels[0]])
        else:
            await insert_together(self.session, rows)
            for level_id in levels:
                lefts[level_id] = await self._take_units(level_id, wanted[level_id], first_request[level_id])
        # A take that was its own transaction is announced in the caller's next one: search may hear of a sell-out a
        # moment after it happened (the checkout refuses the late buyers truthfully either way).
        deltas: dict[int, int] = {}
        for level_id, left in lefts.items():
            if left <= 0:
                variant_id = first_request[level_id].variant_id
                deltas[variant_id] = deltas.get(variant_id, 0) - wanted[level_id]
        await self._announce(deltas)

    async def _take_units(self, level_id: int, qty: int, req: StockRequest) -> int:
        """One guarded UPDATE: the units left free on the row, or 409 naming the product when too few were."""
        left = await self._value(_RESERVE_GUARDED, {"level_id": level_id, "qty": qty})
        return await self._or_refuse(left, level_id, req)

    async def _or_refuse(self, left: int | None, level_id: int, req: StockRequest) -> int:
        if left is None:  # sold (or reserved) since the caller's unlocked read
            have = await self._value(_FREE_AT, {"level_id": level_id}, begin=False)  # for the message only
            raise self.out_of_stock(req, int(have or 0))
        return left

    async def reserve(
        self,
        order_id: int,
        requests: Sequence[StockRequest],
        expires_at: dt.datetime,
        *,
        add_rows: bool = True,
    ) -> list[StockReservation]:
        """Hold units for each line (across the variant's locations, lowest id first) or refuse with 409.

        Returns the reservation rows; with `add_rows=False` they are not added to the session and the caller writes
        them (`shop.inserts.insert_together`) before committing.
        """
        variant_ids = sorted({r.variant_id for r in requests})
        wanted: dict[int, int] = {}
        for req in requests:
            wanted[req.variant_id] = wanted.get(req.variant_id, 0) + req.quantity
        # One unlocked read of the variants' stock rows. It refuses at once when a live sale has sold out, so the
        # many late buyers are told without queueing behind the lock holders (units only come back by release or
        # refund; a buyer refused in that instant was refused truthfully), and it shows where the units are.
        # The guarded UPDATEs below are the checks that count.
        levels = await self._core(_FREE_LEVELS, {"variant_ids": variant_ids})
        unlocked: dict[int, int] = {}
        level_ids: dict[int, list[int]] = {}
        for level_id, variant_id, free in levels:
            unlocked[variant_id] = unlocked.get(variant_id, 0) + free
            level_ids.setdefault(variant_id, []).append(level_id)
        for req in requests:
            have = unlocked.get(req.variant_id, 0)
            if have < wanted[req.variant_id]:
                raise self.out_of_stock(req, have)
        if all(len(level_ids[v]) == 1 for v in variant_ids):
            plan, emptied = await self._reserve_single_locations(requests, level_ids, wanted)
        else:
            plan, emptied = await self._reserve_locked(requests, variant_ids)
        return await self._hold(order_id, plan, emptied, expires_at, add_rows)

    async def _hold(
        self,
        order_id: int,
        plan: list[tuple[int, StockRequest, int]],
        emptied: bool,
        expires_at: dt.datetime,
        add_rows: bool,
    ) -> list[StockReservation]:
        """Record the reservations of `plan` (the units are already counted as reserved on their rows)."""
        if emptied:
            # Only a location that reached zero can take its product's availability to zero; otherwise search
            # has nothing to learn and the two reads of `_announce` are skipped.
            deltas: dict[int, int] = {}
            for _level_id, req, qty in plan:
                deltas[req.variant_id] = deltas.get(req.variant_id, 0) - qty
            await self._announce(deltas)
        rows = self._rows(order_id, plan, expires_at)
        if add_rows:
            self.session.add_all(rows)
        return rows

    @staticmethod
    def _rows(
        order_id: int, plan: list[tuple[int, StockRequest, int]], expires_at: dt.datetime
    ) -> list[StockReservation]:
        return [
            StockReservation(
                order_id=order_id,
                order_line_id=req.order_line_id,
                stock_level_id=level_id,
                variant_id=req.variant_id,
                quantity=qty,
                state=ReservationState.ACTIVE,
                expires_at=expires_at,
            )
            for level_id, req, qty in plan
        ]

    async def _reserve_single_locations(
        self, requests: Sequence[StockRequest], level_ids: dict[int, list[int]], wanted: dict[int, int]
    ) -> tuple[list[tuple[int, StockRequest, int]], bool]:
        """Each variant is stocked in one place (the usual case): one guarded UPDATE per row, in id order.

        `reserved = reserved + n WHERE on_hand - reserved >= n` is checked and applied under the row lock the
        UPDATE takes (PostgreSQL re-reads a row another transaction changed before applying the guard), so no
        separate SELECT ... FOR UPDATE is needed; rows are still locked in ascending id order.
        """
        emptied = False
        level_of = {variant_id: ids[0] for variant_id, ids in level_ids.items()}
        first_request: dict[int, StockRequest] = {}
        for req in requests:
            first_request.setdefault(req.variant_id, req)
        for variant_id in sorted(wanted, key=lambda v: level_of[v]):
            qty, level_id = wanted[variant_id], level_of[variant_id]
            left = await self._take_units(level_id, qty, first_request[variant_id])
            emptied = emptied or left <= 0
        return [(level_of[req.variant_id], req, req.quantity) for req in requests], emptied

    async def _reserve_locked(
        self, requests: Sequence[StockRequest], variant_ids: list[int]
    ) -> tuple[list[tuple[int, StockRequest, int]], bool]:
        """A variant stocked in several places: lock its rows (ascending id), plan lowest id first, then update."""
        rows = (
            await self.session.execute(
                select(StockLevel.id, StockLevel.variant_id, StockLevel.on_hand, StockLevel.reserved)
                .where(StockLevel.variant_id.in_(variant_ids))
                .order_by(StockLevel.id)
                .with_for_update()
            )
        ).all()
        available = {row.id: row.on_hand - row.reserved for row in rows}
        by_variant: dict[int, list[int]] = {}
        for row in rows:
            by_variant.setdefault(row.variant_id, []).append(row.id)
        plan: list[tuple[int, StockRequest, int]] = []  # (stock_level_id, request, quantity)
        for req in requests:
            remaining = req.quantity
            for level_id in by_variant.get(req.variant_id, []):
                take = min(remaining, available[level_id])
                if take > 0:
                    plan.append((level_id, req, take))
                    available[level_id] -= take
                    remaining -= take
                if remaining == 0:
                    break
            if remaining:
                raise self.out_of_stock(req, req.quantity - remaining)
        for level_id, req, qty in sorted(plan, key=lambda p: p[0]):
            result = await self.session.execute(
                update(StockLevel)
                .where(StockLevel.id == level_id, StockLevel.on_hand - StockLevel.reserved >= qty)
                .values(reserved=StockLevel.reserved + qty)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]  # only reachable if a caller skipped the lock
                raise Conflict(
                    f"Out of stock: “{req.title}” just sold out.",
                    field="lines",
                    extra={"reason": "out_of_stock", "variant_id": req.variant_id, "available": 0},
                )
        return plan, any(available[level_id] <= 0 for level_id, _req, _qty in plan)

    @staticmethod
    def out_of_stock(req: StockRequest, available: int) -> Conflict:
        return Conflict(
            f"Out of stock: only {max(available, 0)} of “{req.title}” left, {req.quantity} asked.",
            field="lines",
            extra={"reason": "out_of_stock", "variant_id": req.variant_id, "available": max(available, 0)},
        )

    async def _settle(self, order_id: int, state: ReservationState) -> dict[int, tuple[int, int]]:
        """Move the order's active reservations to `state` in one statement; {stock_level_id: (variant, units)}.

        The order row is locked by the caller, so its reservations change under one owner.
        """
        rows = await self._core(_SETTLE, {"for_order": order_id, "new_state": state})
        by_level: dict[int, tuple[int, int]] = {}
        for level_id, variant_id, quantity in rows:
            by_level[level_id] = (variant_id, by_level.get(level_id, (variant_id, 0))[1] + quantity)
        return by_level

    async def release(self, order_id: int) -> int:
        """Give reserved units back to sale (expiry, cancellation, payment failure). Returns units released."""
        released = 0
        deltas: dict[int, int] = {}
        settled = await self._settle(order_id, ReservationState.RELEASED)
        for level_id, (variant_id, quantity) in sorted(settled.items()):
            await self.session.execute(
                update(StockLevel).where(StockLevel.id == level_id).values(reserved=StockLevel.reserved - quantity)
            )
            released += quantity
            deltas[variant_id] = deltas.get(variant_id, 0) + quantity
        await self._announce(deltas)
        return released

    async def commit(self, order_id: int) -> None:
        """Payment arrived: the held units leave the shelf (on_hand and reserved both go down)."""
        settle = self.settle_with_rows(order_id)
        if settle is not None:
            await self.after_settle(order_id, await self._value(*settle))
            return
        settled = await self._settle(order_id, ReservationState.COMMITTED)
        for level_id, (_variant_id, quantity) in sorted(settled.items()):
            await self._core(_TAKE_OFF_SHELF, {"level_id": level_id, "qty": quantity})

    def settle_with_rows(self, order_id: int) -> tuple[Guard, dict[str, Any]] | None:
        """PostgreSQL: `commit` as a guard for the caller's `insert_together` (the payment's ledger statement), so
        settling costs no round trip of its own; call `after_settle` with the value it returns. The caller holds the
        order row locked, so the reservations and the stock row are locked after it, as in `commit`. None on SQLite:
        call `commit`."""
        if self.session.get_bind().dialect.name != "postgresql":
            return None
        return _SETTLE_WITH_ROWS, {"for_order": order_id}

    async def after_settle(self, order_id: int, taken_off: int | None) -> None:
        """The rest of a `settle_with_rows`: units settled on several stock rows leave them one by one, in id order."""
        if taken_off:
            return
        for level_id, quantity in sorted(await self._core(_COMMITTED_BY_LEVEL, {"for_order": order_id})):
            await self._core(_TAKE_OFF_SHELF, {"level_id": level_id, "qty": int(quantity)})

    async def take_directly(self, order_id: int, requests: Sequence[StockRequest]) -> bool:
        """A payment that arrived after its reservation expired: take the units now if they are still free.

        In a savepoint: a line that runs out after an earlier line was reserved leaves nothing behind.
        """
        savepoint = await self.session.begin_nested()
        try:
            await self.reserve(order_id, requests, dt.datetime.now(dt.UTC))
        except Conflict:
            await savepoint.rollback()
            return False
        await self.session.flush()
        await self.commit(order_id)
        await savepoint.commit()
        return True

    async def return_units(self, order_line_id: int, quantity: int) -> None:
        """A refund puts units back on the shelf where they came from (the line's first committed location)."""
        found = (
            await self.session.execute(
                select(StockReservation.stock_level_id, StockReservation.variant_id)
                .where(
                    StockReservation.order_line_id == order_line_id,
                    StockReservation.state == ReservationState.COMMITTED,
                )
                .order_by(StockReservation.stock_level_id)
                .limit(1)
            )
        ).first()
        if found is None:
            return
        level_id, variant_id = found
        await self.session.execute(
            update(StockLevel).where(StockLevel.id == level_id).values(on_hand=StockLevel.on_hand + quantity)
        )
        await self._announce({variant_id: quantity})

    async def _announce(self, deltas: dict[int, int]) -> None:
        """Tell search (through the outbox, in this transaction) about products whose stock reached or left zero.

        `deltas` is the change in available units per variant made by this operation; committing a reservation
        changes nothing available, so only reserving, releasing and returning units announce.
        """
        if not deltas:
            return
        variants = (
            await self.session.execute(
                select(ProductVariant.id, ProductVariant.product_id).where(ProductVariant.id.in_(list(deltas)))
            )
        ).all()
        by_product: dict[int, int] = {}
        for variant_id, product_id in variants:
            by_product[product_id] = by_product.get(product_id, 0) + deltas[variant_id]
        totals = (
            await self.session.execute(
                select(ProductVariant.product_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
                .join(StockLevel, StockLevel.variant_id == ProductVariant.id)
                .where(ProductVariant.product_id.in_(list(by_product)), ProductVariant.is_active.is_(True))
                .group_by(ProductVariant.product_id)
            )
        ).all()
        available = {int(row[0]): int(row[1] or 0) for row in totals}
        for product_id, delta in sorted(by_product.items()):
            now = int(available.get(product_id) or 0)
            if (now - delta > 0) != (now > 0):
                emit_search(self.session, "product", product_id, "restocked" if now > 0 else "stock_zero")
