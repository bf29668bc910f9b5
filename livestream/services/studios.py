"""Studios (共享直播间): opening hours, closed dates, turnover gap, equipment; free slots of a day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, Studio, StudioClosure
from livestream.schemas import ClosureIn, FreeSlot, FreeSlots, StudioIn, StudioOut, StudioUpdate
from livestream.services.common import get_studio, local_midnight
from livestream.services.rules import ACTIVE_STATUSES, MIN_LENGTH, opening_intervals, validate_opening_hours
from shop import audit
from shop.auth import Caller
from shop.db import utcnow
from shop.errors import Conflict, NotFound


def studio_out(s: Studio) -> StudioOut:
    return StudioOut(
        s.id,
        s.name,
        s.address,
        s.village_id,
        dict(s.opening_hours),
        s.turnover_gap_minutes,
        s.equipment_notes,
        s.is_active,
        [c.day for c in s.closures],
    )


class StudioService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _name_taken(self, name: str, other_than: int | None = None) -> bool:
        query = select(func.count()).select_from(Studio).where(Studio.name == name)
        if other_than is not None:
            query = query.where(Studio.id != other_than)
        return bool(await self.session.scalar(query))

    async def create(self, actor: Caller, data: StudioIn) -> StudioOut:
        hours = validate_opening_hours(data.opening_hours)
        if await self._name_taken(data.name):
            raise Conflict(f"A studio named {data.name!r} exists.", field="name")
        studio = Studio(
            name=data.name,
            address=data.address,
            village_id=data.village_id,
            opening_hours=hours,
            turnover_gap_minutes=data.turnover_gap_minutes,
            equipment_notes=data.equipment_notes,
            closures=[],
        )
        self.session.add(studio)
        await self.session.flush()
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="live_studio",
            entity_id=studio.id,
            changes={"name": data.name},
        )
        await self.session.commit()
        return studio_out(studio)

    async def update(self, actor: Caller, studio_id: int, data: StudioUpdate) -> StudioOut:
        """Changes apply to new bookings; sessions already booked keep the gap they were booked with."""
        studio = await get_studio(self.session, studio_id)
        if data.name is not None and await self._name_taken(data.name, other_than=studio.id):
            raise Conflict(f"A studio named {data.name!r} exists.", field="name")
        changes: dict[str, Any] = {}
        for name in ("name", "address", "turnover_gap_minutes", "equipment_notes", "is_active"):
            value = getattr(data, name)
            if value is not None:
                changes[name] = [getattr(studio, name), value]
                setattr(studio, name, value)
        if data.opening_hours is not None:
            studio.opening_hours = validate_opening_hours(data.opening_hours)
            changes["opening_hours"] = studio.opening_hours
        audit.record(
            self.session, actor_id=actor.id, action="update", entity="live_studio", entity_id=studio.id, changes=changes
        )
        await self.session.commit()
        return studio_out(studio)

    async def listing(self, include_inactive: bool = False) -> list[StudioOut]:
        query = select(Studio).order_by(Studio.id)
        if not include_inactive:
            query = query.where(Studio.is_active.is_(True))
        return [studio_out(s) for s in await self.session.scalars(query)]

    async def detail(self, studio_id: int) -> StudioOut:
        return studio_out(await get_studio(self.session, studio_id))

    async def add_closure(self, actor: Caller, studio_id: int, data: ClosureIn) -> StudioOut:
        """Close a day. Sessions already booked that day are not cancelled silently: 409 names the first."""
        studio = await get_studio(self.session, studio_id)
        if any(c.day == data.day for c in studio.closures):
            return studio_out(studio)
        start = local_midnight(data.day)
        booked = await self.session.scalar(
            select(LiveSession.id)
            .where(
                LiveSession.studio_id == studio.id,
                LiveSession.status.in_(ACTIVE_STATUSES),
                LiveSession.starts_at >= start,
                LiveSession.starts_at < start + dt.timedelta(days=1),
            )
            .order_by(LiveSession.starts_at)
            .limit(1)
        )
        if booked is not None:
            raise Conflict(
                f"Session {booked} is booked on {data.day.isoformat()}; cancel or move it first.",
                field="day",
                extra={"conflict": {"kind": "studio", "session_id": booked}},
            )
        studio.closures.append(StudioClosure(day=data.day, reason=data.reason))
        audit.record(
            self.session,
            actor_id=actor.id,
            action="close_day",
            entity="live_studio",
            entity_id=studio.id,
            changes={"day": data.day.isoformat(), "reason": data.reason},
        )
        await self.session.commit()
        return studio_out(studio)

    async def remove_closure(self, actor: Caller, studio_id: int, day: dt.date) -> StudioOut:
        studio = await get_studio(self.session, studio_id)
        closure = next((c for c in studio.closures if c.day == day), None)
        if closure is None:
            raise NotFound(f"Studio {studio_id} is not closed on {day.isoformat()}.")
        studio.closures.remove(closure)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="open_day",
            entity="live_studio",
            entity_id=studio.id,
            changes={"day": day.isoformat()},
        )
        await self.session.commit()
        return studio_out(studio)

    async def free_slots(self, studio_id: int, day: dt.date, now: dt.datetime | None = None) -> FreeSlots:
        """Windows of the local day in which a session can be booked: each window is a whole bookable span.

        A session booked anywhere inside a window (15 minutes or longer) passes every studio rule; the turnover
        gap around existing sessions is already taken out. The streamer's own calendar is not considered.
        """
        studio = await get_studio(self.session, studio_id)
        now = now or utcnow()
        midnight = local_midnight(day)
        gap = dt.timedelta(minutes=studio.turnover_gap_minutes)
        busy = [
            (s.starts_at - gap, s.block_until)
            for s in await self.session.scalars(
                select(LiveSession)
                .where(
                    LiveSession.studio_id == studio.id,
                    LiveSession.status.in_(ACTIVE_STATUSES),
                    LiveSession.starts_at < midnight + dt.timedelta(days=2),
                    LiveSession.block_until > midnight - dt.timedelta(days=1),
                )
                .order_by(LiveSession.starts_at)
            )
        ]
        slots = []
        for open_min, close_min in opening_intervals(studio, day):
            start = max(midnight + dt.timedelta(minutes=open_min), now)
            end = midnight + dt.timedelta(minutes=close_min)
            for busy_start, busy_end in busy:
                if busy_end <= start or busy_start >= end:
                    continue
                if busy_start > start:
                    slots.append((start, busy_start))
                start = max(start, busy_end)
            if start < end:
                slots.append((start, end))
        return FreeSlots(
            studio.id,
            day,
            studio.turnover_gap_minutes,
            [
                FreeSlot(a.astimezone(dt.UTC), b.astimezone(dt.UTC), int((b - a).total_seconds() // 60))
                for a, b in slots
                if b - a >= MIN_LENGTH
            ],
        )
