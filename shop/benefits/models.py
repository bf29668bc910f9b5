"""Benefit-scheme records: members, labour, guaranteed purchase, equity, costs, and the closed-month results.

Everything is integer fen / basis points / grams. Input rows (work logs, deliveries, share changes, costs,
adjustments) are dated in Asia/Shanghai; a month is "YYYY-MM". Once a month is closed (`BenefitMonth`), the rows
that fed it are frozen by the services (writes into a closed month are refused) and its results are append-only.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, CheckConstraint, Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import catalog.models  # noqa: F401 - registers the workshop and region tables these rows refer to
import shop.accounts.models  # noqa: F401 - registers user_account
from shop.db import Base, BigIntId, IdMixin, TimestampMixin, utcnow

# Month aggregates can pass 2^31 fen (21 million yuan); single rows stay Integer.
Fen = BigInteger()


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


def _fk(table: str, ondelete: str = "RESTRICT") -> ForeignKey:
    return ForeignKey(f"{table}.id", ondelete=ondelete)


class MemberKind(enum.StrEnum):
    HOUSEHOLD = "household"  # 农户
    WORKER = "worker"  # 务工人员
    GROWER = "grower"  # 种植户
    COLLECTIVE = "collective"  # 村集体
    STREAMER = "streamer"  # 村播


class Delivery(enum.StrEnum):
    """How a member receives the monthly statement."""

    SMS = "sms"
    WEB = "web"
    PAPER = "paper"


class BenefitModel(enum.StrEnum):
    LABOUR = "labour"  # 劳务
    PURCHASE = "purchase"  # 保底收购
    EQUITY = "equity"  # 入股分红
    COMMISSION = "commission"  # 主播佣金


class WorkUnit(enum.StrEnum):
    PIECE = "piece"  # 计件: quantity = pieces, rate = fen per piece
    HOUR = "hour"  # 计时: quantity = minutes, rate = fen per hour


class LogStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Contribution(enum.StrEnum):
    LAND = "land"  # 土地入股
    MONEY = "money"  # 资金入股
    TECHNOLOGY = "technology"  # 技术入股


class CostCategory(enum.StrEnum):
    MATERIALS = "materials"  # 原材料
    RENT = "rent"  # 租金
    OTHER = "other"  # 其他


class LineKind(enum.StrEnum):
    LABOUR = "labour"
    PURCHASE = "purchase"
    DIVIDEND = "dividend"
    COMMISSION = "commission"
    ADJUSTMENT = "adjustment"


class Member(IdMixin, TimestampMixin, Base):
    """A member of a benefit scheme (成员): a household, worker, grower, the village collective or a streamer."""

    __tablename__ = "benefit_member"

    kind: Mapped[MemberKind] = mapped_column(_enum(MemberKind), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The person or body behind the member: the household head, the collective's legal representative, …
    represented_by: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    delivery: Mapped[Delivery] = mapped_column(_enum(Delivery), default=Delivery.WEB)
    village_id: Mapped[int | None] = mapped_column(BigIntId, _fk("region", "SET NULL"), default=None)
    user_id: Mapped[int | None] = mapped_column(BigIntId, _fk("user_account", "SET NULL"), unique=True, default=None)


class Participation(IdMixin, Base):
    """Which workshops and models a member takes part in (a member may be in several)."""

    __tablename__ = "benefit_participation"
    __table_args__ = (UniqueConstraint("member_id", "workshop_id", "model"),)

    member_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_member", "CASCADE"), index=True)
    workshop_id: Mapped[int] = mapped_column(BigIntId, _fk("workshop", "CASCADE"), index=True)
    model: Mapped[BenefitModel] = mapped_column(_enum(BenefitModel))


class LabourRate(IdMixin, TimestampMixin, Base):
    """Rate table per workshop and task (工价表)."""

    __tablename__ = "benefit_labour_rate"
    __table_args__ = (UniqueConstraint("workshop_id", "task"), CheckConstraint("rate_fen >= 0", name="rate_nonneg"))

    workshop_id: Mapped[int] = mapped_column(BigIntId, _fk("workshop", "CASCADE"), index=True)
    task: Mapped[str] = mapped_column(String(64))
    unit: Mapped[WorkUnit] = mapped_column(_enum(WorkUnit))
    rate_fen: Mapped[int] = mapped_column(Integer)


class WorkLog(IdMixin, TimestampMixin, Base):
    """A day's work by a worker on a task; counts only once approved (审核通过)."""

    __tablename__ = "benefit_work_log"
    __table_args__ = (
        Index("ix_benefit_work_log_date_status", "work_date", "status"),
        CheckConstraint("quantity > 0", name="quantity_pos"),
    )

    member_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_member"), index=True)
    workshop_id: Mapped[int] = mapped_column(BigIntId, _fk("workshop"), index=True)
    work_date: Mapped[dt.date] = mapped_column(Date)
    task: Mapped[str] = mapped_column(String(64))
    unit: Mapped[WorkUnit] = mapped_column(_enum(WorkUnit))
    quantity: Mapped[int] = mapped_column(Integer)  # pieces, or minutes
    rate_fen: Mapped[int] = mapped_column(Integer)  # per piece, or per hour (copied from the rate table)
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[LogStatus] = mapped_column(_enum(LogStatus), default=LogStatus.PENDING)
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual / csv
    recorded_by: Mapped[int | None] = mapped_column(BigIntId, _fk("user_account", "SET NULL"), default=None)
    reviewed_by: Mapped[int | None] = mapped_column(BigIntId, _fk("user_account", "SET NULL"), default=None)


class PurchaseContract(IdMixin, TimestampMixin, Base):
    """保底收购合同 ("合同+保护价"): floor price and/or premium over the market per kg."""

    __tablename__ = "benefit_purchase_contract"
    __table_args__ = (
        CheckConstraint("floor_fen_per_kg >= 0 AND premium_fen_per_kg >= 0", name="prices_nonneg"),
        CheckConstraint("valid_to >= valid_from", name="valid_range"),
    )

    workshop_id: Mapped[int] = mapped_column(BigIntId, _fk("workshop"), index=True)
    member_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_member"), index=True)
    produce: Mapped[str] = mapped_column(String(64))
    floor_fen_per_kg: Mapped[int] = mapped_column(Integer, default=0)
    premium_fen_per_kg: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)


class PurchaseDelivery(IdMixin, TimestampMixin, Base):
    """A delivery under a contract; the payment and the benefit over market are fixed when it is recorded."""

    __tablename__ = "benefit_delivery"
    __table_args__ = (CheckConstraint("grams > 0", name="grams_pos"),)

    contract_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_purchase_contract"), index=True)
    workshop_id: Mapped[int] = mapped_column(BigIntId, _fk("workshop"), index=True)
    member_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_member"), index=True)
    delivered_on: Mapped[dt.date] = mapped_column(Date, index=True)
    grams: Mapped[int] = mapped_column(Integer)
    market_fen_per_kg: Mapped[int] = mapped_column(Integer)
    price_fen_per_kg: Mapped[int] = mapped_column(Integer)  # max(floor, market + premium)
    payment_fen: Mapped[int] = mapped_column(Integer)
    market_value_fen: Mapped[int] = mapped_column(Integer)
    benefit_fen: Mapped[int] = mapped_column(Integer)  # payment − market value
    recorded_by: Mapped[int | None] = mapped_column(BigIntId, _fk("user_account", "SET NULL"), default=None)


class ShareChange(IdMixin, TimestampMixin, Base):
    """Share register history (股权登记): append-only changes; holdings at a date = sum of changes up to it."""

    __tablename__ = "benefit_share_change"
    __table_args__ = (Index("ix_benefit_share_change_ws_date", "workshop_id", "effective_on"),)

    workshop_id: Mapped[int] = mapped_column(BigIntId, _fk("workshop"))
    member_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_member"), index=True)
    effective_on: Mapped[dt.date] = mapped_column(Date)
    delta_shares: Mapped[int] = mapped_column(Integer)
    contribution: Mapped[Contribution] = mapped_column(_enum(Contribution))
    land_mu_centi: Mapped[int] = mapped_column(Integer, default=0)  # land contributed, in 0.01 mu
    money_fen: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[int | None] = mapped_column(BigIntId, _fk("user_account", "SET NULL"), default=None)


class Agreement(IdMixin, TimestampMixin, Base):
    """Per-workshop benefit agreement from a month on: dividend ratio and service-centre fee rate."""

    __tablename__ = "benefit_agreement"
    __table_args__ = (
        UniqueConstraint("workshop_id", "effective_month"),
        CheckConstraint(
            "dividend_ratio_bp BETWEEN 0 AND 10000 AND service_fee_bp BETWEEN 0 AND 10000", name="rates_range"
        ),
    )

    workshop_id: Mapped[int] = mapped_column(BigIntId, _fk("workshop"), index=True)
    effective_month: Mapped[str] = mapped_column(String(7))
    dividend_ratio_bp: Mapped[int] = mapped_column(Integer)
    service_fee_bp: Mapped[int] = mapped_column(Integer)


class Cost(IdMixin, TimestampMixin, Base):
    """A recorded workshop cost (materials, rent, other) on a date."""

    __tablename__ = "benefit_cost"
    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount_nonneg"),)

    workshop_id: Mapped[int] = mapped_column(BigIntId, _fk("workshop"), index=True)
    incurred_on: Mapped[dt.date] = mapped_column(Date, index=True)
    category: Mapped[CostCategory] = mapped_column(_enum(CostCategory))
    amount_fen: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[int | None] = mapped_column(BigIntId, _fk("user_account", "SET NULL"), default=None)


class Adjustment(IdMixin, TimestampMixin, Base):
    """A correction of a closed month, paid in a later open month (更正); never an edit of the closed month."""

    __tablename__ = "benefit_adjustment"

    month: Mapped[str] = mapped_column(String(7), index=True)  # the open month that pays it
    corrects_month: Mapped[str] = mapped_column(String(7))
    corrects_line_id: Mapped[int | None] = mapped_column(BigIntId, _fk("benefit_statement_line"), default=None)
    member_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_member"), index=True)
    # When set, the adjustment is a cost (or, if negative, a recovery) of this workshop in `month`.
    workshop_id: Mapped[int | None] = mapped_column(BigIntId, _fk("workshop"), default=None)
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[int | None] = mapped_column(BigIntId, _fk("user_account", "SET NULL"), default=None)


class BenefitMonth(IdMixin, Base):
    """A closed month (已结账) and what it paid out; its existence freezes the month."""

    __tablename__ = "benefit_month"

    month: Mapped[str] = mapped_column(String(7), unique=True)
    closed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_by: Mapped[int | None] = mapped_column(BigIntId, _fk("user_account", "SET NULL"), default=None)
    workshops: Mapped[int] = mapped_column(Integer, default=0)
    statements: Mapped[int] = mapped_column(Integer, default=0)
    labour_fen: Mapped[int] = mapped_column(Fen, default=0)
    purchase_fen: Mapped[int] = mapped_column(Fen, default=0)
    dividend_fen: Mapped[int] = mapped_column(Fen, default=0)
    commission_fen: Mapped[int] = mapped_column(Fen, default=0)
    adjustment_fen: Mapped[int] = mapped_column(Fen, default=0)
    paid_out_fen: Mapped[int] = mapped_column(Fen, default=0)
    # Commissions on ledger rows whose streamer has no member record: reported, not paid by this statement run.
    unmatched_commission_fen: Mapped[int] = mapped_column(Fen, default=0)


class Settlement(IdMixin, Base):
    """One workshop's month (月度结算): revenue, each cost, profit, loss carried, pool and what stayed."""

    __tablename__ = "benefit_settlement"
    __table_args__ = (UniqueConstraint("month", "workshop_id"),)

    month: Mapped[str] = mapped_column(String(7), index=True)
    workshop_id: Mapped[int] = mapped_column(BigIntId, _fk("workshop"), index=True)
    revenue_fen: Mapped[int] = mapped_column(Fen, default=0)
    labour_fen: Mapped[int] = mapped_column(Fen, default=0)
    purchase_fen: Mapped[int] = mapped_column(Fen, default=0)
    materials_fen: Mapped[int] = mapped_column(Fen, default=0)
    rent_fen: Mapped[int] = mapped_column(Fen, default=0)
    other_cost_fen: Mapped[int] = mapped_column(Fen, default=0)
    adjustment_fen: Mapped[int] = mapped_column(Fen, default=0)
    profit_fen: Mapped[int] = mapped_column(Fen, default=0)
    loss_brought_fen: Mapped[int] = mapped_column(Fen, default=0)
    loss_carried_fen: Mapped[int] = mapped_column(Fen, default=0)
    distributable_fen: Mapped[int] = mapped_column(Fen, default=0)
    dividend_ratio_bp: Mapped[int] = mapped_column(Integer, default=0)
    pool_fen: Mapped[int] = mapped_column(Fen, default=0)
    dividend_paid_fen: Mapped[int] = mapped_column(Fen, default=0)
    retained_fen: Mapped[int] = mapped_column(Fen, default=0)
    total_shares: Mapped[int] = mapped_column(Integer, default=0)


class StatementLine(IdMixin, Base):
    """One line of a member's month statement, with its source (work log, delivery, shares, session, adjustment)."""

    __tablename__ = "benefit_statement_line"
    __table_args__ = (Index("ix_benefit_statement_line_month_member", "month", "member_id"),)

    month: Mapped[str] = mapped_column(String(7))
    member_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_member"))
    workshop_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    kind: Mapped[LineKind] = mapped_column(_enum(LineKind))
    source_id: Mapped[int | None] = mapped_column(BigIntId, default=None)  # work log / delivery / session / adj.
    on_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    label: Mapped[str] = mapped_column(String(120), default="")  # task, produce, "分红", …
    quantity: Mapped[int] = mapped_column(Integer, default=0)  # pieces, minutes, grams, shares, orders
    rate: Mapped[int] = mapped_column(Integer, default=0)  # fen per piece/hour/kg; total shares for dividends
    reference: Mapped[int] = mapped_column(Integer, default=0)  # market price per kg; pool for dividends
    amount_fen: Mapped[int] = mapped_column(Fen)


class Statement(IdMixin, Base):
    """A member's month total and year to date (月度对账单)."""

    __tablename__ = "benefit_statement"
    __table_args__ = (UniqueConstraint("month", "member_id"),)

    month: Mapped[str] = mapped_column(String(7), index=True)
    member_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_member"), index=True)
    line_count: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(Fen)
    ytd_fen: Mapped[int] = mapped_column(Fen)


class StatementLink(IdMixin, TimestampMixin, Base):
    """A private link to one statement: only the token's hash is stored; it expires and can be revoked."""

    __tablename__ = "benefit_statement_link"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    month: Mapped[str] = mapped_column(String(7))
    member_id: Mapped[int] = mapped_column(BigIntId, _fk("benefit_member", "CASCADE"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_by: Mapped[int | None] = mapped_column(BigIntId, _fk("user_account", "SET NULL"), default=None)
