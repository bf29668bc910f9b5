"""The livestream demo data: studios, agreements and sessions around today, loaded idempotently."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.seed.demo import load_demo as load_catalogue_demo
from livestream.demo import CENTRE_STUDIO, SESSIONS, VILLAGE_STUDIO, load_demo
from livestream.models import LiveSession, SessionStatus, StreamerAgreement, Studio
from livestream.services.common import local
from shop.accounts.models import User

TODAY = dt.date(2031, 3, 5)


async def counts(session: AsyncSession) -> tuple[int, int, int]:
    studios = int(await session.scalar(select(func.count()).select_from(Studio)) or 0)
    agreements = int(await session.scalar(select(func.count()).select_from(StreamerAgreement)) or 0)
    sessions = int(await session.scalar(select(func.count()).select_from(LiveSession)) or 0)
    return studios, agreements, sessions


async def test_the_demo_has_studios_agreements_and_sessions_around_today(session: AsyncSession) -> None:
    # Given the catalogue demo (its streamers and products)
    await load_catalogue_demo(session, today=TODAY)
    # When the livestream demo is loaded
    summary = await load_demo(session, today=TODAY)
    # Then both studios, three agreements and every demo session are there
    assert summary == "2 studios, 3 agreements added, 8 sessions added, 0 skipped (slot taken)"
    assert await counts(session) == (2, 3, len(SESSIONS))
    names = set(await session.scalars(select(Studio.name)))
    assert names == {CENTRE_STUDIO, VILLAGE_STUDIO}
    village = await session.scalar(select(Studio).where(Studio.name == VILLAGE_STUDIO))
    assert village is not None and village.village_id is not None
    # And the sessions before today have ended (with viewer figures), those after it are booked, with line-ups
    xiaoli = await session.scalar(select(User.id).where(User.username == "streamer_xiaoli"))
    rows = list(await session.scalars(select(LiveSession).order_by(LiveSession.starts_at)))
    for row in rows:
        day = local(row.starts_at).date()
        assert row.status is (SessionStatus.ENDED if day < TODAY else SessionStatus.SCHEDULED)
        spec = next(s for s in SESSIONS if s.title == row.title)
        assert len(row.lineup) == len(spec.skus), row.title
        if row.status is SessionStatus.ENDED:
            assert row.peak_viewers > 0 and row.ended_at is not None
    upcoming_mine = [r for r in rows if r.streamer_user_id == xiaoli and local(r.starts_at).date() > TODAY]
    assert len(upcoming_mine) == 3
    assert {r.commission_bp for r in rows if r.streamer_user_id == xiaoli} == {800}


async def test_loading_the_demo_again_adds_nothing_and_a_later_day_adds_new_dates(session: AsyncSession) -> None:
    await load_catalogue_demo(session, today=TODAY)
    await load_demo(session, today=TODAY)
    # When loaded again the same day, nothing is added
    assert (
        await load_demo(session, today=TODAY)
        == "2 studios, 0 agreements added, 0 sessions added, 0 skipped (slot taken)"
    )
    assert await counts(session) == (2, 3, len(SESSIONS))
    # When loaded a week later, the sessions of the new dates are added and the old ones kept
    await load_demo(session, today=TODAY + dt.timedelta(days=7))
    studios, agreements, sessions = await counts(session)
    assert (studios, agreements) == (2, 3)
    assert sessions > len(SESSIONS)


async def test_the_demo_without_its_streamers_loads_nothing(session: AsyncSession) -> None:
    assert (
        await load_demo(session, today=TODAY)
        == "skipped: the demo streamers are missing (load the catalogue demo first)"
    )
    assert await counts(session) == (0, 0, 0)
