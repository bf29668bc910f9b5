"""订阅日历: a streamer's secret iCalendar address (like a web calendar's "secret address in iCal format").

The schedule used to be public by streamer id, so anyone could walk the ids and read every streamer's week. Now
the feed opens only with an unguessable token, which the streamer (or centre staff) can reset or revoke.

Why the token is derived rather than random-and-shown-once: the studio page shows the address whenever the
streamer wants to copy it into another phone, so the token must be retrievable. Storing it (or an encryption of it)
would put a working key into every database copy and backup. Instead the token is HMAC-SHA256(secret key,
"livestream-calendar-feed:<streamer>:<row id>"): 256 bits, recomputable on demand, and the row keeps only its
SHA-256 (the same `token_hash` as the member statement links) for the lookup. Revocation is the row's `revoked_at`;
a reset revokes the row and adds a new one, whose new id gives a new token. Rotating SECRET_KEY changes every
derived token, so it retires every old address too (the feed recomputes the token and refuses a mismatch), and the
next visit to the page issues a fresh one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import CalendarFeedToken
from livestream.schemas import CalendarFeedOut
from livestream.services.common import ensure_streamer_or_centre, get_streamer
from shop.accounts.models import Role, User
from shop.audit import record
from shop.auth import Caller
from shop.benefits.services.links import token_hash
from shop.errors import Conflict, NotFound

FEED_PATH = "/api/live/calendar"
# Calendar apps poll every few hours; noting each poll would be a write per poll for a "last used" hint.
LAST_USED_RESOLUTION = dt.timedelta(hours=1)
# A derived token is 43 characters; anything much longer is not one of ours and is not worth hashing.
MAX_TOKEN_LENGTH = 64
UNKNOWN = "This calendar address is unknown or was reset; copy the current one from the studio page."


def derive_token(secret_key: str, streamer_user_id: int, row_id: int) -> str:
    message = f"livestream-calendar-feed:{streamer_user_id}:{row_id}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def feed_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{FEED_PATH}/{token}.ics"


class CalendarFeedService:
    def __init__(self, session: AsyncSession, secret_key: str, base_url: str) -> None:
        self.session = session
        self.secret_key = secret_key
        self.base_url = base_url

    async def _active(self, streamer_user_id: int) -> CalendarFeedToken | None:
        return await self.session.scalar(
            select(CalendarFeedToken).where(
                CalendarFeedToken.streamer_user_id == streamer_user_id, CalendarFeedToken.revoked_at.is_(None)
            )
        )

    def _token(self, row: CalendarFeedToken) -> str:
        return derive_token(self.secret_key, row.streamer_user_id, row.id)

    def _out(self, row: CalendarFeedToken) -> CalendarFeedOut:
        url = feed_url(self.base_url, self._token(row))
        webcal = "webcal://" + url.split("://", 1)[-1]
        return CalendarFeedOut(row.streamer_user_id, url, webcal, row.created_at, row.last_used_at)

    async def _check(self, caller: Caller, streamer_user_id: int) -> None:
        ensure_streamer_or_centre(caller, streamer_user_id)
        await get_streamer(self.session, streamer_user_id, field="streamer_id")

    async def _issue(self, caller: Caller, streamer_user_id: int) -> CalendarFeedToken:
        """Add a new active row (the caller has revoked any old one in the same transaction)."""
        # The token depends on the row id, known only after the insert: a random placeholder holds the unique
        # column for that moment and never leaves the transaction.
        row = CalendarFeedToken(
            streamer_user_id=streamer_user_id,
            token_hash=token_hash(secrets.token_urlsafe(32)),
            created_by=caller.id,
        )
        self.session.add(row)
        await self.session.flush()
        row.token_hash = token_hash(self._token(row))
        record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="calendar_feed_token",
            entity_id=row.id,
            changes={"streamer_user_id": streamer_user_id},
        )
        await self.session.flush()
        return row

    def _revoke(self, caller: Caller, row: CalendarFeedToken) -> None:
        row.revoked_at = dt.datetime.now(dt.UTC)
        record(self.session, actor_id=caller.id, action="revoke", entity="calendar_feed_token", entity_id=row.id)

    async def current(self, caller: Caller, streamer_user_id: int) -> CalendarFeedOut:
        """The active address; the first request (or the first after a revoke) issues one."""
        await self._check(caller, streamer_user_id)
        row = await self._active(streamer_user_id)
        if row is not None and hmac.compare_digest(row.token_hash, token_hash(self._token(row))):
            return self._out(row)
        if row is not None:  # issued under an older secret key: its address no longer opens, so replace it
            self._revoke(caller, row)
            await self.session.flush()
        try:
            row = await self._issue(caller, streamer_user_id)
            await self.session.commit()
        except IntegrityError:
            # Two first visits at once: the other one's row won the unique index; show that one.
            await self.session.rollback()
            row = await self._active(streamer_user_id)
            if row is None:
                raise
        return self._out(row)

    async def reset(self, caller: Caller, streamer_user_id: int) -> CalendarFeedOut:
        """重置链接: the old address stops working at once; a new one replaces it."""
        await self._check(caller, streamer_user_id)
        old = await self._active(streamer_user_id)
        try:
            if old is not None:
                self._revoke(caller, old)
                await self.session.flush()  # free the one-active slot before the new row takes it
            row = await self._issue(caller, streamer_user_id)
            await self.session.commit()
        except IntegrityError as error:  # another reset of the same streamer's address committed first
            await self.session.rollback()
            raise Conflict(
                "The calendar address was reset at the same moment; reload it.", field="streamer_id"
            ) from error
        return self._out(row)

    async def revoke(self, caller: Caller, streamer_user_id: int) -> None:
        """停用: the address stops working; the next visit to the studio page issues a new one."""
        await self._check(caller, streamer_user_id)
        row = await self._active(streamer_user_id)
        if row is not None:
            self._revoke(caller, row)
            await self.session.commit()

    async def resolve(self, token: str) -> int:
        """The streamer whose feed this token opens; one and the same 404 for unknown, revoked and stale tokens."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():  # ours are base64url
            raise NotFound(UNKNOWN)
        row = await self.session.scalar(
            select(CalendarFeedToken).where(CalendarFeedToken.token_hash == token_hash(token))
        )
        # The lookup is by the token's hash, so its timing says nothing about the token; the comparison against the
        # recomputed token is constant-time and also refuses a token issued under a rotated secret key.
        expected = self._token(row) if row is not None else derive_token(self.secret_key, 0, 0)
        valid = hmac.compare_digest(expected.encode(), token.encode())
        if row is None or row.revoked_at is not None or not valid:
            raise NotFound(UNKNOWN)
        # A streamer who left (account disabled or no longer a streamer) publishes nothing, with the same answer.
        streamer = await self.session.get(User, row.streamer_user_id)
        if streamer is None or not streamer.is_active or streamer.role is not Role.STREAMER:
            raise NotFound(UNKNOWN)
        now = dt.datetime.now(dt.UTC)
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = now
            await self.session.commit()
        return row.streamer_user_id
