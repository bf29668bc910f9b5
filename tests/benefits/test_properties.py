"""Property tests: every split adds up exactly, no part is negative, each holder is within 1 fen of the exact
pro-rata share, and the statement lines of a closed month add up to what its settlements paid out."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.benefits.models import (
    Agreement,
    Contribution,
    Cost,
    CostCategory,
    LogStatus,
    MemberKind,
    PurchaseContract,
    PurchaseDelivery,
    Settlement,
    ShareChange,
    Statement,
    StatementLine,
    WorkLog,
    WorkUnit,
)
from shop.benefits.services.close import CloseService, WorkshopFigures, settle
from shop.benefits.services.purchase import delivery_figures
from shop.money import BP_SCALE, allocate
from tests import factories
from tests.benefits.helpers import commission, member, revenue, sh
from tests.conftest import empty_database

fen = st.integers(min_value=0, max_value=10**10)


@given(
    revenue=st.integers(-(10**9), 10**10),
    labour=fen,
    purchase=fen,
    cost=fen,
    loss=fen,
    ratio=st.integers(0, BP_SCALE),
    shares=st.lists(st.integers(0, 10**6), min_size=1, max_size=40),
)
def test_pool_split_adds_up_and_is_fair(
    revenue: int, labour: int, purchase: int, cost: int, loss: int, ratio: int, shares: list[int]
) -> None:
    figures = WorkshopFigures(
        revenue=revenue,
        labour=labour,
        purchase=purchase,
        costs={CostCategory.OTHER: cost},
        ratio_bp=ratio,
        loss_brought=loss,
    )
    total = sum(shares)
    out = settle(figures, total)
    # the profit is split exactly between loss carried, pool and what stays; nothing is negative
    assert out.profit == revenue - labour - purchase - cost
    assert min(out.pool, out.retained, out.loss_carried, out.distributable) >= 0
    assert out.pool + out.retained == out.distributable
    assert out.distributable - out.loss_carried == out.profit - loss
    if total:
        assert out.pool == out.distributable * ratio // BP_SCALE  # rounded down to the fen
        parts = allocate(out.pool, shares, keys=list(range(len(shares))))
        assert sum(parts) == out.pool and min(parts) >= 0
        for part, held in zip(parts, shares, strict=True):
            assert abs(part - Fraction(out.pool * held, total)) < 1
    else:
        assert out.pool == 0


@given(
    grams=st.integers(1, 10**8),
    market=st.integers(0, 10**5),
    floor=st.integers(0, 10**5),
    premium=st.integers(0, 10**4),
)
def test_delivery_pays_at_least_the_market_and_the_floor(grams: int, market: int, floor: int, premium: int) -> None:
    price, payment, market_value, benefit = delivery_figures(grams, market, floor, premium)
    assert price == max(floor, market + premium)
    assert payment == (grams * price * 2 + 1000) // 2000  # half up
    assert benefit == payment - market_value >= 0


workshop_data = st.fixed_dictionaries(
    {
        "revenue": st.lists(st.integers(-5_000, 2_000_000), max_size=6),
        "logs": st.lists(st.tuples(st.integers(0, 3), st.integers(1, 500), st.booleans()), max_size=6),
        "deliveries": st.lists(st.tuples(st.integers(0, 3), st.integers(1, 300_000), st.integers(50, 400)), max_size=4),
        "shares": st.lists(st.integers(0, 50), min_size=4, max_size=4),
        "ratio": st.integers(0, BP_SCALE),
        "cost": st.integers(0, 500_000),
    }
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    workshops=st.lists(workshop_data, min_size=1, max_size=3),
    commissions=st.lists(st.tuples(st.integers(1, 3), st.integers(-500, 5_000)), max_size=5),
)
async def test_statement_lines_add_up_to_what_the_settlements_paid(
    db_url: str, session: AsyncSession, workshops: list[dict], commissions: list[tuple[int, int]]
) -> None:
    await session.close()  # release SQLite's write lock before another connection empties the tables
    await empty_database(db_url)
    _, _, village = await factories.region_tree(session)
    people = [await member(session, f"成员{i}", MemberKind.HOUSEHOLD) for i in range(4)]
    streamer = await factories.user(session, factories.Role.STREAMER)
    await member(session, "村播小王", MemberKind.STREAMER, user_id=streamer.id)
    day = dt.date(2026, 10, 15)
    for n, data in enumerate(workshops):
        ws = await factories.workshop(session, village, f"工坊{n}")
        session.add(
            Agreement(workshop_id=ws.id, effective_month="2026-01", dividend_ratio_bp=data["ratio"], service_fee_bp=0)
        )
        session.add_all(revenue(ws.id, amount, sh(2026, 10, 10), i) for i, amount in enumerate(data["revenue"]))
        for who, qty, approved in data["logs"]:
            session.add(
                WorkLog(
                    member_id=people[who].id,
                    workshop_id=ws.id,
                    work_date=day,
                    task="t",
                    unit=WorkUnit.PIECE,
                    quantity=qty,
                    rate_fen=150,
                    amount_fen=qty * 150,
                    status=LogStatus.APPROVED if approved else LogStatus.PENDING,
                )
            )
        contract = PurchaseContract(
            workshop_id=ws.id,
            member_id=people[0].id,
            produce="番薯",
            premium_fen_per_kg=20,
            valid_from=day,
            valid_to=day,
        )
        session.add(contract)
        await session.flush()
        for who, grams, market in data["deliveries"]:
            price, payment, value, benefit = delivery_figures(grams, market, 0, 20)
            session.add(
                PurchaseDelivery(
                    contract_id=contract.id,
                    workshop_id=ws.id,
                    member_id=people[who].id,
                    delivered_on=day,
                    grams=grams,
                    market_fen_per_kg=market,
                    price_fen_per_kg=price,
                    payment_fen=payment,
                    market_value_fen=value,
                    benefit_fen=benefit,
                )
            )
        for who, held in enumerate(data["shares"]):
            if held:
                session.add(
                    ShareChange(
                        workshop_id=ws.id,
                        member_id=people[who].id,
                        effective_on=day,
                        delta_shares=held,
                        contribution=Contribution.MONEY,
                    )
                )
        session.add(Cost(workshop_id=ws.id, incurred_on=day, category=CostCategory.RENT, amount_fen=data["cost"] or 1))
    session.add_all(
        commission(streamer.id, amount, sh(2026, 10, 20), live, i + 1000)
        for i, (live, amount) in enumerate(commissions)
    )
    await session.commit()
    # when
    month = await CloseService(session).close("2026-10", None)
    # then
    lines = await session.scalar(select(func.coalesce(func.sum(StatementLine.amount_fen), 0)))
    statements = await session.scalar(select(func.coalesce(func.sum(Statement.total_fen), 0)))
    s = (
        await session.execute(
            select(
                func.coalesce(
                    func.sum(Settlement.labour_fen + Settlement.purchase_fen + Settlement.dividend_paid_fen), 0
                )
            )
        )
    ).scalar_one()
    assert lines == statements == month.paid_out_fen == s + month.commission_fen
    assert month.commission_fen == sum(a for _, a in commissions)
    pools = (
        await session.execute(
            select(
                Settlement.pool_fen, Settlement.distributable_fen, Settlement.retained_fen, Settlement.dividend_ratio_bp
            )
        )
    ).all()
    for pool, distributable, retained, ratio in pools:
        assert pool + retained == distributable and pool <= distributable * ratio // BP_SCALE
