"""Accounts and roles."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, BigIntId, IdMixin, TimestampMixin


class Role(enum.StrEnum):
    """买家 buyer, 村播 streamer, 工坊管理员 workshop manager, 中心管理员 centre admin, 展厅终端 kiosk, 成员 member."""

    BUYER = "buyer"
    STREAMER = "streamer"
    WORKSHOP_MANAGER = "workshop_manager"
    CENTRE_ADMIN = "centre_admin"
    KIOSK = "kiosk"
    MEMBER = "member"


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=32, validate_strings=True), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    managed_workshops: Mapped[list[WorkshopManagerScope]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def workshop_ids(self) -> frozenset[int]:
        return frozenset(scope.workshop_id for scope in self.managed_workshops)


class WorkshopManagerScope(IdMixin, Base):
    """Which workshops a workshop manager may manage (工坊管理员的管辖范围)."""

    __tablename__ = "workshop_manager_scope"
    __table_args__ = (UniqueConstraint("user_id", "workshop_id"),)

    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    workshop_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workshop.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship(back_populates="managed_workshops")
