"""A workshop's month figures (GROUP BY over the ledger, work logs, deliveries, costs, adjustments, agreements and
the previous month's loss) and the settlement arithmetic: profit, loss carried forward, pool, what stays."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.benefits.models import (
    Adjustment,
    Agreement,
    Cost,
    CostCategory,
    LogStatus,
    PurchaseDelivery,
    Settlement,
    ShareChange,
    WorkLog,
)
from shop.benefits.services.months import first_day, last_day, previous_month, utc_bounds
from shop.ledger.models import LedgerEntry, LedgerKind
from shop.money import BP_SCALE, floor_div


@dataclass
class WorkshopFigures:
    revenue: int = 0
    labour: int = 0
    purchase: int = 0
    costs: dict[CostCategory, int] = field(default_factory=dict)
    adjustment: int = 0
    ratio_bp: int = 0
    loss_brought: int = 0


@dataclass(frozen=True)
class Outcome:
    profit: int
    loss_carried: int
    distributable: int
    pool: int
    retained: int


def settle(f: WorkshopFigures, total_shares: int) -> Outcome:
    """Profit, loss carried forward (offset first), pool (rounded down to the fen) and what stays."""
    costs = sum(f.costs.values())
    profit = f.revenue - f.labour - f.purchase - costs - f.adjustment
    net = profit - f.loss_brought
    if net <= 0:
        return Outcome(profit, -net, 0, 0, 0)
    pool = floor_div(net * f.ratio_bp, BP_SCALE) if total_shares > 0 else 0
    return Outcome(profit, 0, net, pool, net - pool)


async def gather_figures(session: AsyncSession, month: str) -> dict[int, WorkshopFigures]:
    start, end = utc_bounds(month)
    d0, d1 = first_day(month), last_day(month)
    figures: dict[int, WorkshopFigures] = defaultdict(WorkshopFigures)
    s = session
    revenue = await s.execute(
        select(LedgerEntry.workshop_id, func.sum(LedgerEntry.amount_fen))
        .where(
            LedgerEntry.kind == LedgerKind.WORKSHOP_REVENUE,
            LedgerEntry.occurred_at >= start,
            LedgerEntry.occurred_at < end,
            LedgerEntry.workshop_id.is_not(None),
        )
        .group_by(LedgerEntry.workshop_id)
    )
    for wid, total in revenue.all():
        figures[wid].revenue = int(total)
    labour = await s.execute(
        select(WorkLog.workshop_id, func.sum(WorkLog.amount_fen))
        .where(WorkLog.status == LogStatus.APPROVED, WorkLog.work_date >= d0, WorkLog.work_date <= d1)
        .group_by(WorkLog.workshop_id)
    )
    for wid, total in labour.all():
        figures[wid].labour = int(total)
    purchase = await s.execute(
        select(PurchaseDelivery.workshop_id, func.sum(PurchaseDelivery.payment_fen))
        .where(PurchaseDelivery.delivered_on >= d0, PurchaseDelivery.delivered_on <= d1)
        .group_by(PurchaseDelivery.workshop_id)
    )
    for wid, total in purchase.all():
        figures[wid].purchase = int(total)
    costs = await s.execute(
        select(Cost.workshop_id, Cost.category, func.sum(Cost.amount_fen))
        .where(Cost.incurred_on >= d0, Cost.incurred_on <= d1)
        .group_by(Cost.workshop_id, Cost.category)
    )
    for wid, category, total in costs.all():
        figures[wid].costs[CostCategory(category)] = int(total)
    adjustments = await s.execute(
        select(Adjustment.workshop_id, func.sum(Adjustment.amount_fen))
        .where(Adjustment.month == month, Adjustment.workshop_id.is_not(None))
        .group_by(Adjustment.workshop_id)
    )
    for wid, total in adjustments.all():
        figures[wid].adjustment = int(total)
    latest = (
        select(Agreement.workshop_id, func.max(Agreement.effective_month).label("m"))
        .where(Agreement.effective_month <= month)
        .group_by(Agreement.workshop_id)
        .subquery()
    )
    agreements = await s.execute(
        select(Agreement.workshop_id, Agreement.dividend_ratio_bp).join(
            latest, (latest.c.workshop_id == Agreement.workshop_id) & (latest.c.m == Agreement.effective_month)
        )
    )
    for wid, ratio in agreements.all():
        figures[wid].ratio_bp = int(ratio)
    losses = await s.execute(
        select(Settlement.workshop_id, Settlement.loss_carried_fen).where(
            Settlement.month == previous_month(month), Settlement.loss_carried_fen > 0
        )
    )
    for wid, loss in losses.all():
        figures[wid].loss_brought = int(loss)
    return figures


async def holdings_at_month_end(session: AsyncSession, on: dt.date) -> dict[int, list[tuple[int, int]]]:
    rows = await session.execute(
        select(ShareChange.workshop_id, ShareChange.member_id, func.sum(ShareChange.delta_shares))
        .where(ShareChange.effective_on <= on)
        .group_by(ShareChange.workshop_id, ShareChange.member_id)
        .having(func.sum(ShareChange.delta_shares) > 0)
        .order_by(ShareChange.workshop_id, ShareChange.member_id)
    )
    holdings: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for wid, mid, shares in rows.all():
        holdings[wid].append((int(mid), int(shares)))
    return holdings
