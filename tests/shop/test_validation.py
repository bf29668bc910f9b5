"""Bad input on every write route names the field; unknown ids are 404; guards refuse anonymous (401) and the
wrong role (403)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.cart.models import CartLine
from shop.orders.models import Order
from tests.shop.helpers import PICKUP, Shop, checkout_body


def _fields(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [e["field"] for e in body["errors"]]


def _named(body: dict) -> str:  # type: ignore[type-arg]
    """Where the field is named: our errors put it in `field`; Litestar's body validation in the message."""
    return " ".join(f"{e['field']} {e['message']}" for e in body["errors"])


CART_ADD_CASES = [
    ({"quantity": 1}, 400, "variant_id"),
    ({"variant_id": 1, "quantity": 0}, 400, "quantity"),
    ({"variant_id": 1, "quantity": 1000}, 400, "quantity"),
    ({"variant_id": 1, "share_code": "no spaces!"}, 400, "share_code"),
    ({"variant_id": 999999}, 404, "variant_id"),
]


async def test_cart_add_bad_input(client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop) -> None:
    for body, status, field in CART_ADD_CASES:
        if body.get("variant_id") == 1:
            body = {**body, "variant_id": shop.sugar.variant.id}
        r = await client.post("/api/cart/lines", json=body)
        assert r.status_code == status, r.text
        assert field in _named(r.json())
    assert await session.scalar(select(func.count()).select_from(CartLine)) == 0
    await session.commit()


async def test_cart_line_routes_404_and_400(client: AsyncTestClient[Litestar], shop: Shop) -> None:
    r = await client.post("/api/cart/lines", json={"variant_id": shop.sugar.variant.id}, headers=shop.h(shop.buyer))
    line_id = r.json()["lines"][0]["id"]
    r = await client.patch(f"/api/cart/lines/{line_id}", json={"quantity": 0}, headers=shop.h(shop.buyer))
    assert r.status_code == 400 and "quantity" in _named(r.json())
    r = await client.patch(f"/api/cart/lines/{line_id}", json={"quantity": 3}, headers=shop.h(shop.buyer))
    assert r.json()["lines"][0]["quantity"] == 3
    assert (
        await client.patch(f"/api/cart/lines/{line_id}", json={"quantity": 3}, headers=shop.h(shop.other_buyer))
    ).status_code == 404
    assert (await client.delete(f"/api/cart/lines/{line_id + 99}", headers=shop.h(shop.buyer))).status_code == 404
    r = await client.delete(f"/api/cart/lines/{line_id}", headers=shop.h(shop.buyer))
    assert (r.status_code, r.json()["lines"]) == (200, [])
    r = await client.post("/api/cart/merge", headers=shop.h(shop.buyer))
    assert r.status_code == 422 and _fields(r.json()) == ["X-Cart-Token"]


CHECKOUT_CASES = [
    ({"payment_method": "offline"}, 400, "delivery"),
    ({"delivery": {"method": "drone"}}, 400, "method"),
    ({"delivery": {"method": "pickup"}}, 422, "delivery.pickup_point_id"),
    ({"delivery": {"method": "home"}}, 422, "delivery.address"),
    (
        {"delivery": {"method": "home", "address": {"name": "张", "phone": "x", "county": "青田县", "detail": "1"}}},
        400,
        "phone",
    ),
    ({"delivery": PICKUP, "payment_method": "cash"}, 400, "payment_method"),
    ({"delivery": PICKUP, "lines": []}, 400, "lines"),
    ({"delivery": PICKUP, "lines": [{"variant_id": 1, "quantity": 0}]}, 400, "quantity"),
    ({"delivery": PICKUP, "lines": [{"variant_id": 999999, "quantity": 1}]}, 404, "lines[0].variant_id"),
    ({"delivery": PICKUP}, 422, "lines"),  # empty cart
    ({"delivery": PICKUP, "unknown": 1}, 400, "unknown"),
]


async def test_checkout_bad_input(client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop) -> None:
    for body, status, field in CHECKOUT_CASES:
        for line in body.get("lines", []):
            if line["variant_id"] == 1:
                line["variant_id"] = shop.sugar.variant.id
        r = await client.post("/api/checkout", json=body, headers=shop.h(shop.buyer))
        assert r.status_code == status, r.text
        assert field in _named(r.json()), r.json()
    assert await session.scalar(select(func.count()).select_from(Order)) == 0
    await session.commit()


async def test_order_routes_404_409_and_bad_values(client: AsyncTestClient[Litestar], shop: Shop) -> None:
    admin = shop.h(shop.admin)
    for method, url, body in (
        ("post", "/api/orders/999/payments/offline", None),
        ("post", "/api/orders/999/status", {"status": "packed"}),
        ("post", "/api/orders/999/refunds", {}),
        ("post", "/api/orders/999/cancel", {}),
        ("get", "/api/orders/999", None),
        ("get", "/api/orders/999/receipt", None),
    ):
        r = await getattr(client, method)(url, **({"json": body} if body is not None else {}), headers=admin)
        assert r.status_code == 404, (url, r.text)
    r = await client.post("/api/checkout", json=checkout_body((shop.sugar.variant.id, 1)), headers=shop.h(shop.buyer))
    oid = r.json()["id"]
    r = await client.post(f"/api/orders/{oid}/status", json={"status": "teleported"}, headers=admin)
    assert r.status_code == 400 and "status" in _named(r.json())
    r = await client.post(f"/api/orders/{oid}/refunds", json={}, headers=admin)
    assert r.status_code == 409 and r.json()["from"] == "pending_payment"
    r = await client.post(f"/api/orders/{oid}/refunds", json={"lines": [{"line_id": 1, "quantity": 0}]}, headers=admin)
    assert r.status_code == 400
    await client.post(f"/api/orders/{oid}/payments/offline", headers=admin)
    r = await client.post(
        f"/api/orders/{oid}/refunds", json={"lines": [{"line_id": 999, "quantity": 1}]}, headers=admin
    )
    assert r.status_code == 404 and _fields(r.json()) == ["lines[0].line_id"]
    r = await client.post(f"/api/orders/{oid}/payments/offline", headers=admin)
    assert r.status_code == 409 and r.json()["from"] == "paid"
    r = await client.post(f"/api/orders/{oid}/status", json={"status": "paid"}, headers=admin)
    assert r.status_code == 409
    r = await client.post("/api/vouchers", json={"code": "bad code", "kind": "fixed", "valid_from": "x"}, headers=admin)
    assert r.status_code == 400
    r = await client.post(
        "/api/vouchers",
        json={
            "code": "VOUCHER1",
            "kind": "fixed",
            "amount_fen": 100,
            "valid_from": "2026-02-01T00:00:00Z",
            "valid_until": "2026-01-01T00:00:00Z",
        },
        headers=admin,
    )
    assert r.status_code == 422 and _fields(r.json()) == ["valid_until"]
    r = await client.post(
        "/api/vouchers",
        json={
            "code": "VOUCHER2",
            "kind": "percent",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2026-02-01T00:00:00Z",
        },
        headers=admin,
    )
    assert r.status_code == 422 and _fields(r.json()) == ["percent_bp"]


GUARDED = [
    ("post", "/api/cart/merge", None, None),
    ("post", "/api/checkout", {"delivery": PICKUP}, None),
    ("get", "/api/orders", None, None),
    ("get", "/api/orders/1", None, None),
    ("get", "/api/orders/1/receipt", None, None),
    ("post", "/api/orders/1/cancel", {}, None),
    ("post", "/api/orders/1/payments/stripe", None, None),
    ("post", "/api/orders/1/payments/offline", None, "buyer"),
    ("post", "/api/orders/1/status", {"status": "packed"}, "buyer"),
    ("post", "/api/orders/1/refunds", {}, "buyer"),
    ("get", "/api/staff/orders", None, "kiosk"),
    ("post", "/api/vouchers", {}, "manager"),
    ("get", "/api/vouchers", None, "buyer"),
]


async def test_route_guards(client: AsyncTestClient[Litestar], shop: Shop) -> None:
    for method, url, body, wrong_role in GUARDED:
        kwargs = {"json": body} if body is not None else {}
        r = await getattr(client, method)(url, **kwargs)
        assert r.status_code == 401, (url, r.text)
        if wrong_role:
            user = {"buyer": shop.buyer, "kiosk": shop.kiosk, "manager": shop.manager}[wrong_role]
            r = await getattr(client, method)(url, **kwargs, headers=shop.h(user))
            assert r.status_code == 403, (url, r.text)
