"""Builders for livestream tests: a studio, streamers with agreements, a staff caller, local times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import StreamerAgreement, Studio, StudioClosure
from shop.accounts.models import Role, User
from shop.auth import Caller
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
EVERY_DAY = {str(d): [["08:00", "23:00"]] for d in range(1, 8)}
# A fixed future Saturday far enough ahead that "not in the past" never bites; tests that need "now" travel.
SATURDAY = dt.date(2031, 3, 1)
assert SATURDAY.isoweekday() == 6


def at(day: dt.date, hhmm: str) -> dt.datetime:
    """A local (Asia/Shanghai) wall-clock time as an aware datetime."""
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=SH)


def caller_of(user: User) -> Caller:
    return Caller(user.id, user.username, user.role, user.display_name, frozenset())


async def studio(
    session: AsyncSession, name: str = "青田共享直播间", hours: dict[str, list[list[str]]] | None = None,
    gap: int = 15, closed: list[dt.date] | None = None,
) -> Studio:
    s = Studio(name=name, address="仁庄镇共富工坊综合服务中心", opening_hours=hours or EVERY_DAY,
               turnover_gap_minutes=gap, equipment_notes="环形灯 ×2, 声卡",
               closures=[StudioClosure(day=d, reason="检修") for d in closed or []])
    session.add(s)
    await session.flush()
    return s


async def streamer(session: AsyncSession, commission_bp: int = 800, name: str = "村播小王") -> User:
    u = await factories.user(session, Role.STREAMER)
    u.display_name = name
    session.add(StreamerAgreement(streamer_user_id=u.id, commission_bp=commission_bp, valid_from=dt.date(2020, 1, 1)))
    await session.flush()
    return u


@dataclass
class World:
    studio: Studio
    other_studio: Studio
    streamer: User
    other_streamer: User
    admin: User
    buyer: User
    catalogue: factories.Catalogue


async def world(session: AsyncSession) -> World:
    catalogue = await factories.small_catalogue(session)
    w = World(
        studio=await studio(session),
        other_studio=await studio(session, "夏严村直播间"),
        streamer=await streamer(session, 800, "村播小王"),
        other_streamer=await streamer(session, 1000, "村播阿丽"),
        admin=await factories.user(session, Role.CENTRE_ADMIN),
        buyer=await factories.user(session, Role.BUYER),
        catalogue=catalogue,
    )
    await session.commit()
    return w
