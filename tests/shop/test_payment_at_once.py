"""The usual offline payment on PostgreSQL: one read and one write of its own, the write all or nothing on the order
still awaiting payment; anything else (and any race) goes the locked way with the same answers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.models import NetworkStamp
from logistics.snapshot import STAMP_ROW
from shop.db import utcnow
from shop.inserts import insert_together
from shop.ledger.models import LedgerEntry, LedgerKind
from shop.orders.models import Order, OrderStatus
from shop.payments.services import PAY_AND_SETTLE
from shop.stock.models import ReservationState, StockReservation
from tests.shop.helpers import Shop, checkout_body, round_trips, stock_of


async def _ledger_total(session: AsyncSession, order_id: int) -> int:
    total = await session.scalar(select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.order_id == order_id))
    await session.commit()
    return int(total or 0)


async def _checkout(client: AsyncTestClient[Litestar], shop: Shop, quantity: int) -> dict:  # type: ignore[type-arg]
    r = await client.post(
        "/api/checkout", json=checkout_body((shop.sugar.variant.id, quantity)), headers=shop.h(shop.buyer)
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _pay(client: AsyncTestClient[Litestar], shop: Shop, order_id: int, key: str) -> Any:
    return await client.post(
        f"/api/orders/{order_id}/payments/offline", headers={**shop.h(shop.kiosk), "Idempotency-Key": key}
    )


async def test_the_usual_payment_is_one_read_and_one_write_of_its_own(
    app: Litestar,
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an order for 2 jars awaiting payment (and a first payment made, so the process holds the network)
    session.add(NetworkStamp(id=STAMP_ROW, stamp=20261124))
    await session.commit()
    warm_up = await _checkout(client, shop, 1)
    r = await client.post(f"/api/orders/{warm_up['id']}/payments/offline", headers=shop.h(shop.kiosk))
    assert r.status_code == 200, r.text
    order = await _checkout(client, shop, 2)
    postgres = session.get_bind().dialect.name == "postgresql"

    # when the kiosk confirms it (the hand-over that follows included)
    with round_trips(app, monkeypatch) as sent:
        paid = await _pay(client, shop, order["id"], "counter-1")

    # then on PostgreSQL the order was read and everything written in one statement, with no transaction begun
    assert paid.status_code == 200, paid.text
    if postgres:
        assert (sent.statements[:2], sent.begun) == (["SELECT", "WITH"], 0)
    # and the order is paid, its split adds up to what was paid, its units left the shelf
    assert (paid.json()["status"], paid.json()["total_fen"]) == ("paid", 7600)
    assert await _ledger_total(session, order["id"]) == 7600
    assert await stock_of(session, shop.sugar.variant.id) == (50 - 1 - 2, 0)
    states = await session.scalars(select(StockReservation.state).where(StockReservation.order_id == order["id"]))
    assert list(states) == [ReservationState.COMMITTED]
    await session.commit()
    # and the same call again answers the same, changing nothing
    again = await _pay(client, shop, order["id"], "counter-1")
    assert (again.status_code, again.json()) == (200, paid.json())
    assert await _ledger_total(session, order["id"]) == 7600
    assert await stock_of(session, shop.sugar.variant.id) == (47, 0)


async def test_two_counters_confirming_one_order_at_once_take_one_payment(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    # given an order for 3 jars awaiting payment
    order = await _checkout(client, shop, 3)

    # when two kiosks confirm it at the same moment (each with its own key)
    answers = await asyncio.gather(*(_pay(client, shop, order["id"], f"counter-{n}") for n in (1, 2)))

    # then one is paid and the other refused as already paid; the money and the units moved once
    assert sorted(r.status_code for r in answers) == [200, 409]
    refused = next(r for r in answers if r.status_code == 409)
    assert refused.json()["reason"] == "invalid_transition"
    status = await session.scalar(select(Order.status).where(Order.id == order["id"]))
    await session.commit()
    assert status is OrderStatus.PAID
    assert await _ledger_total(session, order["id"]) == 11400
    assert await stock_of(session, shop.sugar.variant.id) == (47, 0)


async def test_the_one_statement_writes_nothing_for_an_order_no_longer_awaiting_payment(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    # given two orders of 2 jars each: one the buyer cancelled after the kiosk could have read it, one still awaiting
    cancelled = await _checkout(client, shop, 2)
    r = await client.post(f"/api/orders/{cancelled['id']}/cancel", json={}, headers=shop.h(shop.buyer))
    assert r.status_code == 200, r.text
    waiting = await _checkout(client, shop, 2)
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite pays in its transaction only (the statement is PostgreSQL's)
    now = utcnow()

    async def pay_at_once(order_id: int) -> int | None:
        row = LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=1, order_id=order_id)
        guard = (PAY_AND_SETTLE, {"for_order": order_id, "paid_at": now, "paid_by": shop.kiosk.id})
        taken: int | None = await insert_together(session, [row], guard=guard, alone=True)
        await session.commit()
        return taken

    # when the payment's statement runs for each
    # then for the cancelled one it matched nothing and wrote nothing: still cancelled, no ledger row, nothing taken
    assert await pay_at_once(cancelled["id"]) is None
    assert await _ledger_total(session, cancelled["id"]) == 0
    # and the waiting one is paid, its reservation settled and its units off the shelf, with its row
    assert await pay_at_once(waiting["id"]) == 1
    assert await _ledger_total(session, waiting["id"]) == 1
    found = await session.execute(select(Order.id, Order.status).where(Order.id.in_([cancelled["id"], waiting["id"]])))
    assert dict(found.tuples().all()) == {cancelled["id"]: OrderStatus.CANCELLED, waiting["id"]: OrderStatus.PAID}
    held = await session.execute(
        select(StockReservation.order_id, StockReservation.state).where(
            StockReservation.order_id.in_([cancelled["id"], waiting["id"]])
        )
    )
    assert dict(held.tuples().all()) == {
        cancelled["id"]: ReservationState.RELEASED,
        waiting["id"]: ReservationState.COMMITTED,
    }
    await session.commit()
    assert await stock_of(session, shop.sugar.variant.id) == (48, 0)
