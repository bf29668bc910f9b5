"""The buyer's path end to end: cart (anonymous, merged at login) → checkout → offline payment → ledger → receipt."""

from __future__ import annotations

from types import SimpleNamespace

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.ledger.models import LedgerEntry
from shop.notifications import MemorySender, NotificationKind
from shop.orders import events
from shop.outbox import OutboxEvent
from shop.settings import Settings
from shop.stock.models import StockReservation
from tests.shop.helpers import PICKUP, Shop, checkout_body, fetch, stock_of


async def test_anonymous_cart_merges_at_login_and_checks_out_and_pays(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    sent: MemorySender,
) -> None:
    # given an anonymous visitor with 2 jars of sugar in a cart, and a logged-in buyer with 1 tea in theirs
    r = await client.post("/api/cart/lines", json={"variant_id": shop.sugar.variant.id, "quantity": 2})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert r.json()["subtotal_fen"] == 7600
    r = await client.post(
        "/api/cart/lines", json={"variant_id": shop.tea.variant.id, "quantity": 1}, headers=shop.h(shop.buyer)
    )
    assert r.json()["token"] is None
    # when the visitor logs in and the page merges the anonymous cart
    r = await client.post("/api/cart/merge", headers=shop.h(shop.buyer, **{"X-Cart-Token": token}))
    # then the buyer's cart holds both lines and the anonymous cart is gone
    assert r.status_code == 200, r.text
    cart = r.json()
    assert sorted((ln["variant_id"], ln["quantity"]) for ln in cart["lines"]) == sorted(
        [(shop.sugar.variant.id, 2), (shop.tea.variant.id, 1)]
    )
    assert cart["subtotal_fen"] == 2 * 3800 + 1250
    client.cookies.clear()
    assert (await client.get("/api/cart", headers={"X-Cart-Token": token})).json()["lines"] == []

    # when the buyer checks out the cart for pickup, paying offline
    paid_events: list[events.OrderEvent] = []
    events.on_order_paid(paid_events.append)
    try:
        r = await client.post(
            "/api/checkout", json={"delivery": PICKUP, "payment_method": "offline"}, headers=shop.h(shop.buyer)
        )
        assert r.status_code == 201, r.text
        order = r.json()
        # then the order awaits payment with the stock held and the cart emptied
        assert order["status"] == "pending_payment"
        assert (order["subtotal_fen"], order["discount_fen"], order["shipping_fen"], order["total_fen"]) == (
            8850,
            0,
            0,
            8850,
        )
        assert order["pickup_point_id"] == 7
        assert await stock_of(session, shop.sugar.variant.id) == (50, 2)
        assert (await client.get("/api/cart", headers=shop.h(shop.buyer))).json()["lines"] == []

        # when the kiosk counter confirms the payment
        r = await client.post(f"/api/orders/{order['id']}/payments/offline", headers=shop.h(shop.kiosk))
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "paid"
    finally:
        events.unsubscribe(events.ORDER_PAID, paid_events.append)

    # then stock is committed, the ledger adds up to the amount paid, subscribers and the buyer were told
    assert await stock_of(session, shop.sugar.variant.id) == (48, 0)
    rows = await fetch(session, select(LedgerEntry).where(LedgerEntry.order_id == order["id"]))
    assert sum(r.amount_fen for r in rows) == 8850
    by = {(r.kind.value, r.workshop_id): r.amount_fen for r in rows}
    assert by == {
        ("service_fee", shop.cat.workshop.id): 380,
        ("workshop_revenue", shop.cat.workshop.id): 7220,
        ("service_fee", shop.tea_workshop.id): 38,
        ("workshop_revenue", shop.tea_workshop.id): 1212,
    }
    reservations = await fetch(session, select(StockReservation))
    assert {r.state.value for r in reservations} == {"committed"}
    assert [e.order_id for e in paid_events] == [order["id"]]
    assert [(n.kind, n.order_id) for n in sent.sent] == [(NotificationKind.ORDER_PAID, order["id"])]
    outbox = await fetch(session, select(OutboxEvent).where(OutboxEvent.topic == "orders"))
    assert [o.reason for o in outbox] == ["order_paid"]

    # and the receipt says where the money went
    r = await client.get(f"/api/orders/{order['id']}/receipt", headers=shop.h(shop.buyer))
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert [(w["workshop_id"], w["amount_fen"]) for w in receipt["workshops"]] == [
        (shop.cat.workshop.id, 7220),
        (shop.tea_workshop.id, 1212),
    ]
    assert receipt["service_centre_fen"] == 418
    assert receipt["streamers"] == []
    assert receipt["workshops"][1]["benefit_models"] == ["guaranteed_purchase", "equity_dividend"]
    assert receipt["summary"] == "本次购买：工坊 ¥84.32，服务中心 ¥4.18"

    # and the order shows in the buyer's history and the manager's view (which holds the sugar workshop)
    history = (await client.get("/api/orders", headers=shop.h(shop.buyer))).json()
    assert [o["id"] for o in history["items"]] == [order["id"]]
    staff = (await client.get("/api/staff/orders", headers=shop.h(shop.manager))).json()
    assert [o["id"] for o in staff["items"]] == [order["id"]]


async def test_home_delivery_charges_the_county_fee_and_it_is_a_shipping_row(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    # given a home address in 青田县 (flat fee 800)
    address = {"name": "李四", "phone": "13900000000", "county": "青田县", "detail": "仁庄镇夏严村 12 号"}
    # when the buyer checks out one jar for home delivery and the admin confirms payment
    r = await client.post(
        "/api/checkout",
        json=checkout_body((shop.sugar.variant.id, 1), delivery={"method": "home", "address": address}),
        headers=shop.h(shop.buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["shipping_fen"], order["total_fen"], order["delivery_method"]) == (800, 4600, "home")
    assert order["address"]["county"] == "青田县"
    r = await client.post(f"/api/orders/{order['id']}/payments/offline", headers=shop.h(shop.admin))
    assert r.status_code == 200
    # then the ledger has a shipping row and adds up to 4600
    rows = await fetch(session, select(LedgerEntry).where(LedgerEntry.order_id == order["id"]))
    assert sorted((r.kind.value, r.amount_fen) for r in rows) == [
        ("service_fee", 190),
        ("shipping", 800),
        ("workshop_revenue", 3610),
    ]


async def test_first_logged_in_cart_call_with_a_token_merges_the_anonymous_cart(
    client: AsyncTestClient[Litestar],
    shop: Shop,
) -> None:
    # given an anonymous cart with 1 jar and the buyer's own cart with 2 jars of the same sugar
    r = await client.post("/api/cart/lines", json={"variant_id": shop.sugar.variant.id})
    token = r.json()["token"]
    client.cookies.clear()
    await client.post(
        "/api/cart/lines", json={"variant_id": shop.sugar.variant.id, "quantity": 2}, headers=shop.h(shop.buyer)
    )
    # when the logged-in buyer first reads the cart with the anonymous token
    r = await client.get("/api/cart", headers=shop.h(shop.buyer, **{"X-Cart-Token": token}))
    # then the quantities are added together in the buyer's cart
    assert [(ln["variant_id"], ln["quantity"]) for ln in r.json()["lines"]] == [(shop.sugar.variant.id, 3)]
    assert r.json()["token"] is None


async def test_the_in_process_worker_sweep_releases_expired_reservations(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    settings: Settings,
) -> None:
    from sqlalchemy import update

    from shop.db import create_engine, create_session_factory
    from shop.orders.models import Order
    from shop.stock.wiring import sweep_once

    r = await client.post("/api/checkout", json=checkout_body((shop.sugar.variant.id, 2)), headers=shop.h(shop.buyer))
    await session.execute(update(Order).values(reserved_until=Order.created_at))  # as if 15 minutes had passed
    await session.commit()
    assert await stock_of(session, shop.sugar.variant.id) == (50, 2)
    # when the worker's periodic sweep runs (with a session factory of its own event loop)
    engine = create_engine(settings.db, null_pool=True)
    try:
        worker_app = SimpleNamespace(state=SimpleNamespace(session_factory=create_session_factory(engine)))
        assert await sweep_once(worker_app) == 1  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    # then the units are back on sale and the order is cancelled
    assert await stock_of(session, shop.sugar.variant.id) == (50, 0)
    order = (await client.get(f"/api/orders/{r.json()['id']}", headers=shop.h(shop.buyer))).json()
    assert order["status"] == "cancelled"
