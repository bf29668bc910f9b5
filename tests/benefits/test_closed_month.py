"""A closed month is frozen: every write path into it is refused (409) and changes nothing; closing twice changes
nothing; a correction is an adjustment line in the next open month that names what it corrects."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.benefits.models import Agreement, Contribution, CostCategory, LineKind, MemberKind, Settlement, StatementLine
from shop.benefits.schemas import (
    AdjustmentIn,
    AgreementIn,
    ContractIn,
    CostIn,
    DeliveryIn,
    ShareChangeIn,
    WorkLogIn,
)
from shop.benefits.services.close import CloseService
from shop.benefits.services.equity import EquityService
from shop.benefits.services.labour import LabourService
from shop.benefits.services.purchase import PurchaseService
from shop.benefits.services.statements import StatementService
from shop.errors import Conflict
from tests.benefits.helpers import admin_caller, counts, member
from tests.benefits.test_seed_examples import brown_sugar_october

D = dt.date


async def test_every_write_into_a_closed_month_is_refused_and_changes_nothing(session: AsyncSession) -> None:
    # given a closed October with a pending work log and a contract valid in October
    adm = await admin_caller(session)
    ids = await brown_sugar_october(session)
    ws, ye = ids["workshop"], ids["ye"]
    contract = await PurchaseService(session).create_contract(
        adm,
        ContractIn(
            workshop_id=ws,
            member_id=ye,
            produce="甘蔗",
            valid_from=D(2026, 10, 1),
            valid_to=D(2026, 12, 31),
            floor_fen_per_kg=100,
        ),
    )
    await CloseService(session).close("2026-10", adm.id)
    before = await counts(session)
    settlement_before = await StatementService(session).settlement("2026-10", ws)
    labour, equity = LabourService(session), EquityService(session)
    attempts = [
        lambda: labour.record(
            adm, WorkLogIn(member_id=ye, workshop_id=ws, work_date=D(2026, 10, 30), task="削蔗", quantity=5)
        ),
        lambda: labour.review(adm, ids["pending"], approve=True),
        lambda: labour.review(adm, ids["pending"], approve=False),
        lambda: PurchaseService(session).record_delivery(
            adm, DeliveryIn(contract_id=contract.id, delivered_on=D(2026, 10, 15), grams=1000, market_fen_per_kg=90)
        ),
        lambda: equity.record_cost(
            adm, CostIn(workshop_id=ws, incurred_on=D(2026, 10, 31), category=CostCategory.MATERIALS, amount_fen=1)
        ),
        lambda: equity.change_shares(
            adm,
            ShareChangeIn(
                workshop_id=ws,
                member_id=ye,
                effective_on=D(2026, 10, 31),
                delta_shares=10,
                contribution=Contribution.MONEY,
            ),
        ),
        lambda: equity.set_agreement(
            adm, AgreementIn(workshop_id=ws, effective_month="2026-10", dividend_ratio_bp=9000, service_fee_bp=0)
        ),
    ]
    for attempt in attempts:
        # when
        with pytest.raises(Conflict) as refused:
            await attempt()
        await session.rollback()
        # then
        assert "2026-10, which is closed" in refused.value.detail
    csv_text = f"member_id,workshop_id,work_date,task,quantity\n{ye},{ws},2026-10-02,削蔗,3\n"
    report = await labour.import_csv(adm, csv_text)
    assert report.imported == 0 and report.rejected[0].row == 2 and "closed" in report.rejected[0].errors[0]
    assert await counts(session) == before
    assert await StatementService(session).settlement("2026-10", ws) == settlement_before


async def test_closing_twice_changes_nothing(session: AsyncSession) -> None:
    # given
    adm = await admin_caller(session)
    await brown_sugar_october(session)
    first = await CloseService(session).close("2026-10", adm.id)
    before = await counts(session)
    # when
    again = await CloseService(session).close("2026-10", adm.id)
    # then
    assert again.already_closed and not first.already_closed
    assert (again.paid_out_fen, again.statements, again.closed_at) == (
        first.paid_out_fen,
        first.statements,
        first.closed_at,
    )
    assert await counts(session) == before


async def test_months_close_in_order(session: AsyncSession) -> None:
    adm = await admin_caller(session)
    await CloseService(session).close("2026-09", adm.id)
    with pytest.raises(Conflict, match="Close 2026-10 first"):
        await CloseService(session).close("2026-11", adm.id)
    await session.rollback()
    await CloseService(session).close("2026-10", adm.id)
    with pytest.raises(Conflict, match="months close in order"):
        await CloseService(session).close("2026-08", adm.id)


async def test_a_correction_is_an_adjustment_line_in_the_next_open_month(session: AsyncSession) -> None:
    # given October closed, and a forgotten work log of 金存礼 worth 52 yuan
    adm = await admin_caller(session)
    ids = await brown_sugar_october(session)
    await CloseService(session).close("2026-10", adm.id)
    oct_line = await session.scalar(select(StatementLine).where(StatementLine.member_id == ids["jin_cunli"]))
    assert oct_line is not None
    # when
    created = await EquityService(session).adjust(
        adm,
        AdjustmentIn(
            member_id=ids["jin_cunli"],
            corrects_month="2026-10",
            amount_fen=5200,
            reason="漏记包装 20 件",
            workshop_id=ids["workshop"],
            corrects_line_id=oct_line.id,
        ),
    )
    await CloseService(session).close("2026-11", adm.id)
    # then it is paid in November, refers to the October line, and is a cost of the workshop in November
    assert created.month == "2026-11"
    nov = await StatementService(session).statement("2026-11", ids["jin_cunli"])
    assert [(ln.kind, ln.amount_fen, ln.reference) for ln in nov.lines] == [(LineKind.ADJUSTMENT, 5200, oct_line.id)]
    assert nov.lines[0].description == f"更正 2026-10 漏记包装 20 件（更正第 {oct_line.id} 行）"
    assert (nov.total_fen, nov.ytd_fen) == (5200, 3_120_000 + 5200)
    settlement = await session.scalar(
        select(Settlement).where(Settlement.month == "2026-11", Settlement.workshop_id == ids["workshop"])
    )
    assert settlement is not None and settlement.adjustment_fen == 5200
    october = await StatementService(session).statement("2026-10", ids["jin_cunli"])
    assert october.total_fen == 3_120_000  # the closed month is untouched


async def test_an_adjustment_of_an_open_month_is_refused(session: AsyncSession) -> None:
    adm = await admin_caller(session)
    holder_id = (await member(session, "农户甲", MemberKind.HOUSEHOLD)).id
    await session.commit()
    before = await counts(session)
    with pytest.raises(Conflict, match="still open"):
        await EquityService(session).adjust(
            adm, AdjustmentIn(member_id=holder_id, corrects_month="2026-10", amount_fen=100, reason="x")
        )
    await session.rollback()
    assert await counts(session) == before
    assert await session.scalar(select(Agreement.id)) is None
