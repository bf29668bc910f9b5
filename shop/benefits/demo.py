"""Demo benefit data (`hub seed --demo`): villagers of the brown-sugar and sweet-potato workshops with real
participations in the PREVIOUS month — an agreement, labour rates and approved work logs, a guaranteed-purchase
contract with deliveries, shares — then that month closed through `CloseService` and a private statement link for
the demo member account (`member`, 金存礼), whose address the summary prints.

Idempotent: members are found by name (the demo member by its account), rates/agreements by their natural keys,
work logs, deliveries and share changes by member, workshop and date; a month already closed is left as it is.
Every record goes through the benefit services, as the centre admin. With no sales in the ledger the close still
runs: the workshops report a loss, so no dividend is paid that month (labour and purchase lines are).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Workshop
from shop.accounts.models import User
from shop.auth import Caller
from shop.benefits.models import (
    Agreement,
    BenefitModel,
    Contribution,
    LogStatus,
    Member,
    MemberKind,
    PurchaseContract,
    PurchaseDelivery,
    ShareChange,
    Statement,
    StatementLink,
    WorkLog,
    WorkUnit,
)
from shop.benefits.schemas import (
    AgreementIn,
    ContractIn,
    DeliveryIn,
    MemberIn,
    ParticipationIn,
    RateIn,
    ShareChangeIn,
    WorkLogIn,
)
from shop.benefits.services.close import CloseService
from shop.benefits.services.equity import EquityService
from shop.benefits.services.labour import LabourService
from shop.benefits.services.links import token_hash
from shop.benefits.services.members import MemberService
from shop.benefits.services.months import (
    first_day,
    is_closed,
    last_day,
    latest_closed,
    month_of,
    next_month,
    previous_month,
    today_shanghai,
)
from shop.benefits.services.purchase import PurchaseService
from shop.settings import get_settings

BROWN_SUGAR = "知味红·红糖工坊"
SWEET_POTATO = "薯香共富工坊"
LINK_DAYS = 90


def demo_token(secret: str, month: str, member_id: int) -> str:
    """The demo link's token, derived from the secret key so a second run finds (and prints) the same link."""
    digest = hmac.new(secret.encode(), f"demo-statement:{month}:{member_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class _Demo:
    def __init__(self, session: AsyncSession, admin: Caller, month: str) -> None:
        self.session = session
        self.admin = admin
        self.month = month
        self.d0 = first_day(month)
        self.added: dict[str, int] = {}

    def count(self, what: str) -> None:
        self.added[what] = self.added.get(what, 0) + 1

    def day(self, n: int) -> dt.date:
        return min(self.d0 + dt.timedelta(days=n - 1), last_day(self.month))

    async def member(
        self, name: str, kind: MemberKind, village_id: int, user_id: int | None = None, represented_by: str = ""
    ) -> int:
        found = await self.session.scalar(
            select(Member.id).where(Member.user_id == user_id)
            if user_id is not None
            else select(Member.id).where(Member.name == name, Member.kind == kind)
        )
        if found is not None:
            return int(found)
        out = await MemberService(self.session).create(
            self.admin,
            MemberIn(
                kind=kind, name=name, represented_by=represented_by or name, village_id=village_id, user_id=user_id
            ),
        )
        self.count("members")
        return out.id

    async def join(self, member_id: int, workshop_id: int, *models: BenefitModel) -> None:
        for model in models:
            await MemberService(self.session).join(
                self.admin, member_id, ParticipationIn(workshop_id=workshop_id, model=model)
            )

    async def agreement(self, workshop_id: int) -> None:
        exists = await self.session.scalar(
            select(Agreement.id).where(Agreement.workshop_id == workshop_id, Agreement.effective_month <= self.month)
        )
        if exists is None:
            await EquityService(self.session).set_agreement(
                self.admin,
                AgreementIn(
                    workshop_id=workshop_id, effective_month=self.month, dividend_ratio_bp=5000, service_fee_bp=500
                ),
            )
            self.count("agreements")

    async def work(self, member_id: int, workshop_id: int, day: dt.date, task: str, quantity: int) -> None:
        exists = await self.session.scalar(
            select(WorkLog.id).where(
                WorkLog.member_id == member_id,
                WorkLog.workshop_id == workshop_id,
                WorkLog.work_date == day,
                WorkLog.task == task,
            )
        )
        if exists is not None:
            return
        labour = LabourService(self.session)
        log = await labour.record(
            self.admin,
            WorkLogIn(member_id=member_id, workshop_id=workshop_id, work_date=day, task=task, quantity=quantity),
        )
        if log.status is LogStatus.PENDING:
            await labour.review(self.admin, log.id, approve=True)
        self.count("work logs")

    async def contract(self, member_id: int, workshop_id: int, produce: str, floor: int, premium: int) -> int:
        found = await self.session.scalar(
            select(PurchaseContract.id).where(
                PurchaseContract.member_id == member_id,
                PurchaseContract.workshop_id == workshop_id,
                PurchaseContract.produce == produce,
            )
        )
        if found is not None:
            return int(found)
        out = await PurchaseService(self.session).create_contract(
            self.admin,
            ContractIn(
                workshop_id=workshop_id,
                member_id=member_id,
                produce=produce,
                valid_from=self.d0,
                valid_to=dt.date(self.d0.year + 1, self.d0.month, 1) - dt.timedelta(days=1),
                floor_fen_per_kg=floor,
                premium_fen_per_kg=premium,
            ),
        )
        self.count("contracts")
        return out.id

    async def deliver(self, contract_id: int, day: dt.date, grams: int, market: int) -> None:
        exists = await self.session.scalar(
            select(PurchaseDelivery.id).where(
                PurchaseDelivery.contract_id == contract_id, PurchaseDelivery.delivered_on == day
            )
        )
        if exists is None:
            await PurchaseService(self.session).record_delivery(
                self.admin, DeliveryIn(contract_id=contract_id, delivered_on=day, grams=grams, market_fen_per_kg=market)
            )
            self.count("deliveries")

    async def shares(
        self,
        member_id: int,
        workshop_id: int,
        shares: int,
        contribution: Contribution,
        *,
        land: int = 0,
        money: int = 0,
    ) -> None:
        exists = await self.session.scalar(
            select(ShareChange.id).where(ShareChange.member_id == member_id, ShareChange.workshop_id == workshop_id)
        )
        if exists is None:
            await EquityService(self.session).change_shares(
                self.admin,
                ShareChangeIn(
                    workshop_id=workshop_id,
                    member_id=member_id,
                    effective_on=self.d0,
                    delta_shares=shares,
                    contribution=contribution,
                    land_mu_centi=land,
                    money_fen=money,
                ),
            )
            self.count("share changes")


async def load_demo(session: AsyncSession) -> str:
    """Insert the missing demo benefit records for last month, close it, and make the demo member's link."""
    month = previous_month(month_of(today_shanghai()))
    admin_user = await session.scalar(select(User).where(User.username == "admin"))
    member_user = await session.scalar(select(User).where(User.username == "member"))
    sugar = await session.scalar(select(Workshop).where(Workshop.name == BROWN_SUGAR))
    potato = await session.scalar(select(Workshop).where(Workshop.name == SWEET_POTATO))
    if admin_user is None or member_user is None or sugar is None or potato is None:
        return "skipped: the demo catalogue (workshops, admin and member accounts) is not loaded"
    admin = Caller(admin_user.id, admin_user.username, admin_user.role, admin_user.display_name)
    demo = _Demo(session, admin, month)
    sugar_id, potato_id = sugar.id, potato.id
    sugar_village, potato_village = sugar.village_id, potato.village_id
    member_user_id = member_user.id
    await session.commit()  # end the read: the services open their own write transactions

    jin_cunli = await demo.member("金存礼", MemberKind.HOUSEHOLD, sugar_village, user_id=member_user_id)
    jin_shuiying = await demo.member("金水英", MemberKind.WORKER, sugar_village)
    collective = await demo.member(
        "上坪村股份经济合作社", MemberKind.COLLECTIVE, sugar_village, represented_by="上坪村村委会"
    )
    grower = await demo.member("钱桂芳", MemberKind.GROWER, potato_village)
    await demo.join(jin_cunli, sugar_id, BenefitModel.LABOUR, BenefitModel.PURCHASE, BenefitModel.EQUITY)
    await demo.join(jin_shuiying, sugar_id, BenefitModel.LABOUR)
    await demo.join(collective, sugar_id, BenefitModel.EQUITY)
    await demo.join(grower, potato_id, BenefitModel.PURCHASE)

    if not await is_closed(session, month):
        await session.rollback()
        await demo.agreement(sugar_id)
        await demo.agreement(potato_id)
        labour = LabourService(session)
        await labour.set_rate(admin, sugar_id, RateIn(task="包装", unit=WorkUnit.PIECE, rate_fen=260))
        await labour.set_rate(admin, sugar_id, RateIn(task="熬糖", unit=WorkUnit.HOUR, rate_fen=2500))
        await demo.work(jin_cunli, sugar_id, demo.day(3), "包装", 120)
        await demo.work(jin_cunli, sugar_id, demo.day(10), "包装", 150)
        await demo.work(jin_cunli, sugar_id, demo.day(17), "熬糖", 270)  # 4.5 hours
        await demo.work(jin_shuiying, sugar_id, demo.day(4), "熬糖", 480)
        await demo.work(jin_shuiying, sugar_id, demo.day(11), "熬糖", 420)
        cane = await demo.contract(jin_cunli, sugar_id, "甘蔗", floor=90, premium=0)
        await demo.deliver(cane, demo.day(8), 350_000, 80)  # 350 kg at the 0.90 floor (market 0.80)
        potatoes = await demo.contract(grower, potato_id, "番薯", floor=0, premium=20)
        await demo.deliver(potatoes, demo.day(6), 500_000, 120)  # 0.20 yuan/kg over the wholesale price
        await demo.deliver(potatoes, demo.day(20), 420_000, 130)
        await demo.shares(collective, sugar_id, 80, Contribution.LAND, land=8000)
        await demo.shares(jin_cunli, sugar_id, 5, Contribution.MONEY, money=500_000)
        # Months close in order: any quiet month between the last closed one and ours closes first.
        latest = await latest_closed(session)
        await session.rollback()
        pending = next_month(latest) if latest is not None and latest < month else month
        while pending <= month and (latest is None or latest < month):
            await CloseService(session).close(pending, admin.id)
            demo.count("months closed")
            pending = next_month(pending)

    url = await _demo_link(session, month, jin_cunli, admin.id)
    added = ", ".join(f"{n} {what}" for what, n in demo.added.items()) or "nothing new"
    where = f"; 金存礼's statement: {url}" if url else "; 金存礼 has no statement for that month"
    return f"benefits {month} ({added}){where}"


async def _demo_link(session: AsyncSession, month: str, member_id: int, admin_id: int) -> str | None:
    """The demo member's private link (made once, then found again by its derived token)."""
    if (
        await session.scalar(select(Statement.id).where(Statement.month == month, Statement.member_id == member_id))
        is None
    ):
        await session.rollback()
        return None
    settings = get_settings()
    token = demo_token(settings.app.secret_key, month, member_id)
    exists = await session.scalar(select(StatementLink.id).where(StatementLink.token_hash == token_hash(token)))
    if exists is None:
        session.add(
            StatementLink(
                token_hash=token_hash(token),
                month=month,
                member_id=member_id,
                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=LINK_DAYS),
                created_by=admin_id,
            )
        )
    await session.commit()
    return f"{settings.app.base_url.rstrip('/')}/benefits/s/{token}"
