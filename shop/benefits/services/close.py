"""Month close (月结): every workshop's settlement and every member's statement, in one transaction.

Set-based: the figures come from GROUP BY queries over the ledger, the work logs, the deliveries and the costs, and
the statement lines are written with INSERT ... SELECT; Python only loops over workshops and over the holdings at
month end (to split each dividend pool with `shop.money.allocate`). Closing a closed month changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import String, case, func, insert, literal, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop.audit import record
from shop.benefits.models import (
    Adjustment,
    BenefitMonth,
    CostCategory,
    LineKind,
    LogStatus,
    Member,
    PurchaseContract,
    PurchaseDelivery,
    Settlement,
    Statement,
    StatementLine,
    WorkLog,
    WorkUnit,
)
from shop.benefits.schemas import MonthOut
from shop.benefits.services.figures import WorkshopFigures, gather_figures, holdings_at_month_end, settle
from shop.benefits.services.months import (
    first_day,
    last_day,
    latest_closed,
    lock_month,
    next_month,
    parse_month,
    utc_bounds,
)
from shop.errors import Conflict
from shop.ledger.models import LedgerEntry, LedgerKind
from shop.money import allocate

Progress = Callable[[str, int, int], None]
STEPS = 8


def month_out(row: BenefitMonth, already_closed: bool = False) -> MonthOut:
    return MonthOut(
        month=row.month,
        closed=True,
        closed_at=row.closed_at,
        workshops=row.workshops,
        statements=row.statements,
        labour_fen=row.labour_fen,
        purchase_fen=row.purchase_fen,
        dividend_fen=row.dividend_fen,
        commission_fen=row.commission_fen,
        adjustment_fen=row.adjustment_fen,
        paid_out_fen=row.paid_out_fen,
        unmatched_commission_fen=row.unmatched_commission_fen,
        already_closed=already_closed,
    )


class CloseService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def status(self, month: str) -> MonthOut:
        month = parse_month(month)
        row = await self.session.scalar(select(BenefitMonth).where(BenefitMonth.month == month))
        return month_out(row) if row else MonthOut(month=month, closed=False)

    async def close(self, month: str, actor_id: int | None, progress: Progress | None = None) -> MonthOut:
        month = parse_month(month)
        tick = progress or (lambda _s, _d, _t: None)
        await lock_month(self.session, month, exclusive=True)
        existing = await self.session.scalar(select(BenefitMonth).where(BenefitMonth.month == month))
        if existing is not None:
            out = month_out(existing, already_closed=True)
            await self.session.rollback()
            tick("already closed", STEPS, STEPS)
            return out
        latest = await latest_closed(self.session)
        if latest is not None and latest > month:
            raise Conflict(f"{latest} is already closed; months close in order, so {month} can no longer close.")
        if latest is not None and next_month(latest) != month:
            raise Conflict(f"Close {next_month(latest)} first: months close in order after {latest}.")
        closing = BenefitMonth(month=month, closed_by=actor_id, closed_at=dt.datetime.now(dt.UTC))
        self.session.add(closing)
        try:
            await self.session.flush()  # claims the month: a concurrent close fails on the unique month
        except IntegrityError:
            await self.session.rollback()
            row = await self.session.scalar(select(BenefitMonth).where(BenefitMonth.month == month))
            if row is None:
                raise
            return month_out(row, already_closed=True)
        tick("workshop figures", 1, STEPS)
        figures = await gather_figures(self.session, month)
        tick("share register", 2, STEPS)
        holdings = await holdings_at_month_end(self.session, last_day(month))
        tick("settlements and dividends", 3, STEPS)
        dividend_lines = await self._settle(month, figures, holdings)
        tick("labour and purchase lines", 4, STEPS)
        await self._source_lines(month)
        tick("commission and adjustment lines", 5, STEPS)
        unmatched = await self._commission_lines(month)
        if dividend_lines:
            await self.session.execute(insert(StatementLine), dividend_lines)
        tick("statements", 6, STEPS)
        await self._statements(month)
        tick("month totals", 7, STEPS)
        await self._totals(closing, len(figures), unmatched)
        record(
            self.session,
            actor_id=actor_id,
            action="close",
            entity="benefit_month",
            entity_id=closing.id,
            changes={"month": month, "paid_out_fen": closing.paid_out_fen},
        )
        await self.session.commit()
        tick("closed", STEPS, STEPS)
        return month_out(closing)

    async def _settle(
        self, month: str, figures: dict[int, WorkshopFigures], holdings: dict[int, list[tuple[int, int]]]
    ) -> list[dict[str, object]]:
        for wid in holdings:  # a workshop with holders gets a settlement even in a quiet month
            figures.setdefault(wid, WorkshopFigures())
        settlements, lines = [], []
        for wid in sorted(figures):
            f = figures[wid]
            holders = holdings.get(wid, [])
            total_shares = sum(s for _, s in holders)
            out = settle(f, total_shares)
            settlements.append(
                dict(
                    month=month,
                    workshop_id=wid,
                    revenue_fen=f.revenue,
                    labour_fen=f.labour,
                    purchase_fen=f.purchase,
                    materials_fen=f.costs.get(CostCategory.MATERIALS, 0),
                    rent_fen=f.costs.get(CostCategory.RENT, 0),
                    other_cost_fen=f.costs.get(CostCategory.OTHER, 0),
                    adjustment_fen=f.adjustment,
                    profit_fen=out.profit,
                    loss_brought_fen=f.loss_brought,
                    loss_carried_fen=out.loss_carried,
                    distributable_fen=out.distributable,
                    dividend_ratio_bp=f.ratio_bp,
                    pool_fen=out.pool,
                    dividend_paid_fen=out.pool,
                    retained_fen=out.retained,
                    total_shares=total_shares,
                )
            )
            if out.pool > 0:
                parts = allocate(out.pool, [s for _, s in holders], keys=[m for m, _ in holders])
                for (member_id, shares), amount in zip(holders, parts, strict=True):
                    lines.append(
                        dict(
                            month=month,
                            member_id=member_id,
                            workshop_id=wid,
                            kind=LineKind.DIVIDEND,
                            source_id=None,
                            on_date=last_day(month),
                            label="入股分红",
                            quantity=shares,
                            rate=total_shares,
                            reference=out.pool,
                            amount_fen=amount,
                        )
                    )
        if settlements:
            await self.session.execute(insert(Settlement), settlements)
        return lines

    async def _source_lines(self, month: str) -> None:
        d0, d1 = first_day(month), last_day(month)
        m = literal(month, String)
        labour = select(
            m,
            WorkLog.member_id,
            WorkLog.workshop_id,
            literal(LineKind.LABOUR.value, String),
            WorkLog.id,
            WorkLog.work_date,
            WorkLog.task,
            WorkLog.quantity,
            WorkLog.rate_fen,
            case((WorkLog.unit == WorkUnit.HOUR, 1), else_=0),
            WorkLog.amount_fen,
        ).where(WorkLog.status == LogStatus.APPROVED, WorkLog.work_date >= d0, WorkLog.work_date <= d1)
        purchase = (
            select(
                m,
                PurchaseDelivery.member_id,
                PurchaseDelivery.workshop_id,
                literal(LineKind.PURCHASE.value, String),
                PurchaseDelivery.id,
                PurchaseDelivery.delivered_on,
                PurchaseContract.produce,
                PurchaseDelivery.grams,
                PurchaseDelivery.price_fen_per_kg,
                PurchaseDelivery.market_fen_per_kg,
                PurchaseDelivery.payment_fen,
            )
            .join(PurchaseContract, PurchaseContract.id == PurchaseDelivery.contract_id)
            .where(PurchaseDelivery.delivered_on >= d0, PurchaseDelivery.delivered_on <= d1)
        )
        adjustments = select(
            m,
            Adjustment.member_id,
            Adjustment.workshop_id,
            literal(LineKind.ADJUSTMENT.value, String),
            Adjustment.id,
            null(),
            func.substr(Adjustment.corrects_month + " " + Adjustment.reason, 1, 120),
            literal(0),
            literal(0),
            func.coalesce(Adjustment.corrects_line_id, 0),
            Adjustment.amount_fen,
        ).where(Adjustment.month == month)
        for query in (labour, purchase, adjustments):
            await self.session.execute(insert(StatementLine).from_select(_LINE_COLUMNS, query))

    async def _commission_lines(self, month: str) -> int:
        """Commission lines per streamer and live session; returns the commission of streamers with no member."""
        start, end = utc_bounds(month)
        in_month = (
            LedgerEntry.kind == LedgerKind.STREAMER_COMMISSION,
            LedgerEntry.occurred_at >= start,
            LedgerEntry.occurred_at < end,
            LedgerEntry.streamer_user_id.is_not(None),
        )
        query = (
            select(
                literal(month, String),
                Member.id,
                null(),
                literal(LineKind.COMMISSION.value, String),
                LedgerEntry.live_session_id,
                null(),
                literal("直播佣金", String),
                func.count(func.distinct(LedgerEntry.order_id)),
                literal(0),
                literal(0),
                func.sum(LedgerEntry.amount_fen),
            )
            .join(Member, Member.user_id == LedgerEntry.streamer_user_id)
            .where(*in_month)
            .group_by(Member.id, LedgerEntry.live_session_id)
        )
        await self.session.execute(insert(StatementLine).from_select(_LINE_COLUMNS, query))
        unmatched = await self.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                *in_month, ~select(Member.id).where(Member.user_id == LedgerEntry.streamer_user_id).exists()
            )
        )
        return int(unmatched or 0)

    async def _statements(self, month: str) -> None:
        per_member = (
            select(
                literal(month, String),
                StatementLine.member_id,
                func.count(),
                func.sum(StatementLine.amount_fen),
                func.sum(StatementLine.amount_fen),
            )
            .where(StatementLine.month == month)
            .group_by(StatementLine.member_id)
        )
        await self.session.execute(
            insert(Statement).from_select(["month", "member_id", "line_count", "total_fen", "ytd_fen"], per_member)
        )
        earlier = Statement.__table__.alias("earlier")
        before = (
            select(func.coalesce(func.sum(earlier.c.total_fen), 0))
            .where(
                earlier.c.member_id == Statement.member_id,
                earlier.c.month >= month[:4] + "-01",
                earlier.c.month < month,
            )
            .scalar_subquery()
        )
        await self.session.execute(
            update(Statement).where(Statement.month == month).values(ytd_fen=Statement.total_fen + before)
        )

    async def _totals(self, closing: BenefitMonth, workshops: int, unmatched: int) -> None:
        rows = await self.session.execute(
            select(StatementLine.kind, func.sum(StatementLine.amount_fen))
            .where(StatementLine.month == closing.month)
            .group_by(StatementLine.kind)
        )
        by_kind = {LineKind(k): int(v) for k, v in rows.all()}
        closing.labour_fen = by_kind.get(LineKind.LABOUR, 0)
        closing.purchase_fen = by_kind.get(LineKind.PURCHASE, 0)
        closing.dividend_fen = by_kind.get(LineKind.DIVIDEND, 0)
        closing.commission_fen = by_kind.get(LineKind.COMMISSION, 0)
        closing.adjustment_fen = by_kind.get(LineKind.ADJUSTMENT, 0)
        closing.paid_out_fen = sum(by_kind.values())
        closing.workshops = workshops
        closing.statements = int(
            await self.session.scalar(
                select(func.count()).select_from(Statement).where(Statement.month == closing.month)
            )
            or 0
        )
        closing.unmatched_commission_fen = unmatched
        await self.session.flush()


_LINE_COLUMNS = [
    "month",
    "member_id",
    "workshop_id",
    "kind",
    "source_id",
    "on_date",
    "label",
    "quantity",
    "rate",
    "reference",
    "amount_fen",
]
