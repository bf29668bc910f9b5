"""Stock reservations (库存预留): units held for a pending order until it is paid, cancelled or expires."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, BigIntId, IdMixin, utcnow


class ReservationState(enum.StrEnum):
    ACTIVE = "active"
    COMMITTED = "committed"  # paid: on_hand and reserved both went down
    RELEASED = "released"  # expired, cancelled or payment failed: reserved went down


class StockReservation(IdMixin, Base):
    __tablename__ = "stock_reservation"
    __table_args__ = (
        Index("ix_stock_reservation_state_expires", "state", "expires_at"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    order_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("shop_order.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("order_line.id", ondelete="CASCADE"))
    stock_level_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("stock_level.id", ondelete="RESTRICT"), index=True)
    variant_id: Mapped[int] = mapped_column(BigIntId)
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[ReservationState] = mapped_column(
        Enum(ReservationState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=ReservationState.ACTIVE,
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
