"""Worked examples from the seed documents, settled to the fen on SQLite and PostgreSQL.

知味红·红糖工坊 (Qingtian, 上坪村): the village collective holds shares (it received 80,000 yuan in dividends) and
villagers earn by labour (280,000 yuan; the seed names 金存礼 31,200 yuan and 金水英 18,000 yuan). 薯香共富工坊
(Shengzhou): sweet potatoes bought at 0.2 yuan/kg above the wholesale price under "合同+保护价".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.benefits.models import (
    Agreement,
    Contribution,
    CostCategory,
    LineKind,
    MemberKind,
    Settlement,
    StatementLine,
    WorkUnit,
)
from shop.benefits.schemas import ContractIn, CostIn, DeliveryIn, RateIn, ShareChangeIn, WorkLogIn
from shop.benefits.services.close import CloseService
from shop.benefits.services.equity import EquityService
from shop.benefits.services.labour import LabourService
from shop.benefits.services.purchase import PurchaseService, delivery_figures
from shop.benefits.services.statements import StatementService
from tests import factories
from tests.benefits.helpers import admin_caller, member, revenue, sh

D = dt.date


async def brown_sugar_october(session: AsyncSession) -> dict[str, int]:
    """Given the brown-sugar workshop's October 2026: revenue 540,000 yuan, labour 280,000, costs 60,000."""
    adm = await admin_caller(session)
    _, _, village = await factories.region_tree(session, "青田县", "鹤塘乡", "上坪村")
    ws = await factories.workshop(session, village, "知味红·红糖工坊", benefit_models=["labour", "equity"])
    collective = await member(session, "上坪村股份经济合作社", MemberKind.COLLECTIVE)
    household = await member(session, "叶正荣", MemberKind.HOUSEHOLD)
    jin_cunli = await member(session, "金存礼")
    jin_shuiying = await member(session, "金水英")
    ye = await member(session, "叶小梅")
    session.add(Agreement(workshop_id=ws.id, effective_month="2026-01", dividend_ratio_bp=5000, service_fee_bp=500))
    await session.commit()
    equity, labour = EquityService(session), LabourService(session)
    await equity.change_shares(
        adm,
        ShareChangeIn(
            workshop_id=ws.id,
            member_id=collective.id,
            effective_on=D(2026, 1, 1),
            delta_shares=80,
            contribution=Contribution.LAND,
            land_mu_centi=8000,
        ),
    )
    await equity.change_shares(
        adm,
        ShareChangeIn(
            workshop_id=ws.id,
            member_id=household.id,
            effective_on=D(2026, 10, 31),
            delta_shares=20,
            contribution=Contribution.MONEY,
            money_fen=2_000_000,
        ),
    )
    # bought in after month end: not counted for October
    await equity.change_shares(
        adm,
        ShareChangeIn(
            workshop_id=ws.id,
            member_id=ye.id,
            effective_on=D(2026, 11, 1),
            delta_shares=50,
            contribution=Contribution.TECHNOLOGY,
        ),
    )
    await labour.set_rate(adm, ws.id, RateIn(task="包装", unit=WorkUnit.PIECE, rate_fen=2600))
    await labour.set_rate(adm, ws.id, RateIn(task="熬糖", unit=WorkUnit.HOUR, rate_fen=2500))
    await labour.set_rate(adm, ws.id, RateIn(task="削蔗", unit=WorkUnit.PIECE, rate_fen=2000))
    logs = [
        WorkLogIn(member_id=jin_cunli.id, workshop_id=ws.id, work_date=D(2026, 10, 8), task="包装", quantity=1200),
        WorkLogIn(member_id=jin_shuiying.id, workshop_id=ws.id, work_date=D(2026, 10, 1), task="熬糖", quantity=43_200),
        WorkLogIn(member_id=ye.id, workshop_id=ws.id, work_date=D(2026, 10, 31), task="削蔗", quantity=11_540),
    ]
    for log in logs:
        out = await labour.record(adm, log)
        await labour.review(adm, out.id, approve=True)
    pending = await labour.record(
        adm, WorkLogIn(member_id=ye.id, workshop_id=ws.id, work_date=D(2026, 10, 9), task="削蔗", quantity=10)
    )
    rejected = await labour.record(
        adm, WorkLogIn(member_id=ye.id, workshop_id=ws.id, work_date=D(2026, 10, 9), task="削蔗", quantity=99)
    )
    await labour.review(adm, rejected.id, approve=False)
    await equity.record_cost(
        adm,
        CostIn(workshop_id=ws.id, incurred_on=D(2026, 10, 3), category=CostCategory.MATERIALS, amount_fen=5_000_000),
    )
    await equity.record_cost(
        adm, CostIn(workshop_id=ws.id, incurred_on=D(2026, 10, 1), category=CostCategory.RENT, amount_fen=1_000_000)
    )
    session.add_all(
        [
            revenue(ws.id, 30_000_000, sh(2026, 10, 1, 0, 0), 1),  # the first minute of October in Shanghai
            revenue(ws.id, 24_100_000, sh(2026, 10, 31, 23, 59), 2),  # the last minute of October in Shanghai
            revenue(ws.id, -100_000, sh(2026, 10, 20), 3),  # a refund
            revenue(ws.id, 777_777, sh(2026, 9, 30, 23, 59), 4),  # September in Shanghai
            revenue(ws.id, 888_888, sh(2026, 11, 1, 0, 0), 5),  # November in Shanghai (still Oct 31 in UTC)
        ]
    )
    await session.commit()
    return {
        "workshop": ws.id,
        "collective": collective.id,
        "household": household.id,
        "jin_cunli": jin_cunli.id,
        "jin_shuiying": jin_shuiying.id,
        "ye": ye.id,
        "pending": pending.id,
    }


async def test_brown_sugar_workshop_pays_collective_80000_yuan_and_280000_yuan_labour(session: AsyncSession) -> None:
    adm = await admin_caller(session)
    # given
    ids = await brown_sugar_october(session)
    # when
    month = await CloseService(session).close("2026-10", adm.id)
    # then: revenue 540,000 − labour 280,000 − materials 50,000 − rent 10,000 = 200,000 profit; 50 % is the pool
    report = await StatementService(session).settlement("2026-10", ids["workshop"])
    assert (report.revenue_fen, report.labour_fen, report.materials_fen, report.rent_fen) == (
        54_000_000,
        28_000_000,
        5_000_000,
        1_000_000,
    )
    assert (report.profit_fen, report.loss_brought_fen, report.distributable_fen) == (20_000_000, 0, 20_000_000)
    assert (report.pool_fen, report.retained_fen, report.total_shares) == (10_000_000, 10_000_000, 100)
    paid = {(p.name, p.kind): p.amount_fen for p in report.payees}
    assert paid == {
        ("金存礼", LineKind.LABOUR): 3_120_000,
        ("金水英", LineKind.LABOUR): 1_800_000,
        ("叶小梅", LineKind.LABOUR): 23_080_000,
        ("上坪村股份经济合作社", LineKind.DIVIDEND): 8_000_000,
        ("叶正荣", LineKind.DIVIDEND): 2_000_000,
    }
    assert month.labour_fen == 28_000_000 and month.dividend_fen == 10_000_000
    assert month.paid_out_fen == 38_000_000 and month.statements == 5
    collective = await StatementService(session).statement("2026-10", ids["collective"])
    assert collective.total_fen == 8_000_000 and collective.ytd_fen == 8_000_000
    assert collective.lines[0].description == "知味红·红糖工坊：持股 80/100 股，分红池 ¥100,000.00"
    assert collective.sms == (
        "【共富工坊】上坪村股份经济合作社，您2026年10月收益¥80,000.00（入股分红¥80,000.00），今年累计¥80,000.00。"
    )
    jin = await StatementService(session).statement("2026-10", ids["jin_shuiying"])
    assert [ln.description for ln in jin.lines] == ["2026-10-01 熬糖：43200分钟 × ¥25.00/小时"]


async def test_sweet_potatoes_bought_at_0_2_yuan_per_kg_above_wholesale(session: AsyncSession) -> None:
    adm = await admin_caller(session)
    # given 薯香共富工坊 and a grower with a contract: wholesale + 20 fen/kg, and a second one with a floor price
    _, _, village = await factories.region_tree(session, "嵊州市", "崇仁镇", "崇仁村")
    ws = await factories.workshop(session, village, "薯香共富工坊", benefit_models=["purchase"])
    grower = await member(session, "种植大户王建国", MemberKind.GROWER)
    await session.commit()
    purchase = PurchaseService(session)
    premium = await purchase.create_contract(
        adm,
        ContractIn(
            workshop_id=ws.id,
            member_id=grower.id,
            produce="番薯",
            valid_from=D(2026, 9, 1),
            valid_to=D(2026, 12, 31),
            premium_fen_per_kg=20,
        ),
    )
    floor = await purchase.create_contract(
        adm,
        ContractIn(
            workshop_id=ws.id,
            member_id=grower.id,
            produce="紫薯",
            valid_from=D(2026, 9, 1),
            valid_to=D(2026, 12, 31),
            floor_fen_per_kg=200,
            premium_fen_per_kg=20,
        ),
    )
    # when
    big = await purchase.record_delivery(
        adm, DeliveryIn(contract_id=premium.id, delivered_on=D(2026, 10, 10), grams=5_000_000, market_fen_per_kg=150)
    )
    odd = await purchase.record_delivery(
        adm, DeliveryIn(contract_id=premium.id, delivered_on=D(2026, 10, 11), grams=1_234, market_fen_per_kg=155)
    )
    low = await purchase.record_delivery(
        adm, DeliveryIn(contract_id=floor.id, delivered_on=D(2026, 10, 12), grams=1_000_500, market_fen_per_kg=150)
    )
    # then: 5,000 kg at 1.70 yuan = 8,500 yuan, 1,000 yuan over the market
    assert (big.price_fen_per_kg, big.payment_fen, big.market_value_fen, big.benefit_fen) == (
        170,
        850_000,
        750_000,
        100_000,
    )
    # 1.234 kg × 1.75 = 2.1595 → 2.16 yuan; at market 1.91267 → 1.91; benefit 0.25 yuan
    assert (odd.price_fen_per_kg, odd.payment_fen, odd.market_value_fen, odd.benefit_fen) == (175, 216, 191, 25)
    # the floor (2.00) beats market + premium (1.70): 1,000.5 kg × 2.00 = 2,001 yuan
    assert (low.price_fen_per_kg, low.payment_fen, low.benefit_fen) == (200, 200_100, 200_100 - 150_075)
    month = await CloseService(session).close("2026-10", adm.id)
    assert month.purchase_fen == 850_000 + 216 + 200_100
    statement = await StatementService(session).statement("2026-10", grower.id)
    assert statement.total_fen == 1_050_316
    assert statement.lines[0].description == "2026-10-10 番薯 5000kg × ¥1.70/kg（当日市场价 ¥1.50/kg）"
    assert statement.lines[1].description == "2026-10-11 番薯 1.234kg × ¥1.75/kg（当日市场价 ¥1.55/kg）"
    settlement = await session.scalar(select(Settlement).where(Settlement.workshop_id == ws.id))
    assert settlement is not None and settlement.purchase_fen == 1_050_316 and settlement.loss_carried_fen == 1_050_316


def test_delivery_figures_round_half_up() -> None:
    assert delivery_figures(500, 101, 0, 0) == (101, 51, 51, 0)  # 50.5 → 51
    assert delivery_figures(1, 1499, 0, 1) == (1500, 2, 1, 1)  # 1.5 → 2, 1.499 → 1


async def test_loss_is_carried_forward_and_offset_before_any_pool(session: AsyncSession) -> None:
    adm = await admin_caller(session)
    # given a workshop that loses 3,000 yuan in October and earns 5,000 yuan in November, 30 % to the pool
    _, _, village = await factories.region_tree(session)
    ws = await factories.workshop(session, village, "山耕共富工坊")
    holder = await member(session, "夏严村股份经济合作社", MemberKind.COLLECTIVE)
    session.add(Agreement(workshop_id=ws.id, effective_month="2026-10", dividend_ratio_bp=3000, service_fee_bp=0))
    await session.commit()
    await EquityService(session).change_shares(
        adm,
        ShareChangeIn(
            workshop_id=ws.id,
            member_id=holder.id,
            effective_on=D(2026, 10, 1),
            delta_shares=3,
            contribution=Contribution.LAND,
        ),
    )
    await EquityService(session).record_cost(
        adm, CostIn(workshop_id=ws.id, incurred_on=D(2026, 10, 2), category=CostCategory.OTHER, amount_fen=300_000)
    )
    session.add(revenue(ws.id, 500_000, sh(2026, 11, 5)))
    await session.commit()
    # when
    await CloseService(session).close("2026-10", adm.id)
    await CloseService(session).close("2026-11", adm.id)
    # then October carries 3,000 yuan; November's 5,000 first covers it, leaving 2,000: pool 600, kept 1,400
    oct_, nov = (await session.scalars(select(Settlement).order_by(Settlement.month))).all()
    assert (oct_.profit_fen, oct_.loss_carried_fen, oct_.pool_fen) == (-300_000, 300_000, 0)
    assert (nov.profit_fen, nov.loss_brought_fen, nov.loss_carried_fen) == (500_000, 300_000, 0)
    assert (nov.distributable_fen, nov.pool_fen, nov.retained_fen) == (200_000, 60_000, 140_000)
    assert await session.scalar(select(func.sum(StatementLine.amount_fen))) == 60_000
