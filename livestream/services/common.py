"""Helpers shared by the livestream services: local time (Asia/Shanghai), loading rows, who may act."""

from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, Studio
from shop.accounts.models import Role, User
from shop.auth import Caller
from shop.errors import Forbidden, InvalidInput, NotFound

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Unambiguous on a phone screen and in a QR code: no 0/O, 1/I/L.
SHARE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SHARE_CODE_LENGTH = 8


def to_utc(value: dt.datetime) -> dt.datetime:
    """A naive time is read as Asia/Shanghai (what the streamer sees on the wall clock)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(dt.UTC)


def local(value: dt.datetime) -> dt.datetime:
    return to_utc(value).astimezone(SHANGHAI)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI)


def month_key(value: dt.datetime) -> str:
    """The competition month (直播销售大比拼) of an instant, in Asia/Shanghai: "YYYYMM"."""
    return local(value).strftime("%Y%m")


def parse_month(value: str | None, now: dt.datetime) -> str:
    """Accept "YYYY-MM" or "YYYYMM"; default the current local month."""
    if not value:
        return month_key(now)
    text = value.replace("-", "")
    if len(text) != 6 or not text.isdigit() or not 1 <= int(text[4:]) <= 12:
        raise InvalidInput(f"Month {value!r} is not of the form YYYY-MM.", field="month")
    return text


def new_share_code() -> str:
    return "".join(secrets.choice(SHARE_ALPHABET) for _ in range(SHARE_CODE_LENGTH))


def normalise_share_code(code: str) -> str:
    return code.strip().upper()


async def get_studio(session: AsyncSession, studio_id: int) -> Studio:
    studio = await session.get(Studio, studio_id)
    if studio is None:
        raise NotFound(f"Studio {studio_id} not found.")
    return studio


async def get_session(session: AsyncSession, session_id: int) -> LiveSession:
    live = await session.get(LiveSession, session_id)
    if live is None:
        raise NotFound(f"Live session {session_id} not found.")
    return live


async def get_streamer(session: AsyncSession, user_id: int, field: str = "streamer_user_id") -> User:
    user = await session.scalar(select(User).where(User.id == user_id))
    if user is None or user.role is not Role.STREAMER or not user.is_active:
        raise InvalidInput(f"User {user_id} is not an active streamer.", field=field)
    return user


def ensure_streamer_or_centre(caller: Caller, streamer_user_id: int) -> None:
    """A streamer acts on their own sessions; centre admins (服务中心) on any."""
    if caller.is_admin:
        return
    if caller.role is Role.STREAMER and caller.id == streamer_user_id:
        return
    raise Forbidden("Only the session's streamer or centre staff may do this.")
