"""Booking, moving and cancelling sessions (直播排期), and streamer agreements (主播协议)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import DEFAULT_ATTRIBUTION_WINDOW_MINUTES, LineupItem, LiveSession, SessionStatus
from livestream.models import StreamerAgreement as Agreement
from livestream.schemas import AgreementIn, AgreementOut, SessionCreate, SessionUpdate
from livestream.services.common import (
    ensure_streamer_or_centre,
    get_session,
    get_streamer,
    local,
    new_share_code,
    to_utc,
)
from livestream.services.presenters import validate_lineup
from livestream.services.rules import BookingRules
from shop import audit
from shop.accounts.models import Role
from shop.auth import Caller
from shop.db import utcnow
from shop.errors import Conflict, Forbidden, InvalidInput


def agreement_out(a: Agreement) -> AgreementOut:
    return AgreementOut(a.id, a.streamer_user_id, a.commission_bp, a.valid_from, a.note)


async def agreed_commission(session: AsyncSession, streamer_user_id: int, day: dt.date) -> int:
    """The commission rate of the streamer's agreement in force on `day` (local); 422 when there is none."""
    rate = await session.scalar(
        select(Agreement.commission_bp)
        .where(Agreement.streamer_user_id == streamer_user_id, Agreement.valid_from <= day)
        .order_by(Agreement.valid_from.desc())
        .limit(1)
    )
    if rate is None:
        raise InvalidInput(
            f"Streamer {streamer_user_id} has no agreement in force on {day.isoformat()}; the service centre "
            "records the commission rate first.",
            field="commission_bp",
        )
    return int(rate)


def booking_streamer(caller: Caller, requested: int | None) -> int:
    """A streamer books for themself; centre staff name the streamer."""
    if caller.role is Role.STREAMER:
        if requested not in (None, caller.id):
            raise Forbidden("A streamer books sessions for themself only.")
        return caller.id
    if not caller.is_admin:
        raise Forbidden("Only streamers and centre staff book sessions.")
    if requested is None:
        raise InvalidInput("Name the streamer who will host the session.", field="streamer_user_id")
    return requested


def staff_only(caller: Caller, **fields: object) -> None:
    for name, value in fields.items():
        if value is not None and not caller.is_admin:
            raise Forbidden(f"Only centre staff set {name}.")


async def add_with_unique_code(session: AsyncSession, live: LiveSession) -> None:
    """Flush a new session; on the (rare) share-code collision draw a new code inside a savepoint."""
    for _ in range(5):
        live.share_code = new_share_code()
        try:
            async with session.begin_nested():
                session.add(live)
                await session.flush()
            return
        except IntegrityError:
            continue  # the savepoint rollback made `live` transient again; retry with a new code
    raise Conflict("Could not draw a unique share code; please retry.")


class SchedulingService:
    def __init__(self, session: AsyncSession, now: dt.datetime | None = None) -> None:
        self.session = session
        self.now = now or utcnow()
        self.rules = BookingRules(session, self.now)

    async def set_agreement(self, actor: Caller, streamer_user_id: int, data: AgreementIn) -> AgreementOut:
        await get_streamer(self.session, streamer_user_id, field="streamer_user_id")
        row = await self.session.scalar(
            select(Agreement).where(
                Agreement.streamer_user_id == streamer_user_id, Agreement.valid_from == data.valid_from
            )
        )
        if row is None:
            row = Agreement(
                streamer_user_id=streamer_user_id,
                valid_from=data.valid_from,
                commission_bp=data.commission_bp,
                note=data.note,
            )
            self.session.add(row)
        else:
            row.commission_bp, row.note = data.commission_bp, data.note
        await self.session.flush()
        audit.record(
            self.session,
            actor_id=actor.id,
            action="set",
            entity="live_streamer_agreement",
            entity_id=row.id,
            changes={"commission_bp": data.commission_bp, "valid_from": data.valid_from.isoformat()},
        )
        await self.session.commit()
        return agreement_out(row)

    async def agreements(self, streamer_user_id: int) -> list[AgreementOut]:
        rows = await self.session.scalars(
            select(Agreement).where(Agreement.streamer_user_id == streamer_user_id).order_by(Agreement.valid_from)
        )
        return [agreement_out(a) for a in rows]

    async def book(self, caller: Caller, data: SessionCreate) -> LiveSession:
        """Book a session. 422 for a bad slot (past, length, opening hours, closed day), 409 for a clash."""
        streamer_id = booking_streamer(caller, data.streamer_user_id)
        staff_only(caller, commission_bp=data.commission_bp, attribution_window_minutes=data.attribution_window_minutes)
        starts_at, ends_at = to_utc(data.starts_at), to_utc(data.ends_at)
        await get_streamer(self.session, streamer_id)
        product_ids = await validate_lineup(self.session, data.product_ids)
        commission = data.commission_bp
        if commission is None:
            commission = await agreed_commission(self.session, streamer_id, local(starts_at).date())
        studios = await self.rules.lock([data.studio_id], streamer_id)
        block_until = await self.rules.check(studios[data.studio_id], streamer_id, starts_at, ends_at)
        live = LiveSession(
            studio_id=data.studio_id,
            streamer_user_id=streamer_id,
            title=data.title,
            description=data.description,
            cover_image_url=data.cover_image_url,
            starts_at=starts_at,
            ends_at=ends_at,
            block_until=block_until,
            status=SessionStatus.SCHEDULED,
            commission_bp=commission,
            attribution_window_minutes=data.attribution_window_minutes or DEFAULT_ATTRIBUTION_WINDOW_MINUTES,
            created_by=caller.id,
            lineup=[LineupItem(product_id=p, position=i) for i, p in enumerate(product_ids)],
        )
        await add_with_unique_code(self.session, live)
        audit.record(
            self.session,
            actor_id=caller.id,
            action="book",
            entity="live_session",
            entity_id=live.id,
            changes={
                "studio_id": live.studio_id,
                "streamer_user_id": streamer_id,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
        )
        await self.session.commit()
        return live

    async def update(self, caller: Caller, session_id: int, data: SessionUpdate) -> LiveSession:
        """Edit or move a scheduled session (e.g. one occurrence of a weekly series); a move obeys every rule."""
        live = await get_session(self.session, session_id)
        ensure_streamer_or_centre(caller, live.streamer_user_id)
        staff_only(caller, attribution_window_minutes=data.attribution_window_minutes)
        moving = data.starts_at is not None or data.ends_at is not None or data.studio_id is not None
        if live.status is not SessionStatus.SCHEDULED and (moving or data.product_ids is not None):
            raise Conflict(
                f"Session {live.id} is {live.status.value}; only a scheduled session is moved or re-planned.",
                field="status",
            )
        changes: dict[str, object] = {}
        if moving:
            starts_at = to_utc(data.starts_at) if data.starts_at else live.starts_at
            ends_at = to_utc(data.ends_at) if data.ends_at else live.ends_at
            studio_id = data.studio_id or live.studio_id
            studios = await self.rules.lock({studio_id, live.studio_id}, live.streamer_user_id)
            await self.session.refresh(live)  # re-read under the locks: a concurrent start or cancel wins
            if live.status is not SessionStatus.SCHEDULED:
                raise Conflict(
                    f"Session {live.id} is {live.status.value}; only a scheduled session is moved.", field="status"
                )
            live.block_until = await self.rules.check(
                studios[studio_id], live.streamer_user_id, starts_at, ends_at, exclude_ids=[live.id]
            )
            live.starts_at, live.ends_at, live.studio_id = starts_at, ends_at, studio_id
            changes.update(starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(), studio_id=studio_id)
        if data.product_ids is not None:
            product_ids = await validate_lineup(self.session, data.product_ids)
            live.lineup.clear()
            await self.session.flush()  # delete the old rows before inserting: (session, product) is unique
            live.lineup.extend(LineupItem(product_id=p, position=i) for i, p in enumerate(product_ids))
            changes["product_ids"] = product_ids
        for name in ("title", "description", "cover_image_url", "attribution_window_minutes"):
            value = getattr(data, name)
            if value is not None:
                setattr(live, name, value)
                changes[name] = value
        audit.record(
            self.session, actor_id=caller.id, action="update", entity="live_session", entity_id=live.id, changes=changes
        )
        await self.session.commit()
        return live

    async def cancel(self, caller: Caller, session_id: int, reason: str) -> LiveSession:
        live = await get_session(self.session, session_id)
        ensure_streamer_or_centre(caller, live.streamer_user_id)
        if live.status is not SessionStatus.SCHEDULED:
            raise Conflict(
                f"Session {live.id} is {live.status.value}; only a scheduled session is cancelled.", field="status"
            )
        live.status, live.cancelled_at, live.cancel_reason = SessionStatus.CANCELLED, self.now, reason
        audit.record(
            self.session,
            actor_id=caller.id,
            action="cancel",
            entity="live_session",
            entity_id=live.id,
            changes={"reason": reason},
        )
        await self.session.commit()
        return live
