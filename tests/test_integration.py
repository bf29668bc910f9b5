"""The contexts connected by shop.integration, end to end through the API (SQLite and PostgreSQL).

A live session's share code attributes a cart line; the kiosk's confirmation of an offline payment writes the
streamer's commission, counts the sale in the live figures and plans the logistics parcel; a refund takes it off
the figures; a parcel returned uncollected refunds its lines; a pickup code reaches the shop's sender.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, SessionStatus
from logistics import notify as logistics_notify
from logistics.hooks import get_return_hook
from logistics.models import DeliveryMode, LogisticsNode, Shipment, ShipmentStatus
from logistics.services.returns import return_uncollected
from shop.accounts.models import Role, User
from shop.audit import AuditEntry
from shop.db import utcnow
from shop.ledger.models import LedgerEntry
from shop.notifications import MemorySender, NotificationKind, log_fields, set_sender
from shop.orders.models import Refund
from tests import factories
from tests.factories import ProductBundle
from tests.livestream.helpers import studio
from tests.logistics.helpers import Net, build_net


@dataclass
class World:
    net: Net
    sugar: ProductBundle  # 3800 fen, workshop fee 500 bp by default
    buyer: User
    kiosk: User
    admin: User
    streamer: User
    live: LiveSession

    def h(self, user: User) -> dict[str, str]:
        return factories.auth(user)


@pytest.fixture
def sent() -> Iterator[MemorySender]:
    sender = MemorySender()
    set_sender(sender)
    yield sender
    set_sender(None)


@pytest.fixture
async def world(session: AsyncSession) -> World:
    net = await build_net(session)
    brand = await factories.brand(session, "丽水山耕")
    sugar = await factories.product(session, net.workshop, brand, "青田红糖", price_fen=3800, on_hand=10)
    buyer = await factories.user(session, Role.BUYER)
    kiosk = await factories.user(session, Role.KIOSK)
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    streamer = await factories.user(session, Role.STREAMER)
    room = await studio(session)
    now = utcnow()
    live = LiveSession(
        studio_id=room.id,
        streamer_user_id=streamer.id,
        title="红糖直播",
        starts_at=now - dt.timedelta(minutes=10),
        ends_at=now + dt.timedelta(hours=1),
        block_until=now + dt.timedelta(hours=1, minutes=15),
        status=SessionStatus.LIVE,
        commission_bp=800,
        share_code="LIVE42",
        went_live_at=now - dt.timedelta(minutes=5),
    )
    session.add(live)
    await session.commit()
    return World(net, sugar, buyer, kiosk, admin, streamer, live)


async def fetch(session: AsyncSession, stmt: object) -> list:  # type: ignore[type-arg]
    rows = list((await session.scalars(stmt)).all())  # type: ignore[call-overload]
    await session.commit()
    return rows


async def paid_pickup_order(
    client: AsyncTestClient[Litestar],
    w: World,
    quantity: int = 2,
    point_id: int | None = None,
    share_code: str | None = None,
) -> dict:  # type: ignore[type-arg]
    line = {"variant_id": w.sugar.variant.id, "quantity": quantity}
    if share_code:
        line["share_code"] = share_code  # type: ignore[assignment]
    r = await client.post("/api/cart/lines", json=line, headers=w.h(w.buyer))
    assert r.status_code in (200, 201), r.text
    delivery = {"method": "pickup", "pickup_point_id": point_id or w.net.point2.id}
    r = await client.post(
        "/api/checkout", json={"delivery": delivery, "payment_method": "offline"}, headers=w.h(w.buyer)
    )
    assert r.status_code == 201, r.text
    order = r.json()
    r = await client.post(f"/api/orders/{order['id']}/payments/offline", headers=w.h(w.kiosk))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid"
    return order  # type: ignore[no-any-return]


async def figures(client: AsyncTestClient[Litestar], live: LiveSession) -> tuple[int, int]:
    r = await client.get(f"/api/live/sessions/{live.id}/figures")
    assert r.status_code == 200, r.text
    return r.json()["orders"], r.json()["gmv_fen"]


async def test_live_sale_reaches_ledger_figures_and_logistics_and_a_refund_reverses_the_figures(
    client: AsyncTestClient[Litestar], session: AsyncSession, world: World
) -> None:
    w = world
    # given a session that is live, with no sales yet
    assert await figures(client, w.live) == (0, 0)
    # when a buyer adds 2 × 3800 through the share code (any case), checks out for pickup and the kiosk confirms
    r = await client.post(
        "/api/cart/lines",
        json={"variant_id": w.sugar.variant.id, "quantity": 2, "share_code": "live42"},
        headers=w.h(w.buyer),
    )
    assert r.status_code in (200, 201), r.text
    assert [ln["live_session_id"] for ln in r.json()["lines"]] == [w.live.id]
    r = await client.post(
        "/api/checkout",
        json={"delivery": {"method": "pickup", "pickup_point_id": w.net.point2.id}, "payment_method": "offline"},
        headers=w.h(w.buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert [(ln["live_session_id"], ln["net_fen"]) for ln in order["lines"]] == [(w.live.id, 7600)]
    r = await client.post(f"/api/orders/{order['id']}/payments/offline", headers=w.h(w.kiosk))
    assert r.status_code == 200, r.text

    # then the ledger pays the streamer 8% of the line's net
    rows = await fetch(
        session,
        select(LedgerEntry).where(LedgerEntry.order_id == order["id"], LedgerEntry.kind == "streamer_commission"),
    )
    assert [(r.amount_fen, r.streamer_user_id, r.live_session_id, r.rate_bp) for r in rows] == [
        (608, w.streamer.id, w.live.id, 800)
    ]
    # and the live figures count one order of 7600 fen
    assert await figures(client, w.live) == (1, 7600)
    # and logistics planned one pickup parcel for the workshop, to the chosen point, for the buyer
    parcels = await fetch(session, select(Shipment).where(Shipment.order_id == order["id"]))
    assert [(s.workshop_id, s.mode, s.pickup_point_id, s.buyer_user_id, s.weight_g, s.status) for s in parcels] == [
        (w.net.workshop.id, DeliveryMode.PICKUP, w.net.point2.id, w.buyer.id, 1000, ShipmentStatus.CREATED)
    ]
    # and the buyer's tracking page shows it
    r = await client.get(f"/api/logistics/orders/{order['id']}/tracking", headers=w.h(w.buyer))
    assert r.status_code == 200, r.text
    assert [(s["id"], s["status"]) for s in r.json()["shipments"]] == [(parcels[0].id, "created")]

    # when the centre refunds the whole order
    r = await client.post(f"/api/orders/{order['id']}/refunds", json={"reason": "买家取消"}, headers=w.h(w.admin))
    assert r.status_code == 201, r.text
    # then the figures are back to nothing and the commission is reversed
    assert await figures(client, w.live) == (0, 0)
    rows = await fetch(
        session,
        select(LedgerEntry).where(LedgerEntry.order_id == order["id"], LedgerEntry.kind == "streamer_commission"),
    )
    assert sorted(r.amount_fen for r in rows) == [-608, 608]


async def test_a_share_code_without_a_live_session_attributes_nothing(
    client: AsyncTestClient[Litestar], session: AsyncSession, world: World
) -> None:
    # given the session has ended more than its attribution window ago
    w = world
    live = await session.get(LiveSession, w.live.id)
    assert live is not None
    live.status, live.ended_at = SessionStatus.ENDED, utcnow() - dt.timedelta(days=2)
    await session.commit()
    # when the buyer buys through its code
    order = await paid_pickup_order(client, w, share_code="LIVE42")
    # then nothing is attributed: no commission, no figures; the parcel is still planned
    assert [ln["live_session_id"] for ln in order["lines"]] == [None]
    assert await fetch(session, select(LedgerEntry).where(LedgerEntry.kind == "streamer_commission")) == []
    assert await figures(client, w.live) == (0, 0)
    assert len(await fetch(session, select(Shipment).where(Shipment.order_id == order["id"]))) == 1


async def test_a_pickup_point_closed_before_payment_leaves_the_payment_alone(
    client: AsyncTestClient[Litestar], session: AsyncSession, world: World
) -> None:
    w = world
    # given an order quoted at 岭头村服务点, which stops taking parcels before the order is paid
    r = await client.post(
        "/api/checkout",
        json={
            "delivery": {"method": "pickup", "pickup_point_id": w.net.point2.id},
            "payment_method": "offline",
            "lines": [{"variant_id": w.sugar.variant.id, "quantity": 1}],
        },
        headers=w.h(w.buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    point = await session.get(LogisticsNode, w.net.point2.id)
    assert point is not None
    point.is_active = False
    await session.commit()
    # when the kiosk confirms the payment, the shipment subscriber is refused (logged)
    r = await client.post(f"/api/orders/{order['id']}/payments/offline", headers=w.h(w.kiosk))
    # then the payment stands and no parcel exists
    assert (r.status_code, r.json()["status"]) == (200, "paid")
    assert await fetch(session, select(Shipment)) == []


async def test_a_parcel_returned_uncollected_refunds_its_lines_once(
    client: AsyncTestClient[Litestar], session: AsyncSession, world: World, sent: MemorySender
) -> None:
    w = world
    order = await paid_pickup_order(client, w, quantity=3)
    # given the parcel reached the point nine days ago and was never collected
    parcel = (await fetch(session, select(Shipment).where(Shipment.order_id == order["id"])))[0]
    parcel = await session.get(Shipment, parcel.id)
    assert parcel is not None
    parcel.status, parcel.arrived_at, parcel.pickup_code = (
        ShipmentStatus.AWAITING_PICKUP,
        utcnow() - dt.timedelta(days=9),
        "123456",
    )
    await session.commit()
    # when the logistics return job runs (in the app's own sessions, as its periodic task does)
    async with client.app.state.session_factory() as job_session:
        result = await return_uncollected(job_session)
    # then the parcel went back and the shop refunded its 3 units (11400 fen) as the system
    assert (result.returned, result.refunds_notified) == (1, 1)
    r = await client.get(f"/api/orders/{order['id']}", headers=w.h(w.buyer))
    assert r.json()["status"] == "refunded"
    refunds = await fetch(session, select(Refund).where(Refund.order_id == order["id"]))
    assert [(rf.amount_fen, rf.created_by) for rf in refunds] == [(11400, None)]
    assert [(n.kind, n.order_id) for n in sent.sent][-1] == (NotificationKind.ORDER_REFUNDED, order["id"])
    # and a retried hook changes nothing
    await get_return_hook().on_parcel_returned(order["id"], parcel.id)
    assert len(await fetch(session, select(Refund).where(Refund.order_id == order["id"]))) == 1
    async with client.app.state.session_factory() as job_session:
        assert (await return_uncollected(job_session)).refunds_notified == 0


async def test_a_pickup_code_notice_reaches_the_buyer_and_not_the_log(
    client: AsyncTestClient[Litestar], world: World, sent: MemorySender
) -> None:
    # when logistics announces a parcel waiting at a point (and a returned one, told by the refund instead)
    sender = logistics_notify.get_sender()
    await sender.send(
        logistics_notify.Notification("pickup_code", 5, 77, world.buyer.id, "13900000000", "取件码 482913")
    )
    await sender.send(logistics_notify.Notification("parcel_returned", 5, 77, world.buyer.id, "13900000000", "退回"))
    # then the buyer gets one "ready for pickup" notice whose message carries the code
    assert [(n.kind, n.user_id, n.order_id, n.data) for n in sent.sent] == [
        (NotificationKind.READY_FOR_PICKUP, world.buyer.id, 77, {"shipment_id": 5, "message": "取件码 482913"})
    ]
    # and the default log sender writes that a message went out, never the message itself
    assert log_fields(sent.sent[0]) == {
        "kind": "ready_for_pickup",
        "user_id": world.buyer.id,
        "order_id": 77,
        "withheld": ["message"],
        "shipment_id": 5,
    }


async def test_home_delivery_becomes_a_home_parcel_to_the_named_village(
    client: AsyncTestClient[Litestar], session: AsyncSession, world: World
) -> None:
    w = world
    # given a home address written with region names (an unknown one is refused at checkout:
    # tests/test_checkout_logistics.py)
    address = {
        "name": "李四",
        "phone": "13900000000",
        "county": "青田县",
        "township": "仁庄镇",
        "village": "夏严村",
        "detail": "夏严村 12 号",
    }
    r = await client.post(
        "/api/checkout",
        json={
            "delivery": {"method": "home", "address": address},
            "payment_method": "offline",
            "lines": [{"variant_id": w.sugar.variant.id, "quantity": 1}],
        },
        headers=w.h(w.buyer),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    # when the kiosk confirms the payment
    r = await client.post(f"/api/orders/{order['id']}/payments/offline", headers=w.h(w.kiosk))
    # then it is paid and a home parcel goes to that village
    assert r.status_code == 200, r.text
    found = await fetch(session, select(Shipment).where(Shipment.order_id == order["id"]))
    assert [(s.mode, s.village_id, s.recipient_name, s.street) for s in found] == [
        (DeliveryMode.HOME, w.net.village.id, "李四", "夏严村 12 号")
    ]


async def test_a_pickup_order_follows_its_parcel_to_ready_and_collected(
    client: AsyncTestClient[Litestar], session: AsyncSession, world: World, sent: MemorySender
) -> None:
    w = world
    order = await paid_pickup_order(client, w, quantity=1)
    parcel = (await fetch(session, select(Shipment).where(Shipment.order_id == order["id"])))[0]
    parcel = await session.get(Shipment, parcel.id)
    assert parcel is not None
    # given the parcel reached its point with code 654321 (as the batch arrival commits it)
    parcel.status, parcel.arrived_at, parcel.pickup_code = ShipmentStatus.AWAITING_PICKUP, utcnow(), "654321"
    await session.commit()
    notice = logistics_notify.Notification("pickup_code", parcel.id, order["id"], w.buyer.id, "", "取件码 654321")
    # when logistics announces it, twice (a retried send)
    await logistics_notify.get_sender().send(notice)
    await logistics_notify.get_sender().send(notice)
    # then the order is ready for pickup, having walked packed and shipped once each
    r = await client.get(f"/api/orders/{order['id']}", headers=w.h(w.buyer))
    assert r.json()["status"] == "ready_for_pickup"
    steps = await fetch(
        session,
        select(AuditEntry.changes)
        .where(AuditEntry.entity == "order", AuditEntry.entity_id == order["id"])
        .order_by(AuditEntry.id),
    )
    moved = [c["status"] for c in steps if c and c.get("note") == "包裹进度"]
    assert moved == [["paid", "packed"], ["packed", "shipped"], ["shipped", "ready_for_pickup"]]
    # when the buyer collects it with the code at the point
    r = await client.post(
        f"/api/logistics/points/{parcel.pickup_point_id}/parcels/{parcel.id}/collect",
        json={"code": "654321"},
        headers=w.h(w.admin),
    )
    assert r.status_code == 200, r.text
    # then the order is collected
    r = await client.get(f"/api/orders/{order['id']}", headers=w.h(w.buyer))
    assert r.json()["status"] == "collected"


async def test_an_order_with_a_parcel_still_travelling_is_not_ready(
    client: AsyncTestClient[Litestar], session: AsyncSession, world: World
) -> None:
    w = world
    order = await paid_pickup_order(client, w, quantity=1)
    parcel = (await fetch(session, select(Shipment).where(Shipment.order_id == order["id"])))[0]
    # when a notice arrives while the parcel is still only created (no move yet)
    await logistics_notify.get_sender().send(
        logistics_notify.Notification("pickup_code", parcel.id, order["id"], w.buyer.id, "", "")
    )
    # then the order stays paid
    r = await client.get(f"/api/orders/{order['id']}", headers=w.h(w.buyer))
    assert r.json()["status"] == "paid"
