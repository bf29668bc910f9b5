"""Order events reach their subscribers even when the process dies between the commit and the hand-over.

A payment records its "order paid" event in the order's transaction; the app hands it to logistics right after the
commit and marks the outbox row processed. A row left unprocessed (the hand-over never ran) is handed over by the
relay job once it is older than two minutes, exactly once. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.models import Shipment
from shop.accounts.models import Role
from shop.auth import Caller
from shop.db import utcnow
from shop.orders.events import ORDERS_TOPIC
from shop.orders.jobs import RELAY_AFTER, relay_order_events
from shop.outbox import OutboxEvent
from shop.payments.services import PaymentService
from tests import factories
from tests.test_checkout_logistics import Shop, checkout, shop

__all__ = ["shop"]


async def _count(session: AsyncSession, stmt: object) -> int:
    value = await session.scalar(stmt)  # type: ignore[call-overload]
    await session.commit()
    return int(value or 0)


async def _unprocessed(session: AsyncSession) -> int:
    return await _count(
        session,
        select(func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.topic == ORDERS_TOPIC, OutboxEvent.processed_at.is_(None)),
    )


async def _shipments(session: AsyncSession, order_id: int) -> int:
    return await _count(session, select(func.count()).select_from(Shipment).where(Shipment.order_id == order_id))


async def test_a_payment_hands_its_event_over_and_marks_it_processed(
    app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    # given an order checked out to a network point
    r = await checkout(client, shop, {"method": "pickup", "pickup_point_id": shop.net.point2.id})
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    # when the kiosk confirms the payment (the hand-over runs after the response)
    paid = await client.post(f"/api/orders/{order_id}/payments/offline", headers=factories.auth(shop.kiosk))
    # then the shipment exists and nothing is left for the relay, even long after
    assert paid.status_code == 200, paid.text
    assert await _shipments(session, order_id) == 1
    assert await _unprocessed(session) == 0
    handed = await relay_order_events(app.state.session_factory, now=utcnow() + RELAY_AFTER + dt.timedelta(hours=1))
    assert handed == 0
    assert await _shipments(session, order_id) == 1


async def test_an_event_whose_hand_over_never_ran_is_relayed_once_after_two_minutes(
    app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    # given a paid order whose process "died" after the commit: the payment is committed, the hand-over never ran
    r = await checkout(client, shop, {"method": "pickup", "pickup_point_id": shop.net.point2.id})
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    kiosk = Caller(shop.kiosk.id, shop.kiosk.username, Role.KIOSK, shop.kiosk.display_name)
    async with app.state.session_factory() as own:
        paid = await PaymentService(own, app.state.settings).confirm_offline_deferred(kiosk, order_id, None)
    assert paid.order_out.status == "paid"
    assert await _shipments(session, order_id) == 0
    assert await _unprocessed(session) == 1
    # when the relay runs within two minutes of the payment, then it leaves the row to the normal hand-over
    assert await relay_order_events(app.state.session_factory) == 0
    assert await _shipments(session, order_id) == 0
    # when it runs after two minutes, then the shipment is planned and the row is processed
    later = utcnow() + RELAY_AFTER + dt.timedelta(seconds=1)
    assert await relay_order_events(app.state.session_factory, now=later) == 1
    assert await _shipments(session, order_id) == 1
    assert await _unprocessed(session) == 0
    # and a second run hands over nothing and plans nothing twice
    assert await relay_order_events(app.state.session_factory, now=later) == 0
    assert await _shipments(session, order_id) == 1


async def test_payments_confirmed_together_each_get_their_shipment(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    # given six orders checked out to a network point
    order_ids = []
    for _ in range(6):
        r = await checkout(client, shop, {"method": "pickup", "pickup_point_id": shop.net.point2.id})
        assert r.status_code == 201, r.text
        order_ids.append(r.json()["id"])
    # when the kiosk confirms all six at once (their hand-overs overlap and are planned together)
    paid = await asyncio.gather(
        *(client.post(f"/api/orders/{oid}/payments/offline", headers=factories.auth(shop.kiosk)) for oid in order_ids)
    )
    # then every order has exactly its one shipment and no event is left for the relay
    assert [p.status_code for p in paid] == [200] * 6
    assert [await _shipments(session, oid) for oid in order_ids] == [1] * 6
    assert await _unprocessed(session) == 0
