"""Orders (订单), their lines and refunds (退款)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, BigIntId, IdMixin, TimestampMixin, utcnow


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(
        cls, native_enum=False, length=32, validate_strings=True, values_callable=lambda e: [m.value for m in e]
    )


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"  # 待付款
    PAID = "paid"  # 已付款
    PACKED = "packed"  # 已打包
    SHIPPED = "shipped"  # 已发货
    READY_FOR_PICKUP = "ready_for_pickup"  # 待自提
    COLLECTED = "collected"  # 已自提
    DELIVERED = "delivered"  # 已送达
    CANCELLED = "cancelled"  # 已取消
    PARTIALLY_REFUNDED = "partially_refunded"  # 部分退款
    REFUNDED = "refunded"  # 已退款


class DeliveryMethod(enum.StrEnum):
    PICKUP = "pickup"  # 村级自提点
    HOME = "home"  # 送货上门


class PaymentMethod(enum.StrEnum):
    OFFLINE = "offline"  # 到店/自提点付款，工作人员确认
    STRIPE = "stripe"  # card, Alipay, WeChat Pay through Stripe


class Order(IdMixin, TimestampMixin, Base):
    __tablename__ = "shop_order"
    __table_args__ = (
        Index("ix_shop_order_status_reserved_until", "status", "reserved_until"),
        CheckConstraint("total_fen = subtotal_fen - discount_fen + shipping_fen", name="total_adds_up"),
    )

    buyer_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus), default=OrderStatus.PENDING_PAYMENT, index=True)
    # The last non-refund state: a partially refunded order carries on from here.
    fulfilment_status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus), default=OrderStatus.PENDING_PAYMENT)
    payment_method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod))
    delivery_method: Mapped[DeliveryMethod] = mapped_column(_enum(DeliveryMethod))
    pickup_point_id: Mapped[int | None] = mapped_column(BigIntId, default=None)  # logistics owns the table
    address: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    ready_date: Mapped[dt.date | None] = mapped_column(default=None)
    subtotal_fen: Mapped[int] = mapped_column(Integer)
    discount_fen: Mapped[int] = mapped_column(Integer, default=0)
    shipping_fen: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(Integer)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    voucher_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("voucher.id", ondelete="RESTRICT"), default=None
    )
    reserved_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    paid_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    paid_confirmed_by: Mapped[int | None] = mapped_column(BigIntId, default=None)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", lazy="selectin", order_by="OrderLine.id"
    )


class OrderLine(IdMixin, Base):
    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("net_fen = gross_fen - discount_fen", name="net_adds_up"),
        CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refunded_range"),
    )

    order_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("shop_order.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("product_variant.id", ondelete="RESTRICT"), index=True)
    product_id: Mapped[int] = mapped_column(BigIntId)
    workshop_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workshop.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(240))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    gross_fen: Mapped[int] = mapped_column(Integer)
    discount_fen: Mapped[int] = mapped_column(Integer, default=0)
    net_fen: Mapped[int] = mapped_column(Integer)
    service_fee_bp: Mapped[int] = mapped_column(Integer)  # the workshop agreement's rate at checkout
    commission_bp: Mapped[int | None] = mapped_column(Integer, default=None)
    live_session_id: Mapped[int | None] = mapped_column(BigIntId, default=None, index=True)
    streamer_user_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")


class Refund(IdMixin, Base):
    __tablename__ = "refund"

    order_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("shop_order.id", ondelete="CASCADE"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)  # lines + shipping, positive
    shipping_fen: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(BigIntId, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(64), default=None)

    lines: Mapped[list[RefundLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="RefundLine.id"
    )


class RefundLine(IdMixin, Base):
    __tablename__ = "refund_line"

    refund_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("refund.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("order_line.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
