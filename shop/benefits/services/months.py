"""Asia/Shanghai calendar months and the freeze of closed months (结账后冻结).

Every write that would change a month's figures calls `ensure_open` in its own transaction. On PostgreSQL the
writer takes a shared advisory lock on the month and the close takes it exclusively, so a write cannot slip in
between the close's reads and its commit; SQLite serialises writers at BEGIN IMMEDIATE already.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shop.benefits.models import BenefitMonth
from shop.errors import Conflict, InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(value: str, field: str = "month") -> str:
    if not isinstance(value, str) or not _MONTH.match(value) or not 2000 <= int(value[:4]) <= 2999:
        raise InvalidInput(f"{value!r} is not a month like 2026-10.", field=field)
    return value


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def first_day(month: str) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:7]), 1)


def next_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y + (m == 12):04d}-{m % 12 + 1:02d}"


def previous_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}"


def last_day(month: str) -> dt.date:
    return first_day(next_month(month)) - dt.timedelta(days=1)


def utc_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the Asia/Shanghai month, in UTC (ledger rows are stored in UTC)."""
    start = dt.datetime.combine(first_day(month), dt.time(), SHANGHAI).astimezone(dt.UTC)
    end = dt.datetime.combine(first_day(next_month(month)), dt.time(), SHANGHAI).astimezone(dt.UTC)
    return start, end


def today_shanghai() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def _lock_key(month: str) -> int:
    return zlib.crc32(f"benefit-month:{month}".encode()) - 2**31


async def lock_month(session: AsyncSession, month: str, *, exclusive: bool) -> None:
    if session.bind.dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        await session.execute(text(f"SELECT {fn}(:k)"), {"k": _lock_key(month)})


async def is_closed(session: AsyncSession, month: str) -> bool:
    return (await session.scalar(select(BenefitMonth.id).where(BenefitMonth.month == month))) is not None


async def ensure_open(session: AsyncSession, month: str, what: str = "This change") -> None:
    """Refuse (409) a write into a closed month; corrections go in as adjustments of the next open month."""
    await lock_month(session, month, exclusive=False)
    if await is_closed(session, month):
        raise Conflict(
            f"{what} falls in {month}, which is closed; record an adjustment in an open month instead.",
            extra={"closed_month": month},
        )


async def latest_closed(session: AsyncSession) -> str | None:
    return await session.scalar(select(BenefitMonth.month).order_by(BenefitMonth.month.desc()).limit(1))


async def first_open_after(session: AsyncSession, month: str) -> str:
    """The earliest month after `month` that is not closed (where a correction of `month` is paid)."""
    closed = set((await session.scalars(select(BenefitMonth.month).where(BenefitMonth.month > month))).all())
    candidate = next_month(month)
    while candidate in closed:
        candidate = next_month(candidate)
    return candidate
