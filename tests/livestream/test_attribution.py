"""Attribution: a share code attributes while live and for the window after the end; last touch; refunds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession
from livestream.schemas import SessionCreate
from livestream.services.attribution import Attribution, resolve
from livestream.services.broadcast import BroadcastService
from livestream.services.figures import LiveFigures
from livestream.services.livestore import MemoryLiveStore
from livestream.services.scheduling import SchedulingService
from tests.livestream.helpers import SATURDAY, World, at, caller_of, world


async def live_session(session: AsyncSession, w: World, figures: LiveFigures, start: str, end: str,
                       streamer_id: int, studio_id: int, ended_at: str | None = None) -> LiveSession:
    data = SessionCreate(studio_id=studio_id, title=f"专场{start}", starts_at=at(SATURDAY, start),
                         ends_at=at(SATURDAY, end), streamer_user_id=streamer_id)
    live = await SchedulingService(session).book(caller_of(w.admin), data)
    await BroadcastService(session, figures, now=at(SATURDAY, start)).start(caller_of(w.admin), live.id)
    if ended_at:
        await BroadcastService(session, figures, now=at(SATURDAY, ended_at)).end(caller_of(w.admin), live.id)
    return live


async def test_inside_the_window_and_after_it(session: AsyncSession) -> None:
    # given a session live 20:00 and ended at 22:00 with the default 24-hour window
    w = await world(session)
    figures = LiveFigures(MemoryLiveStore())
    live = await live_session(session, w, figures, "20:00", "22:00", w.streamer.id, w.studio.id, ended_at="22:00")
    expected = Attribution(live.id, w.streamer.id, 800)
    # then: while live, at the end, and exactly 24 hours later it attributes; a second later it does not
    assert await resolve(session, live.share_code, at(SATURDAY, "20:30")) == expected
    assert await resolve(session, live.share_code.lower(), at(SATURDAY, "22:00")) == expected
    next_day = SATURDAY + dt.timedelta(days=1)
    assert await resolve(session, live.share_code, at(next_day, "22:00")) == expected
    assert await resolve(session, live.share_code, at(next_day, "22:00") + dt.timedelta(seconds=1)) is None
    # before it went live, for unknown or empty codes: nothing (never an error)
    assert await resolve(session, live.share_code, at(SATURDAY, "19:59")) is None
    assert await resolve(session, "NOPE2345", at(SATURDAY, "20:30")) is None
    assert await resolve(session, None, at(SATURDAY, "20:30")) is None
    assert await resolve(session, "x" * 200, at(SATURDAY, "20:30")) is None


async def test_a_scheduled_or_cancelled_session_attributes_nothing(session: AsyncSession) -> None:
    w = await world(session)
    data = SessionCreate(studio_id=w.studio.id, title="未开播", starts_at=at(SATURDAY, "10:00"),
                         ends_at=at(SATURDAY, "11:00"), streamer_user_id=w.streamer.id)
    live = await SchedulingService(session).book(caller_of(w.admin), data)
    assert await resolve(session, live.share_code, at(SATURDAY, "10:30")) is None
    await SchedulingService(session).cancel(caller_of(w.admin), live.id, "")
    assert await resolve(session, live.share_code, at(SATURDAY, "10:30")) is None


async def test_a_per_session_window_is_honoured(session: AsyncSession) -> None:
    w = await world(session)
    figures = LiveFigures(MemoryLiveStore())
    live = await live_session(session, w, figures, "20:00", "22:00", w.streamer.id, w.studio.id, ended_at="21:00")
    live.attribution_window_minutes = 30
    await session.commit()
    assert await resolve(session, live.share_code, at(SATURDAY, "21:30")) is not None
    assert await resolve(session, live.share_code, at(SATURDAY, "21:31")) is None


async def test_two_sessions_last_touch_wins_and_a_refund_removes_the_sale(session: AsyncSession) -> None:
    # given two streamers live at the same time in two studios
    w = await world(session)
    figures = LiveFigures(MemoryLiveStore())
    first = await live_session(session, w, figures, "20:00", "22:00", w.streamer.id, w.studio.id)
    second = await live_session(session, w, figures, "20:00", "22:00", w.other_streamer.id, w.other_studio.id)
    # when a buyer adds a line through the first link, then opens the second link (the cart keeps the latest)
    line_session = await resolve(session, first.share_code, at(SATURDAY, "20:10"))
    assert line_session == Attribution(first.id, w.streamer.id, 800)
    line_session = await resolve(session, second.share_code, at(SATURDAY, "20:20")) or line_session
    assert line_session == Attribution(second.id, w.other_streamer.id, 1000)
    # and pays 38.00 for the line
    paid = at(SATURDAY, "20:25")
    assert await figures.on_order_paid(501, [(line_session.live_session_id, line_session.streamer_user_id, 3800)],
                                       paid)
    # then only the second session and streamer carry the sale
    figs = await figures.figures([first.id, second.id])
    assert (figs[first.id].orders, figs[first.id].gmv_fen) == (0, 0)
    assert (figs[second.id].orders, figs[second.id].gmv_fen) == (1, 3800)
    top = await figures.store.top("lb:203103:streamer:gmv", 10, "streamer")
    assert top == [(w.other_streamer.id, 3800, "村播阿丽")]
    # when the order is refunded in full, the sale and the order leave the figures
    assert await figures.on_order_refunded(501, 1, [(second.id, w.other_streamer.id, 3800)], paid)
    figs = await figures.figures([second.id])
    assert (figs[second.id].orders, figs[second.id].gmv_fen) == (0, 0)
    top = await figures.store.top("lb:203103:streamer:orders", 10, "streamer")
    assert top == [(w.other_streamer.id, 0, "村播阿丽")]
