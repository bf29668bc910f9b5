"""Stripe: PaymentIntents through the official client against a local stand-in; webhooks with real signatures."""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import StockLevel
from shop.ledger.models import LedgerEntry
from shop.orders import events
from shop.payments.models import ProcessedStripeEvent
from tests.shop.helpers import Shop, checkout_body, fetch, sign, stock_of, stripe_event
from tests.shop.stripe_standin import StripeStandIn

WEBHOOK = "/api/payments/stripe/webhook"


async def _stripe_order(client: AsyncTestClient[Litestar], shop: Shop, qty: int = 2) -> tuple[dict, dict]:  # type: ignore[type-arg]
    r = await client.post(
        "/api/checkout",
        json=checkout_body((shop.sugar.variant.id, qty), payment_method="stripe"),
        headers=shop.h(shop.buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    r = await client.post(f"/api/orders/{order['id']}/payments/stripe", headers=shop.h(shop.buyer))
    assert r.status_code == 200, r.text
    return order, r.json()


def _intent(standin: StripeStandIn, payment: dict[str, Any], status: str) -> dict[str, Any]:
    intent = dict(standin.intents[payment["payment_intent_id"]])
    intent["status"] = status
    if status == "succeeded":
        intent["amount_received"] = intent["amount"]
    return intent


async def _post(client: AsyncTestClient[Litestar], body: bytes, signature: str | None = None) -> Any:
    return await client.post(
        WEBHOOK, content=body, headers={"Stripe-Signature": signature or sign(body), "Content-Type": "application/json"}
    )


async def test_payment_intent_is_created_with_card_alipay_and_wechat_pay(
    client: AsyncTestClient[Litestar],
    shop: Shop,
    stripe_standin: StripeStandIn,
) -> None:
    # when the buyer starts paying a 2-jar order with Stripe
    order, payment = await _stripe_order(client, shop)
    # then the stand-in received one PaymentIntent for the exact total in CNY, with the three methods
    created = [
        form
        for method, path, form in stripe_standin.requests
        if path == "/v1/payment_intents" and form["metadata"]["order_id"] == str(order["id"])
    ]
    assert len(created) == 1
    assert created[0]["amount"] == "7600" and created[0]["currency"] == "cny"
    assert created[0]["allowed_payment_method_types"] == ["card", "alipay", "wechat_pay"]
    assert payment["client_secret"].startswith(payment["payment_intent_id"])
    assert (payment["amount_fen"], payment["publishable_key"]) == (7600, "pk_test_hub")
    # and asking again with the same Idempotency-Key returns the same intent
    h = shop.h(shop.buyer, **{"Idempotency-Key": "pay-1"})
    first = (await client.post(f"/api/orders/{order['id']}/payments/stripe", headers=h)).json()
    again = (await client.post(f"/api/orders/{order['id']}/payments/stripe", headers=h)).json()
    assert first == again and first["payment_intent_id"] == payment["payment_intent_id"]


async def test_bad_signature_is_400_and_changes_nothing(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    stripe_standin: StripeStandIn,
) -> None:
    order, payment = await _stripe_order(client, shop)
    body = stripe_event("payment_intent.succeeded", _intent(stripe_standin, payment, "succeeded"))
    for signature in (sign(body, secret="whsec_wrong"), "t=1,v1=deadbeef", "garbage"):
        r = await _post(client, body, signature)
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["field"] == "Stripe-Signature"
    # a body altered after signing fails too
    r = await _post(client, body.replace(b'"amount": 7600', b'"amount": 1'), sign(body))
    assert r.status_code == 400
    assert (await client.get(f"/api/orders/{order['id']}", headers=shop.h(shop.buyer))).json()[
        "status"
    ] == "pending_payment"
    assert await fetch(session, select(ProcessedStripeEvent)) == []
    assert await stock_of(session, shop.sugar.variant.id) == (50, 2)


async def test_succeeded_replayed_five_times_takes_effect_once(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    stripe_standin: StripeStandIn,
) -> None:
    order, payment = await _stripe_order(client, shop)
    body = stripe_event("payment_intent.succeeded", _intent(stripe_standin, payment, "succeeded"))
    seen: list[events.OrderEvent] = []
    events.on_order_paid(seen.append)
    try:
        outcomes = [(await _post(client, body)).json()["outcome"] for _ in range(5)]
    finally:
        events.unsubscribe(events.ORDER_PAID, seen.append)
    assert outcomes == ["paid", "duplicate", "duplicate", "duplicate", "duplicate"]
    assert [e.order_id for e in seen] == [order["id"]]
    assert await stock_of(session, shop.sugar.variant.id) == (48, 0)
    rows = await fetch(session, select(LedgerEntry))
    assert sum(r.amount_fen for r in rows) == 7600 and len(rows) == 2
    assert (await client.get(f"/api/orders/{order['id']}", headers=shop.h(shop.buyer))).json()["status"] == "paid"


async def test_a_late_failure_after_success_does_not_undo_the_payment(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    stripe_standin: StripeStandIn,
) -> None:
    order, payment = await _stripe_order(client, shop)
    failed = stripe_event("payment_intent.payment_failed", _intent(stripe_standin, payment, "requires_payment_method"))
    succeeded = stripe_event("payment_intent.succeeded", _intent(stripe_standin, payment, "succeeded"))
    # when the success arrives before the (older) failure
    assert (await _post(client, succeeded)).json()["outcome"] == "paid"
    assert (await _post(client, failed)).json()["outcome"] == "stale_paid"
    # then the order stays paid and the stock committed
    assert (await client.get(f"/api/orders/{order['id']}", headers=shop.h(shop.buyer))).json()["status"] == "paid"
    assert await stock_of(session, shop.sugar.variant.id) == (48, 0)


async def test_success_after_a_failure_pays_the_order_when_the_stock_is_still_there(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    stripe_standin: StripeStandIn,
) -> None:
    order, payment = await _stripe_order(client, shop)
    failed = stripe_event("payment_intent.payment_failed", _intent(stripe_standin, payment, "requires_payment_method"))
    succeeded = stripe_event("payment_intent.succeeded", _intent(stripe_standin, payment, "succeeded"))
    # a failure releases the reservation and cancels the order
    assert (await _post(client, failed)).json()["outcome"] == "cancelled"
    assert await stock_of(session, shop.sugar.variant.id) == (50, 0)
    # a retry with another card succeeded: the order is paid after all
    assert (await _post(client, succeeded)).json()["outcome"] == "paid"
    body = (await client.get(f"/api/orders/{order['id']}", headers=shop.h(shop.buyer))).json()
    assert body["status"] == "paid"
    assert await stock_of(session, shop.sugar.variant.id) == (48, 0)


async def test_success_after_the_stock_is_gone_refunds_the_payment(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    stripe_standin: StripeStandIn,
) -> None:
    order, payment = await _stripe_order(client, shop)
    failed = stripe_event("payment_intent.payment_failed", _intent(stripe_standin, payment, "requires_payment_method"))
    assert (await _post(client, failed)).json()["outcome"] == "cancelled"
    await session.execute(update(StockLevel).where(StockLevel.variant_id == shop.sugar.variant.id).values(on_hand=1))
    await session.commit()
    succeeded = stripe_event("payment_intent.succeeded", _intent(stripe_standin, payment, "succeeded"))
    assert (await _post(client, succeeded)).json()["outcome"] == "late_payment_refund"
    assert (await client.get(f"/api/orders/{order['id']}", headers=shop.h(shop.buyer))).json()["status"] == "cancelled"
    refunds = [r for r in stripe_standin.refunds.values() if r["payment_intent"] == payment["payment_intent_id"]]
    assert [r["amount"] for r in refunds] == [7600]
    assert await stock_of(session, shop.sugar.variant.id) == (1, 0)


async def test_unrelated_events_are_acknowledged_and_recorded(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
) -> None:
    body = json.dumps(
        {
            "id": "evt_other",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    ).encode()
    r = await _post(client, body)
    assert r.status_code == 200 and r.json() == {"received": True, "event_id": "evt_other", "outcome": "ignored"}


async def test_without_stripe_keys_stripe_calls_are_503_and_offline_still_works(
    offline_client: AsyncTestClient[Litestar],
    shop: Shop,
) -> None:
    r = await offline_client.post(
        "/api/checkout",
        json=checkout_body((shop.sugar.variant.id, 1), payment_method="stripe"),
        headers=shop.h(shop.buyer),
    )
    assert r.status_code == 201
    r = await offline_client.post(f"/api/orders/{r.json()['id']}/payments/stripe", headers=shop.h(shop.buyer))
    assert r.status_code == 503
    body = stripe_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    assert (
        await offline_client.post(WEBHOOK, content=body, headers={"Stripe-Signature": sign(body)})
    ).status_code == 503
    r = await offline_client.post(
        "/api/checkout", json=checkout_body((shop.sugar.variant.id, 1)), headers=shop.h(shop.buyer)
    )
    paid = await offline_client.post(f"/api/orders/{r.json()['id']}/payments/offline", headers=shop.h(shop.kiosk))
    assert paid.json()["status"] == "paid"


async def test_an_event_for_another_intent_is_not_applied(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    shop: Shop,
    stripe_standin: StripeStandIn,
) -> None:
    order, payment = await _stripe_order(client, shop)
    forged = {**_intent(stripe_standin, payment, "succeeded"), "id": "pi_someone_else"}
    r = await _post(client, stripe_event("payment_intent.succeeded", forged))
    assert r.json()["outcome"] == "other_intent"
    status = (await client.get(f"/api/orders/{order['id']}", headers=shop.h(shop.buyer))).json()["status"]
    assert status == "pending_payment"
    assert await stock_of(session, shop.sugar.variant.id) == (50, 2)
