"""Private statement links (私密链接): an unguessable token, stored only as its SHA-256, with expiry; revocable."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.audit import record
from shop.auth import Caller
from shop.benefits.models import Statement, StatementLink
from shop.benefits.schemas import LinkOut
from shop.benefits.services.members import ensure_member_in_scope, get_or_404
from shop.benefits.services.months import parse_month
from shop.errors import NotFound


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LinkService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, caller: Caller, month: str, member_id: int, days: int, base_url: str) -> LinkOut:
        month = parse_month(month)
        await ensure_member_in_scope(self.session, caller, member_id)
        if (
            await self.session.scalar(
                select(Statement.id).where(Statement.month == month, Statement.member_id == member_id)
            )
            is None
        ):
            raise NotFound(f"Member {member_id} has no statement for {month}.")
        token = secrets.token_urlsafe(32)
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
        link = StatementLink(
            token_hash=token_hash(token), month=month, member_id=member_id, expires_at=expires, created_by=caller.id
        )
        self.session.add(link)
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="benefit_statement_link",
            entity_id=link.id,
            changes={"month": month, "member_id": member_id, "expires_at": expires.isoformat()},
        )
        await self.session.commit()
        return LinkOut(id=link.id, token=token, url=f"{base_url.rstrip('/')}/benefits/s/{token}", expires_at=expires)

    async def revoke(self, caller: Caller, link_id: int) -> None:
        link = await get_or_404(self.session, StatementLink, link_id, "statement link")
        await ensure_member_in_scope(self.session, caller, link.member_id)
        if link.revoked_at is None:
            link.revoked_at = dt.datetime.now(dt.UTC)
            record(
                self.session, actor_id=caller.id, action="revoke", entity="benefit_statement_link", entity_id=link.id
            )
            await self.session.commit()

    async def resolve(self, token: str) -> tuple[str, int]:
        """(month, member_id) of a live link; the same 404 for unknown, expired and revoked tokens."""
        link = await self.session.scalar(select(StatementLink).where(StatementLink.token_hash == token_hash(token)))
        now = dt.datetime.now(dt.UTC)
        if link is None or link.revoked_at is not None or link.expires_at <= now:
            raise NotFound("This statement link is unknown, expired or revoked; ask the workshop for a new one.")
        return link.month, link.member_id
