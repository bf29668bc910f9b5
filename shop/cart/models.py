"""Carts (购物车): anonymous carts carry a token; a logged-in buyer has one cart that anonymous ones merge into."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, BigIntId, IdMixin, TimestampMixin, utcnow


class Cart(IdMixin, TimestampMixin, Base):
    __tablename__ = "cart"

    # Anonymous carts are found by token; a buyer's cart by buyer_id (one per buyer).
    token: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    buyer_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("user_account.id", ondelete="CASCADE"), unique=True, default=None
    )

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", lazy="selectin", order_by="CartLine.id"
    )


class CartLine(IdMixin, Base):
    __tablename__ = "cart_line"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    cart_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("cart.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("product_variant.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(Integer)  # the price when added, shown to the buyer
    # Live-session attribution (last touch wins), filled through shop.cart.attribution by the livestream context.
    live_session_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    streamer_user_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    commission_bp: Mapped[int | None] = mapped_column(Integer, default=None)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="lines")
