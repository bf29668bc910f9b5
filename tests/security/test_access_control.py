"""Access control beyond the role guards: whose order, cart, workshop and statement a caller may reach.

A buyer reaches only their own orders, receipts, tracking and cart; a workshop manager only their own workshops'
products, stock, orders and benefit records; a statement link is an unguessable, expiring, revocable key; the
showroom kiosk's device token browses and confirms counter payments and nothing else. Refusals leave data unchanged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Product, StockLevel
from shop.accounts.models import Role, User
from shop.benefits.models import StatementLink
from shop.cart.models import CartLine
from shop.orders.models import Order
from tests import factories as f
from tests.benefits.test_seed_examples import brown_sugar_october
from tests.factories import ProductBundle
from tests.logistics.helpers import Net, build_net
from tests.test_route_guards import admitted_roles, concrete, http_handlers

Client = AsyncTestClient[Litestar]
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # scope rules live in services, not SQL


@dataclass
class World:
    net: Net
    sugar: ProductBundle  # workshop A (知味红·红糖工坊)
    far: ProductBundle  # workshop B (the far workshop)
    buyer_a: User
    buyer_b: User
    manager_a: User
    manager_b: User
    kiosk: User
    admin: User


@pytest.fixture
async def world(session: AsyncSession) -> World:
    net = await build_net(session)
    brand = await f.brand(session, "丽水山耕")
    sugar = await f.product(session, net.workshop, brand, "青田红糖", price_fen=3800, on_hand=10)
    far = await f.product(session, net.far_workshop, brand, "莲都香菇", price_fen=2500, on_hand=10)
    w = World(
        net,
        sugar,
        far,
        await f.user(session, Role.BUYER),
        await f.user(session, Role.BUYER),
        await f.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[net.workshop.id]),
        await f.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[net.far_workshop.id]),
        await f.user(session, Role.KIOSK),
        await f.user(session, Role.CENTRE_ADMIN),
    )
    await session.commit()
    return w


async def order_for(client: Client, buyer: User, bundle: ProductBundle, point_id: int) -> dict[str, Any]:
    r = await client.post(
        "/api/checkout",
        json={
            "delivery": {"method": "pickup", "pickup_point_id": point_id},
            "payment_method": "offline",
            "lines": [{"variant_id": bundle.variant.id, "quantity": 1}],
        },
        headers=f.auth(buyer),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def fresh(session: AsyncSession, stmt: Any) -> Any:
    value = await session.scalar(stmt.execution_options(populate_existing=True))
    await session.commit()
    return value


@SQLITE
async def test_a_buyer_reaches_only_their_own_orders(client: Client, session: AsyncSession, world: World) -> None:
    w = world
    # given buyer A's paid order, dispatched so it has parcels to track
    order = await order_for(client, w.buyer_a, w.sugar, w.net.point2.id)
    oid = order["id"]
    paid = await client.post(f"/api/orders/{oid}/payments/offline", headers=f.auth(w.kiosk))
    assert paid.status_code == 200, paid.text
    own = [
        await client.get(f"/api/orders/{oid}", headers=f.auth(w.buyer_a)),
        await client.get(f"/api/orders/{oid}/receipt", headers=f.auth(w.buyer_a)),
    ]
    assert [r.status_code for r in own] == [200, 200]
    # when buyer B asks for it, its receipt and tracking, or tries to cancel or pay it
    theirs = {
        "order": await client.get(f"/api/orders/{oid}", headers=f.auth(w.buyer_b)),
        "receipt": await client.get(f"/api/orders/{oid}/receipt", headers=f.auth(w.buyer_b)),
        "tracking": await client.get(f"/api/logistics/orders/{oid}/tracking", headers=f.auth(w.buyer_b)),
        "cancel": await client.post(f"/api/orders/{oid}/cancel", json={"reason": "x"}, headers=f.auth(w.buyer_b)),
        "stripe": await client.post(f"/api/orders/{oid}/payments/stripe", headers=f.auth(w.buyer_b)),
    }
    history = await client.get("/api/orders", headers=f.auth(w.buyer_b))
    # then each is the same 404 an unknown order gets (nothing revealed), and the order is untouched
    assert {k: r.status_code for k, r in theirs.items()} == {k: 404 for k in theirs}, {
        k: r.text for k, r in theirs.items()
    }
    assert history.status_code == 200 and history.json()["items"] == [] and history.json()["total"] == 0
    assert await fresh(session, select(Order.status).where(Order.id == oid)) == "paid"
    for response in theirs.values():
        assert "13" not in response.text and w.buyer_a.username not in response.text


@SQLITE
async def test_a_buyer_cannot_touch_another_buyers_cart(client: Client, session: AsyncSession, world: World) -> None:
    w = world
    # given buyer A's cart with one line, and an anonymous visitor's cart
    added = await client.post("/api/cart/lines", json={"variant_id": w.sugar.variant.id}, headers=f.auth(w.buyer_a))
    assert added.status_code == 201, added.text
    line_id = added.json()["lines"][0]["id"]
    anon = await client.post("/api/cart/lines", json={"variant_id": w.far.variant.id, "quantity": 2})
    client.cookies.clear()
    anon_token, anon_line = anon.json()["token"], anon.json()["lines"][0]["id"]
    # when buyer B changes or removes A's line, and B (or a stranger's token) touches the visitor's line
    attempts = [
        await client.patch(f"/api/cart/lines/{line_id}", json={"quantity": 9}, headers=f.auth(w.buyer_b)),
        await client.delete(f"/api/cart/lines/{line_id}", headers=f.auth(w.buyer_b)),
        await client.patch(f"/api/cart/lines/{anon_line}", json={"quantity": 9}, headers=f.auth(w.buyer_b)),
        await client.delete(f"/api/cart/lines/{anon_line}", headers={"X-Cart-Token": "s" * 43}),
        await client.delete(f"/api/cart/lines/{line_id}", headers={"X-Cart-Token": anon_token}),
    ]
    b_view = await client.get("/api/cart", headers=f.auth(w.buyer_b))
    stranger_view = await client.get("/api/cart", headers={"X-Cart-Token": "s" * 43})
    # then all are refused, neither cart shows to anyone else, and both lines are unchanged
    assert [r.status_code for r in attempts] == [404] * 5 or all(r.status_code in (403, 404) for r in attempts), [
        (r.status_code, r.text) for r in attempts
    ]
    assert b_view.json()["lines"] == [] and stranger_view.json()["lines"] == []
    quantities = dict((await session.execute(select(CartLine.id, CartLine.quantity))).tuples().all())
    await session.commit()
    assert quantities == {line_id: 1, anon_line: 2}
    assert len(anon_token) >= 22  # ≥ 128 bits: an anonymous cart is its token


@SQLITE
async def test_a_manager_cannot_touch_another_workshops_products_stock_or_orders(
    client: Client, session: AsyncSession, world: World
) -> None:
    w = world
    # given an order for workshop A's sugar
    order = await order_for(client, w.buyer_a, w.sugar, w.net.point2.id)
    pid, vid = w.sugar.product.id, w.sugar.variant.id
    hb = f.auth(w.manager_b)
    # when workshop B's manager reads or writes workshop A's product, stock, order and benefit records
    attempts = {
        "read product": await client.get(f"/api/staff/products/{pid}", headers=hb),
        "rename product": await client.patch(f"/api/staff/products/{pid}", json={"title": "假货"}, headers=hb),
        "archive product": await client.delete(f"/api/staff/products/{pid}", headers=hb),
        "set stock": await client.put(
            f"/api/staff/variants/{vid}/stock",
            json={"location_id": w.sugar.stock.location_id, "on_hand": 0},
            headers=hb,
        ),
        "reprice": await client.patch(f"/api/staff/variants/{vid}", json={"price_fen": 1}, headers=hb),
        "edit workshop": await client.patch(
            f"/api/staff/workshops/{w.net.workshop.id}", json={"story": "假故事"}, headers=hb
        ),
        "order": await client.get(f"/api/orders/{order['id']}", headers=hb),
        "order status": await client.post(f"/api/orders/{order['id']}/status", json={"status": "packed"}, headers=hb),
        "refund": await client.post(f"/api/orders/{order['id']}/refunds", json={}, headers=hb),
        "rates": await client.get(f"/api/benefits/workshops/{w.net.workshop.id}/rates", headers=hb),
        "set rates": await client.put(
            f"/api/benefits/workshops/{w.net.workshop.id}/rates",
            json={"task": "削蔗", "unit": "piece", "rate_fen": 1},
            headers=hb,
        ),
        "work logs": await client.get(f"/api/benefits/workshops/{w.net.workshop.id}/work-logs", headers=hb),
        "register": await client.get(f"/api/benefits/workshops/{w.net.workshop.id}/register?on=2026-10-31", headers=hb),
    }
    staff_orders = await client.get(f"/api/staff/orders?workshop_id={w.net.workshop.id}", headers=hb)
    own_orders = await client.get("/api/staff/orders", headers=hb)
    # then every one is refused (403, or 404 where existence itself is private; 400/422 never lets a write through)
    codes = {k: r.status_code for k, r in attempts.items()}
    assert all(code in (403, 404) for code in codes.values()), {k: (r.status_code, r.text) for k, r in attempts.items()}
    assert staff_orders.status_code == 403 or staff_orders.json()["items"] == []
    assert own_orders.json()["items"] == []
    # and nothing changed
    assert await fresh(session, select(Product.title).where(Product.id == pid)) == "青田红糖"
    assert await fresh(session, select(StockLevel.on_hand).where(StockLevel.variant_id == vid)) == 10
    assert await fresh(session, select(Order.status).where(Order.id == order["id"])) == "pending_payment"
    # while workshop A's own manager may read them
    mine = await client.get(f"/api/staff/products/{pid}", headers=f.auth(w.manager_a))
    assert mine.status_code == 200


@SQLITE
async def test_statement_links_are_unguessable_expiring_revocable_and_scoped(
    client: Client, session: AsyncSession
) -> None:
    # given a closed month at the brown-sugar workshop, its manager, and another workshop's manager
    ids = await brown_sugar_october(session)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    own = await f.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[ids["workshop"]])
    other_ws = await f.workshop(session, (await f.region_tree(session, "莲都区", "雅溪镇", "里东村"))[2], "别的工坊")
    other = await f.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[other_ws.id])
    await session.commit()
    assert (await client.post("/api/benefits/months/2026-10/close", headers=f.auth(admin))).status_code == 200
    url = f"/api/benefits/statements/2026-10/{ids['collective']}"
    # when the other workshop's manager reads the statement or makes a link; the own manager makes one
    refused = [
        await client.get(url, headers=f.auth(other)),
        await client.get(url + "/sms", headers=f.auth(other)),
        await client.post(url + "/links", json={"days": 7}, headers=f.auth(other)),
        await client.get(f"/api/benefits/members/{ids['collective']}", headers=f.auth(other)),
    ]
    made = await client.post(url + "/links", json={"days": 7}, headers=f.auth(own))
    # then the other manager is refused; the link's token carries ≥ 128 bits and only its hash is stored
    assert [r.status_code for r in refused] == [403, 403, 403, 403], [r.text for r in refused]
    assert made.status_code == 201, made.text
    token, link_id = made.json()["token"], made.json()["id"]
    assert len(token) >= 43  # secrets.token_urlsafe(32): 256 bits
    stored = await fresh(session, select(StatementLink.token_hash).where(StatementLink.id == link_id))
    assert token not in stored and len(stored) == 64
    assert (await client.get(f"/benefits/s/{token}")).status_code == 200
    altered = token[:-1] + ("B" if token.endswith("A") else "A")  # one character off, never the token itself
    assert (await client.get(f"/benefits/s/{altered}")).status_code == 404
    # when the other manager tries to revoke it, it still opens; when the own manager revokes it, it is gone
    assert (await client.delete(f"/api/benefits/links/{link_id}", headers=f.auth(other))).status_code == 403
    assert (await client.get(f"/benefits/s/{token}")).status_code == 200
    assert (await client.delete(f"/api/benefits/links/{link_id}", headers=f.auth(own))).status_code == 204
    assert (await client.get(f"/benefits/s/{token}")).status_code == 404
    # and a link past its expiry opens nothing
    second = (await client.post(url + "/links", json={"days": 1}, headers=f.auth(own))).json()
    await session.execute(
        update(StatementLink)
        .where(StatementLink.id == second["id"])
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    await session.commit()
    assert (await client.get(f"/benefits/s/{second['token']}")).status_code == 404


@SQLITE
async def test_the_kiosk_token_browses_and_takes_counter_payments_and_nothing_else(
    app: Litestar, client: Client, session: AsyncSession, world: World
) -> None:
    w = world
    kiosk = f.auth(w.kiosk)
    order = await order_for(client, w.buyer_a, w.sugar, w.net.point2.id)
    # when the kiosk reads the public catalogue and builds an anonymous cart (its visitors' cart has no login)
    reads = [await client.get(p, headers=kiosk) for p in ("/api/products", "/api/brands", "/api/workshops")]
    cart = await client.post("/api/cart/lines", json={"variant_id": w.sugar.variant.id})
    client.cookies.clear()
    # then those work
    assert [r.status_code for r in reads] == [200, 200, 200] and cart.status_code == 201
    # when it reaches for a buyer's order, checks out as itself, or calls any guarded route that does not name it
    private = [
        await client.get(f"/api/orders/{order['id']}", headers=kiosk),
        await client.get(f"/api/orders/{order['id']}/receipt", headers=kiosk),
        await client.get("/api/orders", headers=kiosk),
        await client.post("/api/checkout", json={}, headers=kiosk),
    ]
    assert [r.status_code for r in private] == [403, 403, 403, 403], [r.text for r in private]
    walked = 0
    for method, path, handler in http_handlers(app):
        roles = admitted_roles(handler)
        if roles is None or Role.KIOSK in roles:
            continue
        kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        response = await client.request(method, concrete(path), headers=kiosk, **kwargs)
        assert response.status_code == 403, f"{method} {path} answered {response.status_code} to the kiosk"
        walked += 1
    assert walked >= 80
    # and the one write it is for: confirming a counter payment
    paid = await client.post(f"/api/orders/{order['id']}/payments/offline", headers=kiosk)
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    kiosk_routes = sorted(
        f"{m} {p}" for m, p, h in http_handlers(app) if (r := admitted_roles(h)) is not None and Role.KIOSK in r
    )
    # (and "who am I", which every account may ask)
    assert kiosk_routes == ["GET /api/auth/me", "POST /api/orders/{order_id:int}/payments/offline"]
