"""Orders: the state machine, staff scope, refunds (full and partial), attribution, receipts, expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.cart import attribution
from shop.db import create_engine, create_session_factory
from shop.ledger.models import LedgerEntry, LedgerKind
from shop.notifications import MemorySender, NotificationKind
from shop.orders import events
from shop.orders.services import OrderService
from shop.settings import Settings
from shop.stock.models import ReservationState, StockReservation
from tests.shop.helpers import Shop, checkout_body, fetch, stock_of


async def _paid(client: AsyncTestClient[Litestar], shop: Shop, *lines: tuple[int, int], **extra: Any) -> dict:  # type: ignore[type-arg]
    r = await client.post("/api/checkout", json=checkout_body(*lines, **extra), headers=shop.h(shop.buyer))
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/orders/{r.json()['id']}/payments/offline", headers=shop.h(shop.admin))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_fulfilment_path_and_invalid_transition_names_the_states(
    client: AsyncTestClient[Litestar],
    shop: Shop,
    sent: MemorySender,
) -> None:
    order = await _paid(client, shop, (shop.sugar.variant.id, 1))
    url = f"/api/orders/{order['id']}/status"
    # an invalid jump is a 409 naming both states, and nothing changes
    r = await client.post(url, json={"status": "collected"}, headers=shop.h(shop.manager))
    assert r.status_code == 409
    assert r.json()["detail"] == (
        f"Order {order['id']} cannot go from paid to collected (allowed next: packed, partially_refunded, refunded)."
    )
    assert (r.json()["from"], r.json()["to"]) == ("paid", "collected")
    # the manager of the sugar workshop walks it to collected
    for status in ("packed", "ready_for_pickup", "collected"):
        r = await client.post(url, json={"status": status}, headers=shop.h(shop.manager))
        assert (r.status_code, r.json()["status"]) == (200, status)
    assert [n.kind for n in sent.sent] == [NotificationKind.ORDER_PAID, NotificationKind.READY_FOR_PICKUP]
    # a finished order cannot be cancelled
    r = await client.post(f"/api/orders/{order['id']}/cancel", json={}, headers=shop.h(shop.buyer))
    assert r.status_code == 409 and r.json()["from"] == "collected"


async def test_manager_sees_and_moves_only_orders_of_their_workshops(
    client: AsyncTestClient[Litestar],
    shop: Shop,
) -> None:
    tea_order = await _paid(client, shop, (shop.tea.variant.id, 1))
    mixed = await _paid(client, shop, (shop.tea.variant.id, 1), (shop.sugar.variant.id, 1))
    listed = (await client.get("/api/staff/orders", headers=shop.h(shop.manager))).json()
    assert [o["id"] for o in listed["items"]] == [mixed["id"]]
    assert (await client.get(f"/api/orders/{tea_order['id']}", headers=shop.h(shop.manager))).status_code == 404
    # the mixed order has a line from another workshop: the manager may see it but not move it
    r = await client.post(f"/api/orders/{mixed['id']}/status", json={"status": "packed"}, headers=shop.h(shop.manager))
    assert r.status_code == 403
    r = await client.get(
        "/api/staff/orders", params={"workshop_id": shop.tea_workshop.id}, headers=shop.h(shop.manager)
    )
    assert r.status_code == 403
    everything = (await client.get("/api/staff/orders", headers=shop.h(shop.admin))).json()
    assert everything["total"] == 2
    # another buyer cannot see the order at all
    assert (await client.get(f"/api/orders/{mixed['id']}", headers=shop.h(shop.other_buyer))).status_code == 404


async def test_partial_then_full_refund_reverses_stock_ledger_and_calls_the_hook(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    # given a paid order of 3 jars (11400) with a 10% voucher-free home delivery (800)
    address = {"name": "王五", "phone": "13700000000", "county": "青田县", "detail": "夏严村 3 号"}
    order = await _paid(client, shop, (shop.sugar.variant.id, 3), delivery={"method": "home", "address": address})
    line_id = order["lines"][0]["id"]
    refunded: list[events.OrderEvent] = []
    events.on_order_refunded(refunded.append)
    try:
        # when 1 jar is refunded
        r = await client.post(
            f"/api/orders/{order['id']}/refunds",
            json={"lines": [{"line_id": line_id, "quantity": 1}]},
            headers=shop.h(shop.manager),
        )
        assert r.status_code == 201, r.text
        assert (r.json()["amount_fen"], r.json()["order_status"]) == (3800, "partially_refunded")
        assert await stock_of(session, shop.sugar.variant.id) == (48, 0)
        # too many units is a 422 naming the field, and nothing changes
        r = await client.post(
            f"/api/orders/{order['id']}/refunds",
            json={"lines": [{"line_id": line_id, "quantity": 3}]},
            headers=shop.h(shop.manager),
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lines[0].quantity"
        # the order carries on from where it was
        r = await client.post(
            f"/api/orders/{order['id']}/status", json={"status": "packed"}, headers=shop.h(shop.manager)
        )
        assert r.json()["status"] == "packed"
        # when the rest is refunded
        r = await client.post(
            f"/api/orders/{order['id']}/refunds", json={"reason": "质量问题"}, headers=shop.h(shop.admin)
        )
        assert r.status_code == 201, r.text
        assert (r.json()["amount_fen"], r.json()["shipping_fen"], r.json()["order_status"]) == (8400, 800, "refunded")
    finally:
        events.unsubscribe(events.ORDER_REFUNDED, refunded.append)
    # then the stock is back, the ledger nets to zero per kind, and the hook saw both refunds
    assert await stock_of(session, shop.sugar.variant.id) == (50, 0)
    rows = await fetch(session, select(LedgerEntry).where(LedgerEntry.order_id == order["id"]))
    for kind in LedgerKind:
        assert sum(r.amount_fen for r in rows if r.kind is kind) == 0
    assert [e.payload["amount_fen"] for e in refunded] == [3800, 8400]
    # refunding again is a 409 naming the state
    r = await client.post(f"/api/orders/{order['id']}/refunds", json={}, headers=shop.h(shop.admin))
    assert r.status_code == 409 and r.json()["from"] == "refunded"


async def test_attributed_line_pays_the_streamer_and_the_receipt_says_so(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    streamer_id = shop.streamer.id

    class LiveResolver:
        def resolve(self, share_code: str | None, at: dt.datetime) -> tuple[int, int, int] | None:
            return (42, streamer_id, 1000) if share_code == "LIVE42" else None

    attribution.set_resolver(LiveResolver())
    try:
        r = await client.post(
            "/api/cart/lines",
            json={"variant_id": shop.sugar.variant.id, "quantity": 2, "share_code": "LIVE42"},
            headers=shop.h(shop.buyer),
        )
        assert r.status_code == 201 and r.json()["lines"][0]["live_session_id"] == 42
    finally:
        attribution.set_resolver(None)
    r = await client.post("/api/checkout", json=checkout_body(), headers=shop.h(shop.buyer))
    assert r.status_code == 201, r.text
    order = r.json()
    await client.post(f"/api/orders/{order['id']}/payments/offline", headers=shop.h(shop.kiosk))
    rows = await fetch(session, select(LedgerEntry).where(LedgerEntry.order_id == order["id"]))
    assert sorted((r.kind.value, r.amount_fen, r.streamer_user_id, r.live_session_id) for r in rows) == [
        ("service_fee", 380, None, 42),
        ("streamer_commission", 760, streamer_id, 42),
        ("workshop_revenue", 6460, None, 42),
    ]
    receipt = (await client.get(f"/api/orders/{order['id']}/receipt", headers=shop.h(shop.buyer))).json()
    assert [(s["streamer_user_id"], s["live_session_id"], s["amount_fen"]) for s in receipt["streamers"]] == [
        (streamer_id, 42, 760)
    ]
    assert receipt["summary"] == "本次购买：工坊 ¥64.60，村播 ¥7.60，服务中心 ¥3.80"


async def test_expired_reservations_are_released_by_the_sweep(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    settings: Settings,
) -> None:
    r = await client.post("/api/checkout", json=checkout_body((shop.sugar.variant.id, 5)), headers=shop.h(shop.buyer))
    order = r.json()
    assert await stock_of(session, shop.sugar.variant.id) == (50, 5)
    engine = create_engine(settings.db, null_pool=True)
    try:
        async with create_session_factory(engine)() as s:
            # 14 minutes on: still held
            assert await OrderService(s).expire_due(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=14)) == 0
            assert await OrderService(s).expire_due(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)) == 1
    finally:
        await engine.dispose()
    assert await stock_of(session, shop.sugar.variant.id) == (50, 0)
    body = (await client.get(f"/api/orders/{order['id']}", headers=shop.h(shop.buyer))).json()
    assert body["status"] == "cancelled"
    states = {r.state for r in await fetch(session, select(StockReservation))}
    assert states == {ReservationState.RELEASED}
    # paying it now is refused
    r = await client.post(f"/api/orders/{order['id']}/payments/offline", headers=shop.h(shop.kiosk))
    assert r.status_code == 409 and r.json()["from"] == "cancelled"


async def test_buyer_cancels_an_unpaid_order_and_the_stock_is_released(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    r = await client.post("/api/checkout", json=checkout_body((shop.sugar.variant.id, 4)), headers=shop.h(shop.buyer))
    order = r.json()
    r = await client.post(
        f"/api/orders/{order['id']}/cancel", json={"reason": "买错了"}, headers=shop.h(shop.other_buyer)
    )
    assert r.status_code == 404
    r = await client.post(f"/api/orders/{order['id']}/cancel", json={"reason": "买错了"}, headers=shop.h(shop.buyer))
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")
    assert await stock_of(session, shop.sugar.variant.id) == (50, 0)
