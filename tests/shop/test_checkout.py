"""Checkout: vouchers, the discount spread, Idempotency-Key, and refusals that change nothing."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import LocationKind, StockLevel, StockLocation
from logistics.models import NetworkStamp
from logistics.snapshot import STAMP_ROW
from shop.orders.models import Order
from shop.stock.models import ReservationState, StockReservation
from tests.shop.helpers import Shop, checkout_body, round_trips, stock_of

NOW = dt.datetime.now(dt.UTC)


async def _voucher(client: AsyncTestClient[Litestar], shop: Shop, **body: object) -> dict:  # type: ignore[type-arg]
    payload = {
        "valid_from": (NOW - dt.timedelta(days=1)).isoformat(),
        "valid_until": (NOW + dt.timedelta(days=1)).isoformat(),
        **body,
    }
    r = await client.post("/api/vouchers", json=payload, headers=shop.h(shop.admin))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _orders(session: AsyncSession) -> int:
    n = await session.scalar(select(func.count()).select_from(Order))
    await session.commit()
    return int(n or 0)


async def test_fixed_voucher_is_spread_over_lines_by_largest_remainder(
    client: AsyncTestClient[Litestar],
    shop: Shop,
) -> None:
    await _voucher(client, shop, code="JIAN10", kind="fixed", amount_fen=1000, min_spend_fen=5000)
    r = await client.post(
        "/api/checkout",
        json=checkout_body((shop.sugar.variant.id, 1), (shop.tea.variant.id, 1), voucher_code="JIAN10"),
        headers=shop.h(shop.buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["subtotal_fen"], order["discount_fen"], order["total_fen"]) == (5050, 1000, 4050)
    # 1000 × 3800/5050 = 752.475 and 1000 × 1250/5050 = 247.525: the larger remainder takes the leftover fen
    assert [(ln["gross_fen"], ln["discount_fen"], ln["net_fen"]) for ln in order["lines"]] == [
        (3800, 752, 3048),
        (1250, 248, 1002),
    ]


async def test_percent_voucher_limits_and_release_on_cancel(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    await _voucher(client, shop, code="ZHE15", kind="percent", percent_bp=1500, per_buyer_limit=1, usage_limit=2)
    body = checkout_body((shop.sugar.variant.id, 1), voucher_code="ZHE15")
    first = await client.post("/api/checkout", json=body, headers=shop.h(shop.buyer))
    assert (first.status_code, first.json()["discount_fen"]) == (201, 570)
    # the same buyer again: per-buyer limit
    again = await client.post("/api/checkout", json=body, headers=shop.h(shop.buyer))
    assert again.status_code == 409 and again.json()["reason"] == "voucher_buyer_limit"
    assert await stock_of(session, shop.sugar.variant.id) == (50, 1)
    # another buyer uses the second and last use; a third use is refused
    assert (await client.post("/api/checkout", json=body, headers=shop.h(shop.other_buyer))).status_code == 201
    third = await client.post("/api/checkout", json=body, headers=shop.h(shop.manager))
    assert third.status_code == 409 and third.json()["reason"] == "voucher_used_up"
    # cancelling the first order gives its use back to the buyer
    await client.post(f"/api/orders/{first.json()['id']}/cancel", json={}, headers=shop.h(shop.buyer))
    assert (await client.post("/api/checkout", json=body, headers=shop.h(shop.buyer))).status_code == 201
    listed = (await client.get("/api/vouchers", headers=shop.h(shop.admin))).json()
    assert listed[0]["used_count"] == 2


async def test_voucher_refusals_name_the_field_and_change_nothing(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    await _voucher(client, shop, code="MIN100", kind="fixed", amount_fen=500, min_spend_fen=10000)
    r = await client.post(
        "/api/vouchers",
        json={
            "code": "OLD",
            "kind": "fixed",
            "amount_fen": 100,
            "valid_from": (NOW - dt.timedelta(days=3)).isoformat(),
            "valid_until": (NOW - dt.timedelta(days=2)).isoformat(),
        },
        headers=shop.h(shop.admin),
    )
    assert r.status_code == 201
    for code, status in (("MIN100", 422), ("OLD", 422), ("NOPE", 404)):
        r = await client.post(
            "/api/checkout",
            json=checkout_body((shop.sugar.variant.id, 1), voucher_code=code),
            headers=shop.h(shop.buyer),
        )
        assert r.status_code == status, (code, r.text)
        assert r.json()["errors"][0]["field"] == "voucher_code"
    assert await _orders(session) == 0
    assert await stock_of(session, shop.sugar.variant.id) == (50, 0)


async def test_idempotency_key_same_body_same_order_other_body_409(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    h = shop.h(shop.buyer, **{"Idempotency-Key": "checkout-abc"})
    body = checkout_body((shop.sugar.variant.id, 2))
    first = await client.post("/api/checkout", json=body, headers=h)
    second = await client.post("/api/checkout", json=body, headers=h)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await _orders(session) == 1
    assert await stock_of(session, shop.sugar.variant.id) == (50, 2)
    other = await client.post("/api/checkout", json=checkout_body((shop.sugar.variant.id, 3)), headers=h)
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    # another caller's key space is separate
    mine = await client.post(
        "/api/checkout", json=body, headers=shop.h(shop.other_buyer, **{"Idempotency-Key": "checkout-abc"})
    )
    assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]
    # the payment call honours its key too: a replayed confirmation returns the same paid order
    k = shop.h(shop.kiosk, **{"Idempotency-Key": "pay-abc"})
    url = f"/api/orders/{first.json()['id']}/payments/offline"
    paid1, paid2 = await client.post(url, headers=k), await client.post(url, headers=k)
    assert paid1.status_code == paid2.status_code == 200 and paid1.json() == paid2.json()
    assert await stock_of(session, shop.sugar.variant.id) == (48, 2)


async def test_out_of_stock_and_unsellable_are_409_and_change_nothing(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    r = await client.post(
        "/api/checkout",
        json=checkout_body((shop.tea.variant.id, 1), (shop.sugar.variant.id, 51)),
        headers=shop.h(shop.buyer),
    )
    assert r.status_code == 409
    assert (r.json()["reason"], r.json()["variant_id"], r.json()["available"]) == (
        "out_of_stock",
        shop.sugar.variant.id,
        50,
    )
    assert await _orders(session) == 0
    assert await stock_of(session, shop.tea.variant.id) == (20, 0)


async def test_concurrent_retries_with_one_key_make_one_order(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    # given a phone on a bad network firing the same checkout 5 times at once
    h = shop.h(shop.buyer, **{"Idempotency-Key": "flaky-network"})
    body = checkout_body((shop.sugar.variant.id, 3))
    responses = await asyncio.gather(*(client.post("/api/checkout", json=body, headers=h) for _ in range(5)))
    # then every answer is the same order and 3 units are held once
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _orders(session) == 1
    assert await stock_of(session, shop.sugar.variant.id) == (50, 3)


async def test_units_are_reserved_where_they_are_one_place_or_several(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    # given the tea (20 units) in its workshop's store, and the sugar 3 there and 4 in the service centre's showroom
    showroom = StockLocation(name="服务中心展厅", kind=LocationKind.SHOWROOM)
    session.add(showroom)
    await session.flush()
    session.add(StockLevel(variant_id=shop.sugar.variant.id, location_id=showroom.id, on_hand=4, reserved=0))
    await session.execute(update(StockLevel).where(StockLevel.id == shop.sugar.stock.id).values(on_hand=3))
    await session.commit()

    # when a buyer checks out 5 sugar and 2 tea
    r = await client.post(
        "/api/checkout",
        json=checkout_body((shop.sugar.variant.id, 5), (shop.tea.variant.id, 2)),
        headers=shop.h(shop.buyer),
    )

    # then the sugar is held 3 at the workshop (the lower id first) and 2 in the showroom, the tea at its one store
    assert r.status_code == 201, r.text
    held = (
        await session.execute(
            select(StockReservation.variant_id, StockReservation.stock_level_id, StockReservation.quantity)
            .where(StockReservation.order_id == r.json()["id"])
            .order_by(StockReservation.variant_id, StockReservation.stock_level_id)
        )
    ).all()
    showroom_sugar = int(await session.scalar(select(StockLevel.id).where(StockLevel.location_id == showroom.id)) or 0)
    expected = [
        (shop.sugar.variant.id, shop.sugar.stock.id, 3),
        (shop.sugar.variant.id, showroom_sugar, 2),
        (shop.tea.variant.id, shop.tea.stock.id, 2),
    ]
    assert sorted(held) == sorted(expected)
    counts = {
        level_id: (on_hand, reserved)
        for level_id, on_hand, reserved in (
            await session.execute(select(StockLevel.id, StockLevel.on_hand, StockLevel.reserved))
        ).tuples()
    }
    await session.commit()
    assert [counts[shop.sugar.stock.id], counts[showroom_sugar], counts[shop.tea.stock.id]] == [(3, 3), (4, 2), (20, 2)]

    # and when the kiosk confirms the payment, every row gives up what it held, each reservation committed
    paid = await client.post(f"/api/orders/{r.json()['id']}/payments/offline", headers=shop.h(shop.kiosk))
    assert paid.status_code == 200, paid.text
    after = {
        level_id: (on_hand, reserved)
        for level_id, on_hand, reserved in (
            await session.execute(select(StockLevel.id, StockLevel.on_hand, StockLevel.reserved))
        ).tuples()
    }
    states = set(
        (await session.scalars(select(StockReservation.state).where(StockReservation.order_id == r.json()["id"]))).all()
    )
    await session.commit()
    assert [after[shop.sugar.stock.id], after[showroom_sugar], after[shop.tea.stock.id]] == [(0, 0), (2, 0), (18, 0)]
    assert states == {ReservationState.COMMITTED}


async def test_a_buy_now_checkout_is_one_read_and_one_write_of_its_own_on_postgresql(
    app: Litestar,
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a shop whose process already holds the delivery network (the first checkout of a process reads and
    # keeps it, in a transaction of its own, while the network's stamp stays the same)
    postgres = session.get_bind().dialect.name == "postgresql"
    session.add(NetworkStamp(id=STAMP_ROW, stamp=20261124))
    await session.commit()
    warm_up = await client.post(
        "/api/checkout", json=checkout_body((shop.tea.variant.id, 1)), headers=shop.h(shop.buyer)
    )
    assert warm_up.status_code == 201, warm_up.text

    # when a buyer checks out two units of one product (the lines in the request, no voucher)
    with round_trips(app, monkeypatch) as sent:
        r = await client.post(
            "/api/checkout",
            json=checkout_body((shop.sugar.variant.id, 2)),
            headers={**shop.h(shop.buyer), "Idempotency-Key": "one-statement"},
        )
    assert r.status_code == 201, r.text
    order = r.json()

    # then on PostgreSQL the lines were read and everything written in one statement, with no transaction begun:
    # the statement was its own
    if postgres:
        assert (sent.statements, sent.begun) == (["SELECT", "WITH"], 0)
    # and the order, its line (ids taken beforehand), the reservation and the stored response are all there
    assert await stock_of(session, shop.sugar.variant.id) == (50, 2)
    line_ids = [ln["id"] for ln in order["lines"]]
    reservation = (
        await session.execute(
            select(StockReservation.order_id, StockReservation.order_line_id, StockReservation.quantity).where(
                StockReservation.variant_id == shop.sugar.variant.id
            )
        )
    ).one()
    assert tuple(reservation) == (order["id"], line_ids[0], 2)
    await session.commit()
    again = await client.post(
        "/api/checkout",
        json=checkout_body((shop.sugar.variant.id, 2)),
        headers={**shop.h(shop.buyer), "Idempotency-Key": "one-statement"},
    )
    assert (again.status_code, again.json()) == (201, order)
    assert await _orders(session) == 2  # the warm-up's and this one
