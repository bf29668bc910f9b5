"""Ledger rows written at payment and at refund; the benefit settlement reads them.

Append-only. For each paid order line the rows of kinds WORKSHOP_REVENUE + SERVICE_FEE + STREAMER_COMMISSION add up
to the line's net amount exactly; SHIPPING rows carry the order's shipping fee. A refund writes rows of the same
kinds with negative amounts (the exact reverse of the share refunded), never edits old rows.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, BigIntId, IdMixin, utcnow


class LedgerKind(enum.StrEnum):
    WORKSHOP_REVENUE = "workshop_revenue"  # 工坊收入
    SERVICE_FEE = "service_fee"  # 服务中心服务费
    STREAMER_COMMISSION = "streamer_commission"  # 主播佣金
    SHIPPING = "shipping"  # 运费


class LedgerEntry(IdMixin, Base):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        Index("ix_ledger_entry_kind_occurred", "kind", "occurred_at"),
        Index("ix_ledger_entry_workshop_occurred", "workshop_id", "occurred_at"),
    )

    kind: Mapped[LedgerKind] = mapped_column(
        Enum(LedgerKind, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])
    )
    amount_fen: Mapped[int] = mapped_column(Integer)  # signed: refunds are negative
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # payment or refund time (UTC)
    order_id: Mapped[int] = mapped_column(BigIntId, index=True)
    order_line_id: Mapped[int | None] = mapped_column(BigIntId, default=None, index=True)
    refund_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    workshop_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    streamer_user_id: Mapped[int | None] = mapped_column(BigIntId, default=None, index=True)
    live_session_id: Mapped[int | None] = mapped_column(BigIntId, default=None, index=True)
    rate_bp: Mapped[int | None] = mapped_column(Integer, default=None)  # the rate applied, for audit
    note: Mapped[str] = mapped_column(String(200), default="")
