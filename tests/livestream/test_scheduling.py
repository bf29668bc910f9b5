"""Booking rules: studio gap, streamer overlap, opening hours, closed days, length, past; the race on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, SessionStatus
from livestream.schemas import SessionCreate, SessionUpdate
from livestream.services.scheduling import SchedulingService
from shop.errors import Conflict, DomainError, Forbidden, InvalidInput
from tests.livestream.helpers import SATURDAY, World, at, caller_of, studio, world


def booking(w: World, start: str, end: str, day: dt.date = SATURDAY, studio_id: int | None = None,
            streamer_id: int | None = None, title: str = "红糖专场") -> SessionCreate:
    return SessionCreate(studio_id=studio_id or w.studio.id, title=title, starts_at=at(day, start),
                         ends_at=at(day, end), streamer_user_id=streamer_id or w.streamer.id,
                         product_ids=[w.catalogue.product.product.id])


async def book(session: AsyncSession, w: World, start: str, end: str, **kw: object) -> LiveSession:
    return await SchedulingService(session).book(caller_of(w.admin), booking(w, start, end, **kw))  # type: ignore[arg-type]


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(LiveSession)) or 0)


async def test_booking_stores_utc_times_gap_end_and_the_agreed_commission(session: AsyncSession) -> None:
    # given
    w = await world(session)
    # when
    live = await book(session, w, "20:00", "22:00")
    # then
    assert live.starts_at == dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert live.ends_at == dt.datetime(2031, 3, 1, 14, 0, tzinfo=dt.UTC)
    assert live.block_until == dt.datetime(2031, 3, 1, 14, 15, tzinfo=dt.UTC)
    assert live.status is SessionStatus.SCHEDULED
    assert live.commission_bp == 800
    assert live.attribution_window_minutes == 1440
    assert len(live.share_code) == 8
    assert [i.product_id for i in live.lineup] == [w.catalogue.product.product.id]


async def test_a_booking_starting_exactly_when_the_gap_ends_is_allowed_one_minute_earlier_is_refused(
    session: AsyncSession,
) -> None:
    # given a session 10:00–11:00 and a 15-minute turnover gap
    w = await world(session)
    first = await book(session, w, "10:00", "11:00")
    # when / then: 11:14 starts inside the gap
    with pytest.raises(Conflict) as refused:
        await book(session, w, "11:14", "12:00", streamer_id=w.other_streamer.id)
    assert refused.value.extra == {"conflict": {"kind": "studio", "session_id": first.id}}
    assert f"session {first.id} «红糖专场» 2031-03-01 10:00–11:00" in refused.value.detail
    assert await count(session) == 1
    # and 11:15 is fine
    second = await book(session, w, "11:15", "12:00", streamer_id=w.other_streamer.id)
    assert second.starts_at == at(SATURDAY, "11:15").astimezone(dt.UTC)


async def test_a_booking_ending_exactly_when_the_gap_before_the_next_ends_is_allowed_one_minute_later_refused(
    session: AsyncSession,
) -> None:
    # given a session at 10:00; a new one must end 15 minutes before it
    w = await world(session)
    later = await book(session, w, "10:00", "11:00")
    with pytest.raises(Conflict) as refused:
        await book(session, w, "09:00", "09:46", streamer_id=w.other_streamer.id)
    assert refused.value.extra["conflict"]["session_id"] == later.id
    assert await count(session) == 1
    # when the new one ends at 09:45, exactly when the gap before 10:00 ends
    ok = await book(session, w, "09:00", "09:45", streamer_id=w.other_streamer.id)
    # then
    assert ok.block_until == at(SATURDAY, "10:00").astimezone(dt.UTC)


async def test_a_streamer_never_hosts_two_overlapping_sessions_even_in_two_studios(session: AsyncSession) -> None:
    w = await world(session)
    first = await book(session, w, "10:00", "11:00")
    with pytest.raises(Conflict) as refused:
        await book(session, w, "10:59", "11:30", studio_id=w.other_studio.id)
    assert refused.value.extra == {"conflict": {"kind": "streamer", "session_id": first.id}}
    assert "The streamer already hosts session" in refused.value.detail
    assert await count(session) == 1
    # back to back in another studio is fine (no turnover gap for the streamer)
    await book(session, w, "11:00", "11:30", studio_id=w.other_studio.id)
    assert await count(session) == 2


@pytest.mark.parametrize(("start", "end", "allowed"), [
    ("08:00", "09:00", True), ("07:59", "09:00", False), ("22:00", "23:00", True), ("22:00", "23:01", False),
])
async def test_sessions_only_inside_opening_hours(session: AsyncSession, start: str, end: str, allowed: bool) -> None:
    w = await world(session)  # open 08:00–23:00 every day
    if allowed:
        await book(session, w, start, end)
        assert await count(session) == 1
        return
    with pytest.raises(InvalidInput) as refused:
        await book(session, w, start, end)
    assert "outside the opening hours" in refused.value.detail and "(08:00–23:00)" in refused.value.detail
    assert await count(session) == 0


async def test_closed_weekday_and_closed_date_are_refused(session: AsyncSession) -> None:
    w = await world(session)
    weekdays = await studio(session, "周末直播间", hours={"6": [["19:00", "22:00"]]}, closed=[SATURDAY])
    await session.commit()
    with pytest.raises(InvalidInput) as closed_day:
        await book(session, w, "20:00", "21:00", studio_id=weekdays.id)
    assert closed_day.value.detail == "Studio «周末直播间» is closed on 2031-03-01."
    with pytest.raises(InvalidInput) as sunday:
        await book(session, w, "20:00", "21:00", studio_id=weekdays.id, day=SATURDAY + dt.timedelta(days=1))
    assert "(closed)" in sunday.value.detail
    await book(session, w, "20:00", "21:00", studio_id=weekdays.id, day=SATURDAY + dt.timedelta(days=7))
    assert await count(session) == 1


@pytest.mark.parametrize(("end", "allowed"), [("10:14", False), ("10:15", True), ("16:00", True), ("16:01", False)])
async def test_length_is_15_minutes_to_6_hours(session: AsyncSession, end: str, allowed: bool) -> None:
    w = await world(session)
    if allowed:
        await book(session, w, "10:00", end)
        assert await count(session) == 1
    else:
        with pytest.raises(InvalidInput, match="A session lasts 15 minutes to 6 hours"):
            await book(session, w, "10:00", end)
        assert await count(session) == 0


async def test_no_booking_in_the_past(session: AsyncSession) -> None:
    w = await world(session)
    with pytest.raises(InvalidInput, match="is in the past"):
        await book(session, w, "10:00", "11:00", day=dt.date(2020, 3, 7))
    assert await count(session) == 0


async def test_a_cancelled_session_frees_its_slot(session: AsyncSession) -> None:
    w = await world(session)
    first = await book(session, w, "10:00", "11:00")
    await SchedulingService(session).cancel(caller_of(w.streamer), first.id, "生病")
    second = await book(session, w, "10:00", "11:00", streamer_id=w.other_streamer.id)
    assert second.id != first.id
    with pytest.raises(Conflict, match="only a scheduled session is cancelled"):
        await SchedulingService(session).cancel(caller_of(w.streamer), first.id, "again")


async def test_moving_a_session_obeys_the_rules_and_ignores_itself(session: AsyncSession) -> None:
    w = await world(session)
    moving = await book(session, w, "10:00", "11:00")
    blocker = await book(session, w, "13:00", "14:00", streamer_id=w.other_streamer.id)
    service = SchedulingService(session)
    # overlapping its own old slot is fine
    moved = await service.update(caller_of(w.streamer), moving.id,
                                 SessionUpdate(starts_at=at(SATURDAY, "10:30"), ends_at=at(SATURDAY, "11:30")))
    assert moved.block_until == at(SATURDAY, "11:45").astimezone(dt.UTC)
    with pytest.raises(Conflict) as refused:
        await service.update(caller_of(w.streamer), moving.id,
                             SessionUpdate(starts_at=at(SATURDAY, "12:00"), ends_at=at(SATURDAY, "12:46")))
    assert refused.value.extra["conflict"]["session_id"] == blocker.id
    await session.refresh(moving)
    assert moving.starts_at == at(SATURDAY, "10:30").astimezone(dt.UTC)


async def test_who_may_book(session: AsyncSession) -> None:
    w = await world(session)
    service = SchedulingService(session)
    with pytest.raises(Forbidden):  # a streamer books for themself only
        await service.book(caller_of(w.streamer), booking(w, "10:00", "11:00", streamer_id=w.other_streamer.id))
    with pytest.raises(Forbidden):
        await service.book(caller_of(w.buyer), booking(w, "10:00", "11:00"))
    with pytest.raises(InvalidInput, match="is not an active streamer"):
        await service.book(caller_of(w.admin), booking(w, "10:00", "11:00", streamer_id=w.buyer.id))
    own = booking(w, "10:00", "11:00")
    own.streamer_user_id = None
    live = await service.book(caller_of(w.streamer), own)
    assert live.streamer_user_id == w.streamer.id
    assert await count(session) == 1


async def test_two_bookings_of_the_same_slot_at_the_same_instant_exactly_one_wins(app: Litestar) -> None:
    # given two streamers who both want the studio on Saturday 20:00–22:00
    factory = app.state.session_factory
    async with factory() as setup:
        w = await world(setup)

    async def attempt(streamer_id: int) -> LiveSession | DomainError:
        async with factory() as own:
            try:
                return await SchedulingService(own).book(caller_of(w.admin),
                                                         booking(w, "20:00", "22:00", streamer_id=streamer_id))
            except DomainError as exc:
                return exc

    # when they book concurrently (and the same streamer races itself into the other studio)
    results = await asyncio.gather(attempt(w.streamer.id), attempt(w.other_streamer.id))
    # then exactly one wins and the other is told which session holds the slot
    winners = [r for r in results if isinstance(r, LiveSession)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].extra == {"conflict": {"kind": "studio", "session_id": winners[0].id}}
    async with factory() as check:
        assert await count(check) == 1


async def test_one_streamer_booking_two_studios_at_the_same_instant_gets_one(app: Litestar) -> None:
    factory = app.state.session_factory
    async with factory() as setup:
        w = await world(setup)

    async def attempt(studio_id: int) -> LiveSession | DomainError:
        async with factory() as own:
            try:
                return await SchedulingService(own).book(caller_of(w.admin),
                                                         booking(w, "20:00", "22:00", studio_id=studio_id))
            except DomainError as exc:
                return exc

    results = await asyncio.gather(*(attempt(s) for s in (w.studio.id, w.other_studio.id) for _ in range(3)))
    winners = [r for r in results if isinstance(r, LiveSession)]
    assert len(winners) == 1
    assert all(isinstance(r, Conflict) for r in results if r not in winners)
    async with factory() as check:
        assert await count(check) == 1
