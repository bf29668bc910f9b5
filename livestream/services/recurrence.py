"""Weekly recurring slots (每周固定档期): a series books every occurrence as its own session, all or nothing.

Each occurrence is a normal session, so one can be cancelled or moved on its own through the session endpoints,
with the same rules. The whole series is checked under the same locks as a single booking.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import (
    DEFAULT_ATTRIBUTION_WINDOW_MINUTES,
    LineupItem,
    LiveSession,
    SessionSeries,
    SessionStatus,
)
from livestream.schemas import SeriesCreate
from livestream.services.common import SHANGHAI, ensure_streamer_or_centre, get_streamer, to_utc
from livestream.services.presenters import validate_lineup
from livestream.services.rules import BookingRules
from livestream.services.scheduling import add_with_unique_code, agreed_commission, booking_streamer, staff_only
from shop import audit
from shop.auth import Caller
from shop.db import utcnow
from shop.errors import Conflict, InvalidInput, NotFound


def occurrences(first_day: dt.date, start: str, end: str, weeks: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """(start, end) in UTC of each weekly occurrence; an end of "24:00" or before the start is the next day."""
    sh, sm = (int(x) for x in start.split(":"))
    eh, em = (int(x) for x in end.split(":"))
    result = []
    for week in range(weeks):
        day = first_day + dt.timedelta(weeks=week)
        starts = dt.datetime.combine(day, dt.time(sh, sm), tzinfo=SHANGHAI)
        ends = dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI) + dt.timedelta(hours=eh, minutes=em)
        if ends <= starts:
            ends += dt.timedelta(days=1)
        result.append((to_utc(starts), to_utc(ends)))
    return result


class SeriesService:
    def __init__(self, session: AsyncSession, now: dt.datetime | None = None) -> None:
        self.session = session
        self.now = now or utcnow()
        self.rules = BookingRules(session, self.now)

    async def create(self, caller: Caller, data: SeriesCreate) -> tuple[SessionSeries, list[LiveSession]]:
        """Book every occurrence or none: 422/409 name the occurrence's date and the conflicting session."""
        streamer_id = booking_streamer(caller, data.streamer_user_id)
        staff_only(caller, commission_bp=data.commission_bp)
        await get_streamer(self.session, streamer_id)
        product_ids = await validate_lineup(self.session, data.product_ids)
        slots = occurrences(data.first_day, data.start_time, data.end_time, data.weeks)
        commission = data.commission_bp
        if commission is None:
            commission = await agreed_commission(self.session, streamer_id, data.first_day)
        studio = (await self.rules.lock([data.studio_id], streamer_id))[data.studio_id]
        series = SessionSeries(
            studio_id=studio.id,
            streamer_user_id=streamer_id,
            title=data.title,
            first_day=data.first_day,
            local_start=dt.time(int(data.start_time[:2]), int(data.start_time[3:])),
            duration_minutes=int((slots[0][1] - slots[0][0]).total_seconds() // 60),
            weeks=data.weeks,
            created_by=caller.id,
        )
        self.session.add(series)
        await self.session.flush()
        sessions = []
        for index, (starts_at, ends_at) in enumerate(slots):
            day = data.first_day + dt.timedelta(weeks=index)
            try:
                block_until = await self.rules.check(studio, streamer_id, starts_at, ends_at)
            except (InvalidInput, Conflict) as exc:
                await self.session.rollback()
                raise type(exc)(
                    f"Week {index + 1} ({day.isoformat()}): {exc.detail}", field=exc.field, extra=exc.extra
                ) from exc
            live = LiveSession(
                studio_id=studio.id,
                streamer_user_id=streamer_id,
                series_id=series.id,
                title=data.title,
                description=data.description,
                cover_image_url=data.cover_image_url,
                starts_at=starts_at,
                ends_at=ends_at,
                block_until=block_until,
                status=SessionStatus.SCHEDULED,
                commission_bp=commission,
                attribution_window_minutes=DEFAULT_ATTRIBUTION_WINDOW_MINUTES,
                created_by=caller.id,
                lineup=[LineupItem(product_id=p, position=i) for i, p in enumerate(product_ids)],
            )
            await add_with_unique_code(self.session, live)  # flushed, so the next occurrence's check sees it
            sessions.append(live)
        audit.record(
            self.session,
            actor_id=caller.id,
            action="book_series",
            entity="live_session_series",
            entity_id=series.id,
            changes={"weeks": data.weeks, "sessions": [s.id for s in sessions]},
        )
        await self.session.commit()
        return series, sessions

    async def get(self, series_id: int) -> tuple[SessionSeries, list[LiveSession]]:
        series = await self.session.get(SessionSeries, series_id)
        if series is None:
            raise NotFound(f"Series {series_id} not found.")
        sessions = list(
            await self.session.scalars(
                select(LiveSession).where(LiveSession.series_id == series_id).order_by(LiveSession.starts_at)
            )
        )
        return series, sessions

    async def cancel_remaining(
        self, caller: Caller, series_id: int, reason: str
    ) -> tuple[SessionSeries, list[LiveSession]]:
        """Cancel every occurrence still scheduled; occurrences already live or ended stay as they are."""
        series, sessions = await self.get(series_id)
        ensure_streamer_or_centre(caller, series.streamer_user_id)
        cancelled = []
        for live in sessions:
            if live.status is SessionStatus.SCHEDULED:
                live.status, live.cancelled_at, live.cancel_reason = SessionStatus.CANCELLED, self.now, reason
                cancelled.append(live.id)
        audit.record(
            self.session,
            actor_id=caller.id,
            action="cancel_series",
            entity="live_session_series",
            entity_id=series.id,
            changes={"cancelled": cancelled, "reason": reason},
        )
        await self.session.commit()
        return series, sessions
