"""Request and response bodies of the benefits API (msgspec)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from shop.benefits.models import (
    BenefitModel,
    Contribution,
    CostCategory,
    Delivery,
    LineKind,
    LogStatus,
    MemberKind,
    WorkUnit,
)

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
Fen = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
SignedFen = Annotated[int, msgspec.Meta(ge=-(10**12), le=10**12)]
Bp = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Month = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Positive = Annotated[int, msgspec.Meta(ge=1, le=10**9)]


class _In(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every request body here: an unknown field is refused, naming it."""


class MemberIn(_In):
    kind: MemberKind
    name: Name
    represented_by: Annotated[str, msgspec.Meta(max_length=100)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""
    delivery: Delivery = Delivery.WEB
    village_id: Id | None = None
    user_id: Id | None = None


class ParticipationIn(_In):
    workshop_id: Id
    model: BenefitModel


class MemberOut(msgspec.Struct):
    id: int
    kind: MemberKind
    name: str
    represented_by: str
    phone: str
    delivery: Delivery
    village_id: int | None
    user_id: int | None
    participations: list[ParticipationIn] = []


class RateIn(_In):
    task: Short
    unit: WorkUnit
    rate_fen: Annotated[int, msgspec.Meta(ge=0, le=10**7)]


class RateOut(msgspec.Struct):
    id: int
    workshop_id: int
    task: str
    unit: WorkUnit
    rate_fen: int


class WorkLogIn(_In):
    member_id: Id
    workshop_id: Id
    work_date: dt.date
    task: Short
    quantity: Annotated[int, msgspec.Meta(ge=1, le=100_000)]  # pieces, or minutes (≤ 100,000)


class WorkLogOut(msgspec.Struct):
    id: int
    member_id: int
    workshop_id: int
    work_date: dt.date
    task: str
    unit: WorkUnit
    quantity: int
    rate_fen: int
    amount_fen: int
    status: LogStatus
    source: str


class RejectedRow(msgspec.Struct):
    row: int  # 1-based line number in the file, the header being line 1
    errors: list[str]


class ImportReport(msgspec.Struct):
    imported: int
    rejected: list[RejectedRow]
    log_ids: list[int]


class ReviewIn(_In):
    approve: bool


class ContractIn(_In):
    workshop_id: Id
    member_id: Id
    produce: Short
    valid_from: dt.date
    valid_to: dt.date
    floor_fen_per_kg: Annotated[int, msgspec.Meta(ge=0, le=10**7)] = 0
    premium_fen_per_kg: Annotated[int, msgspec.Meta(ge=0, le=10**7)] = 0


class ContractOut(msgspec.Struct):
    id: int
    workshop_id: int
    member_id: int
    produce: str
    floor_fen_per_kg: int
    premium_fen_per_kg: int
    valid_from: dt.date
    valid_to: dt.date


class DeliveryIn(_In):
    contract_id: Id
    delivered_on: dt.date
    grams: Annotated[int, msgspec.Meta(ge=1, le=10**9)]
    market_fen_per_kg: Annotated[int, msgspec.Meta(ge=0, le=10**7)]


class DeliveryOut(msgspec.Struct):
    id: int
    contract_id: int
    member_id: int
    workshop_id: int
    delivered_on: dt.date
    grams: int
    market_fen_per_kg: int
    price_fen_per_kg: int
    payment_fen: int
    market_value_fen: int
    benefit_fen: int


class ShareChangeIn(_In):
    workshop_id: Id
    member_id: Id
    effective_on: dt.date
    delta_shares: Annotated[int, msgspec.Meta(ge=-(10**9), le=10**9)]
    contribution: Contribution
    land_mu_centi: Annotated[int, msgspec.Meta(ge=0, le=10**9)] = 0
    money_fen: Fen = 0
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


class HoldingOut(msgspec.Struct):
    member_id: int
    shares: int


class RegisterOut(msgspec.Struct):
    workshop_id: int
    on: dt.date
    total_shares: int
    holdings: list[HoldingOut]


class AgreementIn(_In):
    workshop_id: Id
    effective_month: Month
    dividend_ratio_bp: Bp
    service_fee_bp: Bp


class CostIn(_In):
    workshop_id: Id
    incurred_on: dt.date
    category: CostCategory
    amount_fen: Annotated[int, msgspec.Meta(ge=1, le=10**11)]
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


class AdjustmentIn(_In):
    member_id: Id
    corrects_month: Month
    amount_fen: SignedFen
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    workshop_id: Id | None = None
    corrects_line_id: Id | None = None


class CreatedOut(msgspec.Struct):
    id: int
    month: str | None = None


class MonthOut(msgspec.Struct):
    month: str
    closed: bool
    closed_at: dt.datetime | None = None
    workshops: int = 0
    statements: int = 0
    labour_fen: int = 0
    purchase_fen: int = 0
    dividend_fen: int = 0
    commission_fen: int = 0
    adjustment_fen: int = 0
    paid_out_fen: int = 0
    unmatched_commission_fen: int = 0
    already_closed: bool = False


class PayeeOut(msgspec.Struct):
    member_id: int
    name: str
    kind: LineKind
    amount_fen: int


class SettlementOut(msgspec.Struct):
    month: str
    workshop_id: int
    workshop_name: str
    revenue_fen: int
    labour_fen: int
    purchase_fen: int
    materials_fen: int
    rent_fen: int
    other_cost_fen: int
    adjustment_fen: int
    profit_fen: int
    loss_brought_fen: int
    loss_carried_fen: int
    distributable_fen: int
    dividend_ratio_bp: int
    pool_fen: int
    retained_fen: int
    total_shares: int
    payees: list[PayeeOut]


class LineOut(msgspec.Struct):
    id: int
    kind: LineKind
    workshop_id: int | None
    workshop_name: str
    source_id: int | None
    on_date: dt.date | None
    label: str
    quantity: int
    rate: int
    reference: int
    amount_fen: int
    description: str


class StatementOut(msgspec.Struct):
    month: str
    member_id: int
    member_name: str
    member_kind: MemberKind
    lines: list[LineOut]
    total_fen: int
    ytd_fen: int
    sms: str


class LinkIn(_In):
    days: Annotated[int, msgspec.Meta(ge=1, le=366)] = 30


class LinkOut(msgspec.Struct):
    id: int
    url: str
    token: str
    expires_at: dt.datetime
