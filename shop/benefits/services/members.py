"""Members of the benefit schemes and the workshops/models they take part in."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Region, Workshop
from shop.accounts.models import Role, User
from shop.audit import record
from shop.auth import Caller
from shop.benefits.models import Member, Participation, ShareChange, StatementLine
from shop.benefits.schemas import MemberIn, MemberOut, ParticipationIn
from shop.errors import Conflict, Forbidden, InvalidInput, NotFound

T = TypeVar("T")


async def get_or_404(session: AsyncSession, model: type[T], ident: int, what: str, field: str | None = None) -> T:
    row = await session.get(model, ident)
    if row is None:
        if field:
            raise InvalidInput(f"No {what} with id {ident}.", field=field)
        raise NotFound(f"No {what} with id {ident}.")
    return row


async def ensure_member_in_scope(session: AsyncSession, caller: Caller, member_id: int) -> None:
    """Admins reach every member; a workshop manager only members who take part in one of their workshops."""
    if caller.role is Role.CENTRE_ADMIN:
        return
    if caller.role is Role.WORKSHOP_MANAGER and caller.workshop_ids:
        scope = caller.workshop_ids
        # Taking part in a workshop's scheme, holding its shares, or having been paid by it (a statement line).
        ties = union_all(
            select(Participation.member_id).where(
                Participation.member_id == member_id, Participation.workshop_id.in_(scope)
            ),
            select(ShareChange.member_id).where(ShareChange.member_id == member_id, ShareChange.workshop_id.in_(scope)),
            select(StatementLine.member_id).where(
                StatementLine.member_id == member_id, StatementLine.workshop_id.in_(scope)
            ),
        )
        if await session.scalar(select(ties.subquery().c[0]).limit(1)) is not None:
            return
    raise Forbidden(f"Member {member_id} takes part in none of your workshops.", field="member_id")


async def require_workshop(session: AsyncSession, workshop_id: int, field: str = "workshop_id") -> Workshop:
    return await get_or_404(session, Workshop, workshop_id, "workshop", field)


def member_out(member: Member, participations: list[Participation] | None = None) -> MemberOut:
    return MemberOut(
        id=member.id,
        kind=member.kind,
        name=member.name,
        represented_by=member.represented_by,
        phone=member.phone,
        delivery=member.delivery,
        village_id=member.village_id,
        user_id=member.user_id,
        participations=[ParticipationIn(workshop_id=p.workshop_id, model=p.model) for p in participations or []],
    )


class MemberService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, caller: Caller, data: MemberIn) -> MemberOut:
        if data.village_id is not None:
            await get_or_404(self.session, Region, data.village_id, "village", "village_id")
        if data.user_id is not None:
            user = await get_or_404(self.session, User, data.user_id, "user", "user_id")
            if user.role not in (Role.MEMBER, Role.STREAMER):
                raise InvalidInput(
                    "A member may link only to an account with role member or streamer.", field="user_id"
                )
            if await self.session.scalar(select(Member.id).where(Member.user_id == data.user_id)):
                raise Conflict(f"User {data.user_id} is already linked to a member.", field="user_id")
        member = Member(
            kind=data.kind,
            name=data.name,
            represented_by=data.represented_by,
            phone=data.phone,
            delivery=data.delivery,
            village_id=data.village_id,
            user_id=data.user_id,
        )
        self.session.add(member)
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="benefit_member",
            entity_id=member.id,
            changes={"name": data.name, "kind": data.kind.value},
        )
        await self.session.commit()
        return member_out(member)

    async def join(self, caller: Caller, member_id: int, data: ParticipationIn) -> MemberOut:
        member = await get_or_404(self.session, Member, member_id, "member")
        await require_workshop(self.session, data.workshop_id)
        exists = await self.session.scalar(
            select(Participation.id).where(
                Participation.member_id == member_id,
                Participation.workshop_id == data.workshop_id,
                Participation.model == data.model,
            )
        )
        if exists is None:
            self.session.add(Participation(member_id=member_id, workshop_id=data.workshop_id, model=data.model))
            record(
                self.session,
                actor_id=caller.id,
                action="join",
                entity="benefit_member",
                entity_id=member_id,
                changes={"workshop_id": data.workshop_id, "model": data.model.value},
            )
            await self.session.commit()
        return await self.get(member.id)

    async def get(self, member_id: int) -> MemberOut:
        member = await get_or_404(self.session, Member, member_id, "member")
        parts = (
            await self.session.scalars(
                select(Participation).where(Participation.member_id == member_id).order_by(Participation.id)
            )
        ).all()
        return member_out(member, list(parts))

    async def list(self, offset: int, limit: int, **filters: Any) -> tuple[list[MemberOut], int]:
        from sqlalchemy import func

        query = select(Member)
        scope = filters.get("workshop_ids")
        if scope is not None:  # a workshop manager lists only the members of their workshops
            query = query.where(
                Member.id.in_(select(Participation.member_id).where(Participation.workshop_id.in_(scope)))
                | Member.id.in_(select(ShareChange.member_id).where(ShareChange.workshop_id.in_(scope)))
            )
        if filters.get("kind") is not None:
            query = query.where(Member.kind == filters["kind"])
        total = await self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = (await self.session.scalars(query.order_by(Member.id).offset(offset).limit(limit))).all()
        return [member_out(m) for m in rows], total

    async def member_for_user(self, user_id: int) -> Member | None:
        return await self.session.scalar(select(Member).where(Member.user_id == user_id))
