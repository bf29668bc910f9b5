"""Going live (开播), ending, pinning the product on air, share code/link/QR, and listing sessions."""

from __future__ import annotations

import datetime as dt
import io

import qrcode
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LineupItem, LiveSession, SessionStatus
from livestream.schemas import ListStatus, ShareOut
from livestream.services.common import ensure_streamer_or_centre, get_session
from livestream.services.figures import LiveFigures
from livestream.services.livestore import STORE_ERRORS
from livestream.services.presenters import share_url
from shop import audit
from shop.accounts.models import User
from shop.auth import Caller
from shop.db import utcnow
from shop.errors import Conflict, InvalidInput
from shop.outbox import emit_search

EARLY_START = dt.timedelta(minutes=30)  # a streamer may open the room a little before the slot


def qr_png(text: str) -> bytes:
    image = qrcode.make(text, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def live_product_ids(session: AsyncSession) -> set[int]:
    """Products in the line-up of a session that is live now (search's "live now" facet)."""
    rows = await session.scalars(
        select(LineupItem.product_id)
        .join(LiveSession, LiveSession.id == LineupItem.session_id)
        .where(LiveSession.status == SessionStatus.LIVE)
    )
    return set(rows)


def announce_live_change(session: AsyncSession, live: LiveSession) -> None:
    """The line-up's "live now" flag in search changes with the session (same transaction, via the outbox)."""
    for item in live.lineup:
        emit_search(session, "product", item.product_id, "live_status")


class BroadcastService:
    def __init__(self, session: AsyncSession, figures: LiveFigures, now: dt.datetime | None = None) -> None:
        self.session = session
        self.figures = figures
        self.now = now or utcnow()

    async def start(self, caller: Caller, session_id: int) -> LiveSession:
        live = await get_session(self.session, session_id)
        ensure_streamer_or_centre(caller, live.streamer_user_id)
        if live.status is not SessionStatus.SCHEDULED:
            raise Conflict(
                f"Session {live.id} is {live.status.value}; only a scheduled session goes live.", field="status"
            )
        if not live.starts_at - EARLY_START <= self.now < live.ends_at:
            raise Conflict(
                f"Session {live.id} can go live from 30 minutes before its start until its end.", field="status"
            )
        streamer_live = await self.session.scalar(
            select(LiveSession.id).where(
                LiveSession.streamer_user_id == live.streamer_user_id, LiveSession.status == SessionStatus.LIVE
            )
        )
        if streamer_live is not None:
            raise Conflict(
                f"The streamer is still live in session {streamer_live}; end it first.",
                field="status",
                extra={"conflict": {"kind": "streamer", "session_id": streamer_live}},
            )
        live.status, live.went_live_at = SessionStatus.LIVE, self.now
        audit.record(self.session, actor_id=caller.id, action="go_live", entity="live_session", entity_id=live.id)
        announce_live_change(self.session, live)
        await self.session.commit()
        streamer_name = await self.session.scalar(select(User.display_name).where(User.id == live.streamer_user_id))
        await self._after_commit(live, "started", labels=True, streamer_name=streamer_name or "")
        return live

    async def end(self, caller: Caller | None, session_id: int) -> LiveSession:
        """End a live session (caller None: the overdue sweeper). Viewer figures are copied onto the row."""
        live = await get_session(self.session, session_id)
        if caller is not None:
            ensure_streamer_or_centre(caller, live.streamer_user_id)
        if live.status is not SessionStatus.LIVE:
            raise Conflict(f"Session {live.id} is {live.status.value}; only a live session ends.", field="status")
        snapshot = (await self.figures.figures([live.id])).get(live.id)
        if snapshot is not None:
            live.peak_viewers, live.total_viewers = snapshot.peak_viewers, snapshot.total_viewers
        live.status, live.ended_at, live.pinned_product_id = SessionStatus.ENDED, self.now, None
        audit.record(
            self.session,
            actor_id=caller.id if caller else None,
            action="end",
            entity="live_session",
            entity_id=live.id,
            changes={"peak_viewers": live.peak_viewers},
        )
        announce_live_change(self.session, live)
        await self.session.commit()
        await self._after_commit(live, "ended")
        return live

    async def pin(self, caller: Caller, session_id: int, product_id: int | None) -> LiveSession:
        """Pin the product being presented (讲解中); it must be in the line-up. None unpins."""
        live = await get_session(self.session, session_id)
        ensure_streamer_or_centre(caller, live.streamer_user_id)
        if live.status is not SessionStatus.LIVE:
            raise Conflict(f"Session {live.id} is {live.status.value}; pin a product while live.", field="status")
        if product_id is not None and product_id not in {i.product_id for i in live.lineup}:
            raise InvalidInput(f"Product {product_id} is not in the line-up of session {live.id}.", field="product_id")
        live.pinned_product_id = product_id
        await self.session.commit()
        self.figures.publish({"type": "pinned", "session_id": live.id, "product_id": product_id}, live.id)
        return live

    async def _after_commit(self, live: LiveSession, event: str, labels: bool = False, streamer_name: str = "") -> None:
        if labels:
            try:
                await self.figures.store.set_labels("session", {live.id: live.title})
                await self.figures.store.set_labels("streamer", {live.streamer_user_id: streamer_name})
            except STORE_ERRORS:
                pass  # labels are cosmetic; the leaderboard falls back to the database
        self.figures.publish(
            {"type": "status", "session_id": live.id, "status": live.status.value, "event": event}, live.id
        )

    def share(self, live: LiveSession, base_url: str) -> ShareOut:
        base = base_url.rstrip("/")
        return ShareOut(
            live.id, live.share_code, share_url(base, live.share_code), f"{base}/api/live/sessions/{live.id}/qr.png"
        )

    async def listing(self, status: ListStatus, limit: int, offset: int) -> tuple[list[LiveSession], int]:
        query = select(LiveSession)
        if status == "live":
            query = query.where(LiveSession.status == SessionStatus.LIVE).order_by(LiveSession.went_live_at.desc())
        elif status == "upcoming":
            query = query.where(LiveSession.status == SessionStatus.SCHEDULED, LiveSession.ends_at > self.now).order_by(
                LiveSession.starts_at
            )
        elif status == "ended":
            query = query.where(LiveSession.status == SessionStatus.ENDED).order_by(LiveSession.ended_at.desc())
        else:
            query = query.where(LiveSession.status == SessionStatus.CANCELLED).order_by(LiveSession.starts_at.desc())
        total = int(await self.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
        rows = list(await self.session.scalars(query.order_by(LiveSession.id).limit(limit).offset(offset)))
        return rows, total

    async def overdue(self, grace: dt.timedelta) -> list[int]:
        """Live sessions still on air `grace` after their booked end (a forgotten "end" button)."""
        return list(
            await self.session.scalars(
                select(LiveSession.id).where(
                    LiveSession.status == SessionStatus.LIVE, LiveSession.ends_at < self.now - grace
                )
            )
        )
