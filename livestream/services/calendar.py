"""A streamer's calendar as iCalendar (imports into phone calendars): one VEVENT per session.

Weekly series are written as expanded occurrences rather than an RRULE, so a moved or cancelled occurrence is just
that event's new time or STATUS:CANCELLED under the same UID, which every calendar app understands. Times are in
Asia/Shanghai with its VTIMEZONE.
"""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, SessionStatus, Studio
from livestream.services.common import get_streamer, local
from livestream.services.presenters import share_url
from shop.db import utcnow

HISTORY = dt.timedelta(days=90)
ICAL_STATUS = {
    SessionStatus.SCHEDULED: "CONFIRMED",
    SessionStatus.LIVE: "CONFIRMED",
    SessionStatus.ENDED: "CONFIRMED",
    SessionStatus.CANCELLED: "CANCELLED",
}


class CalendarService:
    def __init__(self, session: AsyncSession, base_url: str, host: str = "workshop-sales-hub") -> None:
        self.session = session
        self.base_url = base_url
        self.host = host

    async def streamer_ics(self, streamer_user_id: int) -> bytes:
        streamer = await get_streamer(self.session, streamer_user_id, field="streamer_id")
        now = utcnow()
        rows = (
            (
                await self.session.execute(
                    select(LiveSession, Studio.name, Studio.address)
                    .join(Studio, Studio.id == LiveSession.studio_id)
                    .where(LiveSession.streamer_user_id == streamer.id, LiveSession.ends_at > now - HISTORY)
                    .order_by(LiveSession.starts_at)
                )
            )
            .tuples()
            .all()
        )
        cal = Calendar()
        cal.add("prodid", "-//Workshop Sales Hub//共富工坊直播排期//ZH")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", f"{streamer.display_name} 直播排期")
        cal.add("x-wr-timezone", "Asia/Shanghai")
        for live, studio_name, address in rows:
            event = Event()
            event.add("uid", f"live-session-{live.id}@{self.host}")
            event.add("dtstamp", now)
            event.add("last-modified", live.updated_at)
            event.add("dtstart", local(live.starts_at))
            event.add("dtend", local(live.ends_at))
            event.add("summary", f"直播：{live.title}")
            event.add("location", f"{studio_name} {address}".strip())
            link = share_url(self.base_url, live.share_code)
            event.add("description", f"分享链接 {link}\n{live.description}".strip())
            event.add("status", ICAL_STATUS[live.status])
            event.add("url", link)
            if live.series_id is not None:
                event.add("categories", [f"series-{live.series_id}"])
            cal.add_component(event)
        cal.add_missing_timezones()
        return cal.to_ical()
