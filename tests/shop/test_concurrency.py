"""Never oversold: many buyers at the last units at once, over the app, on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import StockLevel
from shop.accounts.models import Role
from shop.ledger.models import LedgerEntry
from shop.orders.models import Order, OrderStatus
from shop.stock.models import ReservationState, StockReservation
from tests import factories
from tests.shop.helpers import Shop, checkout_body, fetch, stock_of


async def _flash_sale(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop, buyers: int, units: int
) -> None:
    # given a variant with `units` in stock and `buyers` buyers
    variant_id = shop.sugar.variant.id
    await session.execute(
        update(StockLevel).where(StockLevel.variant_id == variant_id).values(on_hand=units, reserved=0)
    )
    people = [await factories.user(session, Role.BUYER) for _ in range(buyers)]
    headers = [factories.auth(u) for u in people]
    await session.commit()
    kiosk = shop.h(shop.kiosk)

    async def buy(h: dict[str, str]) -> tuple[int, dict]:  # type: ignore[type-arg]
        r = await client.post("/api/checkout", json=checkout_body((variant_id, 1)), headers=h)
        if r.status_code == 201:
            paid = await client.post(f"/api/orders/{r.json()['id']}/payments/offline", headers=kiosk)
            assert paid.status_code == 200, paid.text
        return r.status_code, r.json()

    # when they all check out one unit at the same moment, and each order made is paid at the counter
    results = await asyncio.gather(*(buy(h) for h in headers))

    # then exactly `units` succeed, the others are clear refusals, and nothing is oversold or left reserved
    codes = [code for code, _ in results]
    assert codes.count(201) == units
    assert codes.count(409) == buyers - units
    refusal = next(body for code, body in results if code == 409)
    assert refusal["reason"] == "out_of_stock"
    assert refusal["errors"] == [{"field": "lines", "message": refusal["detail"]}]
    assert "Out of stock" in refusal["detail"]
    assert await stock_of(session, variant_id) == (0, 0)
    paid = await fetch(session, select(Order).where(Order.status == OrderStatus.PAID))
    assert len(paid) == units
    active = await fetch(session, select(StockReservation).where(StockReservation.state == ReservationState.ACTIVE))
    assert active == []
    total = (await session.execute(select(func.sum(LedgerEntry.amount_fen)))).scalar_one()
    await session.commit()
    assert total == units * 3800


@pytest.mark.slow
async def test_200_buyers_for_50_units_on_postgresql(
    db_url: str,
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("the 200-buyer run is the PostgreSQL proof; SQLite runs the smaller one below")
    await _flash_sale(client, session, shop, buyers=200, units=50)


async def test_30_buyers_for_10_units(
    db_url: str,
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL runs the 200-buyer version above")
    await _flash_sale(client, session, shop, buyers=30, units=10)
