"""Dispatch batches per route departure, tracking timeline, pickup codes (unique, one-time), lockout, returns."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics import hooks, notify
from logistics.models import DispatchBatch, Shipment, ShipmentLeg, ShipmentStatus
from logistics.schemas import PickupRequest
from logistics.services import create_shipments_for_order, list_batches, order_tracking, plan_day, return_uncollected
from logistics.services import pickup as pickup_service
from logistics.services.route_sheets import build_sheet, render_html, render_pdf
from shop.accounts.models import Role
from shop.auth import Caller
from shop.errors import Conflict, Forbidden, InvalidInput
from tests import factories
from tests.logistics.helpers import Net, at, build_net, line


class Outbox:
    """The notification sender and refund hook the shop would plug in, recording what they were given."""

    def __init__(self) -> None:
        self.sent: list[notify.Notification] = []
        self.returned: list[tuple[int, int]] = []
        self.fail_hook = False

    async def send(self, notification: notify.Notification) -> None:
        self.sent.append(notification)

    async def on_parcel_returned(self, order_id: int, shipment_id: int) -> None:
        if self.fail_hook:
            raise RuntimeError("shop refund service down")
        self.returned.append((order_id, shipment_id))


@pytest.fixture
def outbox() -> Outbox:
    box = Outbox()
    notify.set_sender(box)
    hooks.set_return_hook(box)
    yield box
    notify.set_sender(None)
    hooks.set_return_hook(None)


async def admin_caller(session: AsyncSession) -> Caller:
    u = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    return Caller(u.id, u.username, u.role)


async def ship_and_deliver(session: AsyncSession, net: Net, orders: list[int]) -> list[Shipment]:
    """Orders paid Thursday 05:00, planned and carried to 夏严村 the same day."""
    admin = await admin_caller(session)
    shipments = []
    for order_id in orders:
        shipments += await create_shipments_for_order(
            session,
            order_id,
            [line(net.workshop)],
            PickupRequest(net.point.id, "王小明", "13912345678"),
            now=at("2026-11-26", "05:00"),
        )
    await plan_day(session, dt.date(2026, 11, 26), now=at("2026-11-26", "06:00"))
    for batch in await list_batches(session, dt.date(2026, 11, 26)):
        await pickup_service.arrive_batch(session, admin, batch.id, now=at("2026-11-26", "15:00"))
    for s in shipments:
        await session.refresh(s)
    return shipments


async def test_plan_day_batches_each_departure_and_chains_legs(session: AsyncSession) -> None:
    # given two parcels for 夏严村 and one for 岭头村, paid Thursday 05:00
    net = await build_net(session)
    now = at("2026-11-26", "05:00")
    for order_id, point in ((1, net.point), (2, net.point), (3, net.point2)):
        await create_shipments_for_order(
            session, order_id, [line(net.workshop, weight_g=700)], PickupRequest(point.id), now=now
        )
    # when Thursday is planned
    summary = await plan_day(session, dt.date(2026, 11, 26), now=at("2026-11-26", "06:00"))
    batches = await list_batches(session, dt.date(2026, 11, 26))
    # then the trunk (08:00) carries all three, each van (14:00) its own village's parcels
    assert (summary.legs_planned, summary.batches) == (6, 3)
    assert [(b.origin, b.destination, b.departs_at, b.arrives_at, b.parcel_count, b.weight_g) for b in batches] == [
        ("青田县物流中心", "仁庄镇服务站", at("2026-11-26", "08:00"), at("2026-11-26", "10:00"), 3, 2100),
        ("仁庄镇服务站", "夏严村服务点", at("2026-11-26", "14:00"), at("2026-11-26", "15:00"), 2, 1400),
        ("仁庄镇服务站", "岭头村服务点", at("2026-11-26", "14:00"), at("2026-11-26", "15:00"), 1, 700),
    ]
    # the parcels turn in_transit when the trunk batch is confirmed at the station
    assert set(await session.scalars(select(Shipment.status))) == {ShipmentStatus.CREATED}
    admin = await admin_caller(session)
    arrival = await pickup_service.arrive_batch(session, admin, batches[0].id, now=at("2026-11-26", "10:05"))
    assert (arrival.arrived, arrival.awaiting_pickup) == (3, 0)
    assert set(await session.scalars(select(Shipment.status))) == {ShipmentStatus.IN_TRANSIT}
    # and planning again adds nothing
    again = await plan_day(session, dt.date(2026, 11, 26))
    assert (again.legs_planned, again.batches) == (0, 0)


async def test_saturday_plans_the_trunk_but_no_van(session: AsyncSession) -> None:
    # given a parcel paid Friday 09:00 (at the hub 11:00, after Friday's 08:00 trunk)
    net = await build_net(session)
    await create_shipments_for_order(
        session, 1, [line(net.workshop)], PickupRequest(net.point.id), now=at("2026-11-27", "09:00")
    )
    # when Friday, Saturday, Sunday and Monday are planned
    friday = await plan_day(session, dt.date(2026, 11, 27))
    saturday = await plan_day(session, dt.date(2026, 11, 28))
    sunday = await plan_day(session, dt.date(2026, 11, 29))
    monday = await plan_day(session, dt.date(2026, 11, 30))
    # then
    assert [r.legs_planned for r in (friday, saturday, sunday, monday)] == [0, 1, 0, 1]
    legs = list(await session.scalars(select(ShipmentLeg).order_by(ShipmentLeg.seq)))
    assert [(leg.departs_min, leg.arrives_min) for leg in legs] == [
        (int(at("2026-11-28", "08:00").timestamp()) // 60, int(at("2026-11-28", "10:00").timestamp()) // 60),
        (int(at("2026-11-30", "14:00").timestamp()) // 60, int(at("2026-11-30", "15:00").timestamp()) // 60),
    ]


async def test_arrival_issues_unique_codes_and_sends_them(
    session: AsyncSession, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the random source repeats itself: 123456 twice, then 654321
    draws = iter([123456, 123456, 654321])
    monkeypatch.setattr(pickup_service.secrets, "randbelow", lambda _: next(draws))
    net = await build_net(session)
    # when two parcels arrive at 夏严村
    first, second = await ship_and_deliver(session, net, [1, 2])
    # then each has its own code, and the buyer was sent it
    assert (first.pickup_code, second.pickup_code) == ("123456", "654321")
    assert {s.status for s in (first, second)} == {ShipmentStatus.AWAITING_PICKUP}
    assert [(n.kind, n.shipment_id) for n in outbox.sent] == [("pickup_code", first.id), ("pickup_code", second.id)]
    assert "取件码 123456" in outbox.sent[0].text
    # and the buyer's timeline tells the whole journey
    buyer_user = await factories.user(session, Role.BUYER)
    buyer = Caller(buyer_user.id, buyer_user.username, Role.BUYER)
    first.buyer_user_id = buyer_user.id
    await session.commit()
    tracking = await order_tracking(session, buyer, 1)
    assert tracking.shipments[0].pickup_code == "123456"
    assert [e.kind for e in tracking.shipments[0].timeline] == [
        "created",
        "dispatched",
        "dispatched",
        "arrived",
        "awaiting_pickup",
    ]
    assert tracking.shipments[0].timeline[1].text == (
        "青田县物流中心 → 仁庄镇服务站：11月26日 08:00 发车，预计 11月26日 10:00 到达"
    )
    with pytest.raises(Exception, match="no parcels you can see"):
        await order_tracking(session, Caller(buyer_user.id + 1, "other", Role.BUYER), 1)


async def test_code_works_once(session: AsyncSession, outbox: Outbox) -> None:
    net = await build_net(session)
    (parcel,) = await ship_and_deliver(session, net, [1])
    admin = await admin_caller(session)
    code = parcel.pickup_code
    assert code is not None
    result = await pickup_service.verify_code(session, admin, net.point.id, parcel.id, code)
    assert result.status is ShipmentStatus.COLLECTED
    with pytest.raises(Conflict, match="not waiting for pickup"):
        await pickup_service.verify_code(session, admin, net.point.id, parcel.id, code)
    await session.refresh(parcel)
    assert (parcel.status, parcel.pickup_code) == (ShipmentStatus.COLLECTED, None)


async def test_five_wrong_codes_lock_until_staff_unlock(session: AsyncSession, outbox: Outbox) -> None:
    net = await build_net(session)
    (parcel,) = await ship_and_deliver(session, net, [1])
    admin = await admin_caller(session)
    code = parcel.pickup_code
    wrong = "000000" if code != "000000" else "111111"
    left = []
    for _ in range(5):
        with pytest.raises(InvalidInput) as exc:
            await pickup_service.verify_code(session, admin, net.point.id, parcel.id, wrong)
        left.append(exc.value.extra["attempts_left"])
    assert left == [4, 3, 2, 1, 0]
    # the right code no longer works
    with pytest.raises(Conflict, match="locked"):
        await pickup_service.verify_code(session, admin, net.point.id, parcel.id, code)
    await session.refresh(parcel)
    assert (parcel.locked, parcel.wrong_code_attempts, parcel.status) == (True, 5, ShipmentStatus.AWAITING_PICKUP)
    # staff unlock; the code works again
    await pickup_service.unlock(session, admin, net.point.id, parcel.id)
    result = await pickup_service.verify_code(session, admin, net.point.id, parcel.id, code)
    assert result.status is ShipmentStatus.COLLECTED


async def test_only_the_points_staff_verify(session: AsyncSession, outbox: Outbox) -> None:
    net = await build_net(session)
    (parcel,) = await ship_and_deliver(session, net, [1])
    admin = await admin_caller(session)
    clerk = await factories.user(session, Role.MEMBER)
    await session.commit()
    stranger = Caller(clerk.id, clerk.username, clerk.role)
    with pytest.raises(Forbidden):
        await pickup_service.verify_code(session, stranger, net.point.id, parcel.id, parcel.pickup_code or "")
    from logistics.services import NetworkService

    await NetworkService(session).add_staff(admin, net.point.id, clerk.id)
    with pytest.raises(InvalidInput):  # staff now, but at another point the parcel is unknown
        await pickup_service.verify_code(session, stranger, net.point.id, parcel.id, "999999x")
    result = await pickup_service.verify_code(session, stranger, net.point.id, parcel.id, parcel.pickup_code or "")
    assert result.status is ShipmentStatus.COLLECTED


async def test_uncollected_parcel_returns_after_seven_days_and_the_refund_hook_runs(
    session: AsyncSession, outbox: Outbox
) -> None:
    # given a parcel that arrived Thursday 15:00
    net = await build_net(session)
    (parcel,) = await ship_and_deliver(session, net, [41])
    admin = await admin_caller(session)
    # when the job runs a minute before seven days have passed
    with time_machine.travel(at("2026-12-03", "14:59"), tick=False):
        early = await return_uncollected(session)
    # then nothing happens
    assert (early.returned, early.refunds_notified) == (0, 0)
    # when it runs at seven days, with the shop's refund service down
    outbox.fail_hook = True
    with time_machine.travel(at("2026-12-03", "15:00"), tick=False):
        due = await return_uncollected(session)
    await session.refresh(parcel)
    assert (due.returned, due.refunds_notified) == (1, 0)
    assert (parcel.status, parcel.pickup_code, parcel.return_notified_at) == (ShipmentStatus.RETURNED, None, None)
    # then the next run retries the hook, once
    outbox.fail_hook = False
    with time_machine.travel(at("2026-12-03", "16:00"), tick=False):
        retry = await return_uncollected(session)
        again = await return_uncollected(session)
    assert (retry.returned, retry.refunds_notified, again.refunds_notified) == (0, 1, 0)
    assert outbox.returned == [(41, parcel.id)]
    with pytest.raises(Conflict):
        await pickup_service.verify_code(session, admin, net.point.id, parcel.id, "123456")


async def test_route_sheet_html_and_pdf(session: AsyncSession, tmp_path) -> None:  # type: ignore[no-untyped-def]
    net = await build_net(session)
    await create_shipments_for_order(
        session, 1, [line(net.workshop)], PickupRequest(net.point.id, "王小明"), now=at("2026-11-26", "05:00")
    )
    await plan_day(session, dt.date(2026, 11, 26))
    batch_id = await session.scalar(select(DispatchBatch.id).order_by(DispatchBatch.id.desc()))
    sheet = await build_sheet(session, batch_id)
    html = render_html(sheet)
    assert "仁庄镇服务站" in html and "夏严村服务点" in html and "王**" in html and "王小明" not in html
    assert "2026-11-26 周四 14:00" in html
    pdf = render_pdf(sheet)
    assert pdf.startswith(b"%PDF") and b"NotoSansCJK" in pdf
