"""A Stripe payment that arrives after the order was cancelled by reservation expiry (issue 4).

The order is revived only if everything it was sold with still holds — the units are still free and its voucher
use can be counted again — otherwise nothing changes and the payment is refunded in full.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import StockLevel
from shop.ledger.models import LedgerEntry
from shop.orders.models import Order
from shop.orders.services import OrderService
from shop.vouchers.models import Voucher, VoucherRedemption
from tests.shop.helpers import Shop, checkout_body, fetch, sign, stock_of, stripe_event
from tests.shop.stripe_standin import StripeStandIn

WEBHOOK = "/api/payments/stripe/webhook"
NOW = dt.datetime.now(dt.UTC)


async def _voucher(client: AsyncTestClient[Litestar], shop: Shop, **body: object) -> None:
    payload = {
        "valid_from": (NOW - dt.timedelta(days=1)).isoformat(),
        "valid_until": (NOW + dt.timedelta(days=1)).isoformat(),
        **body,
    }
    r = await client.post("/api/vouchers", json=payload, headers=shop.h(shop.admin))
    assert r.status_code == 201, r.text


async def _stripe_order_with_voucher(client: AsyncTestClient[Litestar], shop: Shop) -> tuple[dict[str, Any], str]:
    r = await client.post(
        "/api/checkout",
        json=checkout_body((shop.sugar.variant.id, 2), payment_method="stripe", voucher_code="JIAN5"),
        headers=shop.h(shop.buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    p = await client.post(f"/api/orders/{order['id']}/payments/stripe", headers=shop.h(shop.buyer))
    assert p.status_code == 200, p.text
    return order, p.json()["payment_intent_id"]


async def _expire(session: AsyncSession, order_id: int) -> None:
    """As if 15 minutes had passed and the expiry job ran (in a session of its own, as the job does)."""
    await session.execute(update(Order).where(Order.id == order_id).values(reserved_until=Order.created_at))
    await session.commit()
    assert session.bind is not None
    async with AsyncSession(session.bind, expire_on_commit=False) as job_session:
        assert await OrderService(job_session).expire_due() == 1


def _succeeded(standin: StripeStandIn, intent_id: str) -> bytes:
    intent = dict(standin.intents[intent_id])
    intent["status"] = "succeeded"
    intent["amount_received"] = intent["amount"]
    return stripe_event("payment_intent.succeeded", intent)


async def _webhook(client: AsyncTestClient[Litestar], body: bytes) -> Any:
    r = await client.post(WEBHOOK, content=body, headers={"Stripe-Signature": sign(body)})
    assert r.status_code == 200, r.text
    return r.json()


async def _voucher_state(session: AsyncSession) -> tuple[int, list[bool]]:
    used = await session.scalar(select(Voucher.used_count).where(Voucher.code == "JIAN5"))
    released = [r.released for r in await fetch(session, select(VoucherRedemption).order_by(VoucherRedemption.id))]
    return int(used or 0), released


async def test_a_late_payment_after_expiry_revives_the_order_and_counts_the_voucher_again(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop, stripe_standin: StripeStandIn
) -> None:
    # given a 2-jar order (7600 fen) with a 500-fen voucher, cancelled by the expiry job before Stripe confirmed
    await _voucher(client, shop, code="JIAN5", kind="fixed", amount_fen=500, usage_limit=1)
    order, intent_id = await _stripe_order_with_voucher(client, shop)
    assert order["total_fen"] == 7100
    await _expire(session, order["id"])
    assert await stock_of(session, shop.sugar.variant.id) == (50, 0)
    assert await _voucher_state(session) == (0, [True])
    # when the payment's success arrives late
    ack = await _webhook(client, _succeeded(stripe_standin, intent_id))
    # then the order is paid, its units leave the shelf, its voucher use counts again and the ledger adds up
    assert ack["outcome"] == "paid"
    body = (await client.get(f"/api/orders/{order['id']}", headers=shop.h(shop.buyer))).json()
    assert (body["status"], body["total_fen"], body["discount_fen"]) == ("paid", 7100, 500)
    assert await stock_of(session, shop.sugar.variant.id) == (48, 0)
    assert await _voucher_state(session) == (1, [False])
    total = await session.scalar(select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.order_id == order["id"]))
    await session.commit()
    assert total == 7100
    assert not [r for r in stripe_standin.refunds.values() if r["payment_intent"] == intent_id]


async def test_a_late_payment_whose_voucher_was_used_up_meanwhile_is_refunded_and_changes_nothing(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop, stripe_standin: StripeStandIn
) -> None:
    # given an order with a single-use voucher, cancelled by expiry, and the voucher then used by another buyer
    await _voucher(client, shop, code="JIAN5", kind="fixed", amount_fen=500, usage_limit=1)
    order, intent_id = await _stripe_order_with_voucher(client, shop)
    await _expire(session, order["id"])
    other = await client.post(
        "/api/checkout",
        json=checkout_body((shop.tea.variant.id, 1), voucher_code="JIAN5"),
        headers=shop.h(shop.other_buyer),
    )
    assert other.status_code == 201, other.text
    assert await _voucher_state(session) == (1, [True, False])
    # when the first order's payment succeeds late
    ack = await _webhook(client, _succeeded(stripe_standin, intent_id))
    # then it is refunded in full and nothing moved: order cancelled, stock and voucher count as they were
    assert ack["outcome"] == "late_payment_refund"
    body = (await client.get(f"/api/orders/{order['id']}", headers=shop.h(shop.buyer))).json()
    assert body["status"] == "cancelled"
    assert [r["amount"] for r in stripe_standin.refunds.values() if r["payment_intent"] == intent_id] == [7100]
    assert await stock_of(session, shop.sugar.variant.id) == (50, 0)
    assert await _voucher_state(session) == (1, [True, False])
    ledger = await session.scalar(select(func.count()).where(LedgerEntry.order_id == order["id"]))
    await session.commit()
    assert ledger == 0


async def test_a_late_payment_for_a_two_line_order_with_one_line_sold_out_takes_nothing(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop, stripe_standin: StripeStandIn
) -> None:
    # given a two-line order cancelled by expiry, and then the second line's product sold out
    r = await client.post(
        "/api/checkout",
        json=checkout_body((shop.sugar.variant.id, 2), (shop.tea.variant.id, 3), payment_method="stripe"),
        headers=shop.h(shop.buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    p = await client.post(f"/api/orders/{order['id']}/payments/stripe", headers=shop.h(shop.buyer))
    intent_id = p.json()["payment_intent_id"]
    await _expire(session, order["id"])
    await session.execute(update(StockLevel).where(StockLevel.variant_id == shop.tea.variant.id).values(on_hand=2))
    await session.commit()
    # when the payment succeeds late
    ack = await _webhook(client, _succeeded(stripe_standin, intent_id))
    # then it is refunded, and the line that still had stock was not left reserved or taken
    assert ack["outcome"] == "late_payment_refund"
    assert await stock_of(session, shop.sugar.variant.id) == (50, 0)
    assert await stock_of(session, shop.tea.variant.id) == (2, 0)
