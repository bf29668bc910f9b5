"""Attribution (带货归因): which session and streamer a cart line added through a share code belongs to.

The shop's cart calls `AttributionResolver(db_session).resolve(code, at)` when a line is added or the buyer opens
a share link, and stores the result on the line; the latest resolved code replaces the line's session (last touch
wins — the cart's job). The shop's split then pays the streamer `commission_bp` of the line's net amount, and a
refund writes the reverse rows. A code attributes while its session is live, and for the session's attribution
window (default 24 hours) after it ends; a scheduled, cancelled or unknown code attributes nothing (None, never an
error: a stale link must not stop a purchase).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, SessionStatus
from livestream.services.common import normalise_share_code, to_utc


@dataclass(frozen=True, slots=True)
class Attribution:
    live_session_id: int
    streamer_user_id: int
    commission_bp: int


def attributes_at(live: LiveSession, at: dt.datetime) -> bool:
    """Live at `at`, or ended no longer than the session's attribution window before `at`."""
    at = to_utc(at)
    if live.went_live_at is None or at < live.went_live_at:
        return False
    if live.status is SessionStatus.LIVE:
        return True
    if live.status is SessionStatus.ENDED and live.ended_at is not None:
        return at <= live.ended_at + dt.timedelta(minutes=live.attribution_window_minutes)
    return False


class AttributionResolver:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def session_for_code(self, share_code: str | None) -> LiveSession | None:
        if not share_code or len(share_code) > 32:
            return None
        return await self.session.scalar(
            select(LiveSession).where(LiveSession.share_code == normalise_share_code(share_code))
        )

    async def resolve(self, share_code: str | None, at: dt.datetime) -> Attribution | None:
        live = await self.session_for_code(share_code)
        if live is None or not attributes_at(live, at):
            return None
        return Attribution(live.id, live.streamer_user_id, live.commission_bp)


async def resolve(session: AsyncSession, share_code: str | None, at: dt.datetime) -> Attribution | None:
    """Function form of `AttributionResolver.resolve` for the cart."""
    return await AttributionResolver(session).resolve(share_code, at)
