"""Equity dividend (入股分红) inputs: the share register with history, agreements, costs; and adjustments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.audit import record
from shop.auth import Caller, ensure_workshop_scope
from shop.benefits.models import Adjustment, Agreement, Cost, Member, ShareChange, StatementLine
from shop.benefits.schemas import (
    AdjustmentIn,
    AgreementIn,
    CostIn,
    CreatedOut,
    HoldingOut,
    RegisterOut,
    ShareChangeIn,
)
from shop.benefits.services.members import get_or_404, require_workshop
from shop.benefits.services.months import ensure_open, first_open_after, is_closed, month_of, parse_month
from shop.errors import Conflict, InvalidInput


async def holdings_at(session: AsyncSession, workshop_id: int, on: dt.date) -> list[tuple[int, int]]:
    """(member_id, shares) held at the end of day `on`, holders with shares only, by member id."""
    rows = await session.execute(
        select(ShareChange.member_id, func.sum(ShareChange.delta_shares))
        .where(ShareChange.workshop_id == workshop_id, ShareChange.effective_on <= on)
        .group_by(ShareChange.member_id)
        .having(func.sum(ShareChange.delta_shares) > 0)
        .order_by(ShareChange.member_id)
    )
    return [(int(m), int(s)) for m, s in rows.all()]


class EquityService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def change_shares(self, caller: Caller, data: ShareChangeIn) -> CreatedOut:
        await require_workshop(self.session, data.workshop_id)
        await get_or_404(self.session, Member, data.member_id, "member", "member_id")
        if data.delta_shares == 0:
            raise InvalidInput("A share change must add or remove shares.", field="delta_shares")
        await ensure_open(self.session, month_of(data.effective_on), "A share change")
        # The holder's balance must stay non-negative at every date from this change on.
        changes = (
            await self.session.execute(
                select(ShareChange.effective_on, ShareChange.delta_shares).where(
                    ShareChange.workshop_id == data.workshop_id, ShareChange.member_id == data.member_id
                )
            )
        ).all()
        timeline = sorted([*changes, (data.effective_on, data.delta_shares)], key=lambda c: c[0])
        balance = 0
        for day, delta in timeline:
            balance += delta
            if day >= data.effective_on and balance < 0:
                raise InvalidInput(f"The holder would hold {balance} shares on {day}.", field="delta_shares")
        change = ShareChange(
            workshop_id=data.workshop_id,
            member_id=data.member_id,
            effective_on=data.effective_on,
            delta_shares=data.delta_shares,
            contribution=data.contribution,
            land_mu_centi=data.land_mu_centi,
            money_fen=data.money_fen,
            note=data.note,
            recorded_by=caller.id,
        )
        self.session.add(change)
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="benefit_share_change",
            entity_id=change.id,
            changes={"delta_shares": data.delta_shares, "effective_on": data.effective_on.isoformat()},
        )
        await self.session.commit()
        return CreatedOut(id=change.id, month=month_of(data.effective_on))

    async def register(self, workshop_id: int, on: dt.date) -> RegisterOut:
        await require_workshop(self.session, workshop_id)
        holdings = await holdings_at(self.session, workshop_id, on)
        return RegisterOut(
            workshop_id=workshop_id,
            on=on,
            total_shares=sum(s for _, s in holdings),
            holdings=[HoldingOut(member_id=m, shares=s) for m, s in holdings],
        )

    async def set_agreement(self, caller: Caller, data: AgreementIn) -> CreatedOut:
        await require_workshop(self.session, data.workshop_id)
        month = parse_month(data.effective_month, "effective_month")
        await ensure_open(self.session, month, "An agreement change")
        agreement = await self.session.scalar(
            select(Agreement).where(Agreement.workshop_id == data.workshop_id, Agreement.effective_month == month)
        )
        if agreement is None:
            agreement = Agreement(
                workshop_id=data.workshop_id,
                effective_month=month,
                dividend_ratio_bp=data.dividend_ratio_bp,
                service_fee_bp=data.service_fee_bp,
            )
            self.session.add(agreement)
        else:
            agreement.dividend_ratio_bp, agreement.service_fee_bp = data.dividend_ratio_bp, data.service_fee_bp
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="set",
            entity="benefit_agreement",
            entity_id=agreement.id,
            changes={
                "month": month,
                "dividend_ratio_bp": data.dividend_ratio_bp,
                "service_fee_bp": data.service_fee_bp,
            },
        )
        await self.session.commit()
        return CreatedOut(id=agreement.id, month=month)

    async def record_cost(self, caller: Caller, data: CostIn) -> CreatedOut:
        await require_workshop(self.session, data.workshop_id)
        ensure_workshop_scope(caller, data.workshop_id)
        await ensure_open(self.session, month_of(data.incurred_on), "A cost")
        cost = Cost(
            workshop_id=data.workshop_id,
            incurred_on=data.incurred_on,
            category=data.category,
            amount_fen=data.amount_fen,
            note=data.note,
            recorded_by=caller.id,
        )
        self.session.add(cost)
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="benefit_cost",
            entity_id=cost.id,
            changes={"amount_fen": data.amount_fen, "category": data.category.value},
        )
        await self.session.commit()
        return CreatedOut(id=cost.id, month=month_of(data.incurred_on))

    async def adjust(self, caller: Caller, data: AdjustmentIn) -> CreatedOut:
        """A correction of a closed month, paid in the first open month after it (never an edit of the closed one)."""
        corrects = parse_month(data.corrects_month, "corrects_month")
        await get_or_404(self.session, Member, data.member_id, "member", "member_id")
        if data.workshop_id is not None:
            await require_workshop(self.session, data.workshop_id)
        if data.amount_fen == 0:
            raise InvalidInput("An adjustment must have a non-zero amount.", field="amount_fen")
        if not await is_closed(self.session, corrects):
            raise Conflict(
                f"{corrects} is still open; change its records directly instead of adjusting.", field="corrects_month"
            )
        if data.corrects_line_id is not None:
            line = await get_or_404(
                self.session, StatementLine, data.corrects_line_id, "statement line", "corrects_line_id"
            )
            if line.month != corrects or line.member_id != data.member_id:
                raise InvalidInput(
                    "That line is not on this member's statement for that month.", field="corrects_line_id"
                )
        month = await first_open_after(self.session, corrects)
        await ensure_open(self.session, month, "An adjustment")
        adjustment = Adjustment(
            month=month,
            corrects_month=corrects,
            corrects_line_id=data.corrects_line_id,
            member_id=data.member_id,
            workshop_id=data.workshop_id,
            amount_fen=data.amount_fen,
            reason=data.reason,
            recorded_by=caller.id,
        )
        self.session.add(adjustment)
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="benefit_adjustment",
            entity_id=adjustment.id,
            changes={"month": month, "amount_fen": data.amount_fen},
        )
        await self.session.commit()
        return CreatedOut(id=adjustment.id, month=month)
