"""Builders for benefit tests: rows inserted the way the services (or, for the ledger, the shop) write them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from shop.auth import Caller
from shop.benefits.models import (
    Adjustment,
    Agreement,
    BenefitMonth,
    Cost,
    LabourRate,
    Member,
    MemberKind,
    PurchaseContract,
    PurchaseDelivery,
    Settlement,
    ShareChange,
    Statement,
    StatementLine,
    WorkLog,
)
from shop.ledger.models import LedgerEntry, LedgerKind

SH = ZoneInfo("Asia/Shanghai")
BENEFIT_TABLES = (
    Member,
    LabourRate,
    WorkLog,
    PurchaseContract,
    PurchaseDelivery,
    ShareChange,
    Agreement,
    Cost,
    Adjustment,
    BenefitMonth,
    Settlement,
    StatementLine,
    Statement,
    LedgerEntry,
)


async def admin_caller(session: AsyncSession) -> Caller:
    from tests import factories

    user = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    return Caller(id=user.id, username=user.username, role=Role.CENTRE_ADMIN)


def sh(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> dt.datetime:
    """A moment in Asia/Shanghai, as the UTC datetime the ledger stores."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH).astimezone(dt.UTC)


async def member(
    session: AsyncSession, name: str, kind: MemberKind = MemberKind.WORKER, user_id: int | None = None
) -> Member:
    m = Member(kind=kind, name=name, represented_by=name, user_id=user_id)
    session.add(m)
    await session.flush()
    return m


def revenue(workshop_id: int, amount_fen: int, at: dt.datetime, order_id: int = 1) -> LedgerEntry:
    return LedgerEntry(
        kind=LedgerKind.WORKSHOP_REVENUE,
        amount_fen=amount_fen,
        occurred_at=at,
        order_id=order_id,
        order_line_id=order_id,
        workshop_id=workshop_id,
    )


def commission(streamer_user_id: int, amount_fen: int, at: dt.datetime, session_id: int, order_id: int) -> LedgerEntry:
    return LedgerEntry(
        kind=LedgerKind.STREAMER_COMMISSION,
        amount_fen=amount_fen,
        occurred_at=at,
        order_id=order_id,
        order_line_id=order_id,
        streamer_user_id=streamer_user_id,
        live_session_id=session_id,
    )


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows in every benefit table (and the ledger): a write that was refused must leave these unchanged."""
    out = {}
    for model in BENEFIT_TABLES:
        out[model.__tablename__] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    await session.rollback()  # a read: release SQLite's lock so the app can write
    return out
