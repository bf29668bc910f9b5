"""Vouchers (优惠券): a fixed amount or a percentage off, with a minimum spend, a validity window and limits."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, BigIntId, IdMixin, TimestampMixin, utcnow


class VoucherKind(enum.StrEnum):
    FIXED = "fixed"  # amount_fen off
    PERCENT = "percent"  # percent_bp off the subtotal


class Voucher(IdMixin, TimestampMixin, Base):
    __tablename__ = "voucher"
    __table_args__ = (
        CheckConstraint("usage_limit IS NULL OR used_count <= usage_limit", name="usage_within_limit"),
        CheckConstraint("used_count >= 0", name="used_nonneg"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[VoucherKind] = mapped_column(
        Enum(VoucherKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    amount_fen: Mapped[int] = mapped_column(Integer, default=0)
    percent_bp: Mapped[int] = mapped_column(Integer, default=0)
    min_spend_fen: Mapped[int] = mapped_column(Integer, default=0)
    per_buyer_limit: Mapped[int] = mapped_column(Integer, default=1)
    usage_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[dt.datetime] = mapped_column()
    valid_until: Mapped[dt.datetime] = mapped_column()
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(200), default="")


class VoucherRedemption(IdMixin, Base):
    __tablename__ = "voucher_redemption"
    __table_args__ = (Index("ix_voucher_redemption_voucher_buyer", "voucher_id", "buyer_id", "released"),)

    voucher_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("voucher.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("user_account.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("shop_order.id", ondelete="CASCADE"), unique=True)
    discount_fen: Mapped[int] = mapped_column(Integer)
    released: Mapped[bool] = mapped_column(Boolean, default=False)  # the order was cancelled before payment
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
