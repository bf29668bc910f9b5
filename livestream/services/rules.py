"""The booking rules, in one place (排期规则). Every path that creates or moves a session goes through here.

Concurrency: `lock` takes row locks on the studio rows (by id) and then the streamer's row, always in that order,
before the conflict check reads other sessions; on PostgreSQL a second booking of the same studio or streamer waits
for the first to commit and then sees its row (READ COMMITTED re-reads after the lock). On SQLite the transaction
already holds the database write lock from BEGIN IMMEDIATE. So two bookings of one slot at one instant: exactly
one wins, the other gets a 409 naming the winner.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, SessionStatus, Studio
from livestream.services.common import SHANGHAI, local
from shop.accounts.models import User
from shop.errors import Conflict, InvalidInput

MIN_LENGTH = dt.timedelta(minutes=15)
MAX_LENGTH = dt.timedelta(hours=6)
ACTIVE_STATUSES = (SessionStatus.SCHEDULED, SessionStatus.LIVE)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def opening_intervals(studio: Studio, day: dt.date) -> list[tuple[int, int]]:
    """The studio's opening intervals on a local day, as minutes from local midnight; [] when closed."""
    if any(c.day == day for c in studio.closures):
        return []
    raw = studio.opening_hours.get(str(day.isoweekday()), [])
    return sorted((_minutes(a), _minutes(b)) for a, b in raw)


def validate_opening_hours(hours: Mapping[Any, list[list[str]]]) -> dict[str, list[list[str]]]:
    """Intervals must open before they close and not overlap within a day."""
    for weekday, intervals in hours.items():
        spans = sorted((_minutes(a), _minutes(b)) for a, b in intervals)
        for start, end in spans:
            if end <= start:
                raise InvalidInput(f"Weekday {weekday}: an interval must open before it closes.", field="opening_hours")
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise InvalidInput(f"Weekday {weekday}: opening intervals overlap.", field="opening_hours")
    return {str(k): [list(i) for i in v] for k, v in sorted(hours.items())}


def _hm(value: dt.datetime) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M")


class BookingRules:
    def __init__(self, session: AsyncSession, now: dt.datetime) -> None:
        self.session = session
        self.now = now

    async def lock(self, studio_ids: Iterable[int], streamer_user_id: int) -> dict[int, Studio]:
        """Lock the studios (ascending id) then the streamer; return the studios, freshly read."""
        ids = sorted(set(studio_ids))
        studios = {
            s.id: s
            for s in await self.session.scalars(
                select(Studio)
                .where(Studio.id.in_(ids))
                .order_by(Studio.id)
                .with_for_update(key_share=True)
                .execution_options(populate_existing=True)
            )
        }
        missing = [i for i in ids if i not in studios]
        if missing:
            raise InvalidInput(f"Studio {missing[0]} not found.", field="studio_id")
        await self.session.execute(select(User.id).where(User.id == streamer_user_id).with_for_update(key_share=True))
        return studios

    def check_shape(self, studio: Studio, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
        """422s: active studio, not in the past, 15 min–6 h, inside one opening interval of the local day."""
        if not studio.is_active:
            raise InvalidInput(f"Studio «{studio.name}» is not taking bookings.", field="studio_id")
        if ends_at <= starts_at:
            raise InvalidInput("A session must end after it starts.", field="ends_at")
        if starts_at < self.now:
            raise InvalidInput(f"{_hm(starts_at)} is in the past; sessions are booked ahead.", field="starts_at")
        length = ends_at - starts_at
        if length < MIN_LENGTH or length > MAX_LENGTH:
            minutes = int(length.total_seconds() // 60)
            raise InvalidInput(f"A session lasts 15 minutes to 6 hours, not {minutes} minutes.", field="ends_at")
        start_local = local(starts_at)
        day = start_local.date()
        if any(c.day == day for c in studio.closures):
            raise InvalidInput(f"Studio «{studio.name}» is closed on {day.isoformat()}.", field="starts_at")
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI)
        start_min = int((start_local - midnight).total_seconds() // 60)
        end_min = int((local(ends_at) - midnight).total_seconds() // 60)
        if not any(open_ <= start_min and end_min <= close for open_, close in opening_intervals(studio, day)):
            hours = ", ".join(f"{a}–{b}" for a, b in studio.opening_hours.get(str(day.isoweekday()), [])) or "closed"
            raise InvalidInput(
                f"{_hm(starts_at)}–{local(ends_at).strftime('%H:%M')} is outside the opening hours of studio "
                f"«{studio.name}» on {day.isoformat()} ({hours}).",
                field="starts_at",
            )

    async def check_conflicts(
        self,
        studio: Studio,
        streamer_user_id: int,
        starts_at: dt.datetime,
        ends_at: dt.datetime,
        exclude_ids: Iterable[int] = (),
    ) -> None:
        """409s: the studio (with its turnover gap after every session) and the streamer are free."""
        gap = dt.timedelta(minutes=studio.turnover_gap_minutes)
        excluded = list(exclude_ids)
        studio_clash = await self.session.scalar(
            select(LiveSession)
            .where(
                LiveSession.studio_id == studio.id,
                LiveSession.status.in_(ACTIVE_STATUSES),
                LiveSession.starts_at < ends_at + gap,
                LiveSession.block_until > starts_at,
                LiveSession.id.not_in(excluded),
            )
            .order_by(LiveSession.starts_at)
            .limit(1)
        )
        if studio_clash is not None:
            raise Conflict(
                f"Studio «{studio.name}» is booked by session {studio_clash.id} «{studio_clash.title}» "
                f"{_hm(studio_clash.starts_at)}–{local(studio_clash.ends_at).strftime('%H:%M')} "
                f"(with a {studio.turnover_gap_minutes}-minute turnover gap between sessions).",
                field="starts_at",
                extra={"conflict": {"kind": "studio", "session_id": studio_clash.id}},
            )
        streamer_clash = await self.session.scalar(
            select(LiveSession)
            .where(
                LiveSession.streamer_user_id == streamer_user_id,
                LiveSession.status.in_(ACTIVE_STATUSES),
                LiveSession.starts_at < ends_at,
                LiveSession.ends_at > starts_at,
                LiveSession.id.not_in(excluded),
            )
            .order_by(LiveSession.starts_at)
            .limit(1)
        )
        if streamer_clash is not None:
            raise Conflict(
                f"The streamer already hosts session {streamer_clash.id} «{streamer_clash.title}» "
                f"{_hm(streamer_clash.starts_at)}–{local(streamer_clash.ends_at).strftime('%H:%M')}.",
                field="starts_at",
                extra={"conflict": {"kind": "streamer", "session_id": streamer_clash.id}},
            )

    async def check(
        self,
        studio: Studio,
        streamer_user_id: int,
        starts_at: dt.datetime,
        ends_at: dt.datetime,
        exclude_ids: Iterable[int] = (),
    ) -> dt.datetime:
        """Run every rule; return the `block_until` to store (end plus the studio's gap)."""
        self.check_shape(studio, starts_at, ends_at)
        await self.check_conflicts(studio, streamer_user_id, starts_at, ends_at, exclude_ids)
        return ends_at + dt.timedelta(minutes=studio.turnover_gap_minutes)
