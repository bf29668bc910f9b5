"""Livestream tables: studios (共享直播间), streamer agreements, sessions (直播场次), line-ups, weekly series and
the streamers' calendar subscription tokens.

Times are stored in UTC; the studio's opening hours and closed dates are local to Asia/Shanghai. Commission is in
basis points. `block_until` is `ends_at` plus the studio's turnover gap, kept by the scheduling service so that
"studio busy" is one range comparison.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, BigIntId, IdMixin, TimestampMixin

DEFAULT_TURNOVER_GAP_MINUTES = 15
DEFAULT_ATTRIBUTION_WINDOW_MINUTES = 24 * 60


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(
        cls, native_enum=False, length=32, validate_strings=True, values_callable=lambda e: [m.value for m in e]
    )


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # 已排期
    LIVE = "live"  # 直播中
    ENDED = "ended"  # 已结束
    CANCELLED = "cancelled"  # 已取消


class Studio(IdMixin, TimestampMixin, Base):
    """共享直播间: a room at a service centre or in a village.

    `opening_hours` maps an ISO weekday ("1" Monday … "7" Sunday) to a list of ["HH:MM", "HH:MM"] intervals in
    Asia/Shanghai; "24:00" closes at midnight. A weekday with no entry is closed.
    """

    __tablename__ = "live_studio"
    __table_args__ = (CheckConstraint("turnover_gap_minutes BETWEEN 0 AND 240", name="gap_range"),)

    name: Mapped[str] = mapped_column(String(100), unique=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    village_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("region.id", ondelete="RESTRICT"), default=None)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    turnover_gap_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_TURNOVER_GAP_MINUTES)
    equipment_notes: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)

    closures: Mapped[list[StudioClosure]] = relationship(
        back_populates="studio", cascade="all, delete-orphan", lazy="selectin", order_by="StudioClosure.day"
    )


class StudioClosure(IdMixin, Base):
    """A date (Asia/Shanghai) on which a studio is closed (holiday, maintenance)."""

    __tablename__ = "live_studio_closure"
    __table_args__ = (UniqueConstraint("studio_id", "day"),)

    studio_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("live_studio.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(String(200), default="")

    studio: Mapped[Studio] = relationship(back_populates="closures")


class StreamerAgreement(IdMixin, TimestampMixin, Base):
    """主播协议: a streamer's commission rate from a date; the agreement in force on a session's day applies."""

    __tablename__ = "live_streamer_agreement"
    __table_args__ = (
        UniqueConstraint("streamer_user_id", "valid_from"),
        CheckConstraint("commission_bp BETWEEN 0 AND 10000", name="commission_range"),
    )

    streamer_user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    commission_bp: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[dt.date]
    note: Mapped[str] = mapped_column(String(200), default="")


class SessionSeries(IdMixin, TimestampMixin, Base):
    """A weekly recurring slot (e.g. every Saturday 20:00–22:00 for eight weeks); occurrences are sessions."""

    __tablename__ = "live_session_series"

    studio_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("live_studio.id", ondelete="RESTRICT"), index=True)
    streamer_user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    first_day: Mapped[dt.date]
    local_start: Mapped[dt.time]
    duration_minutes: Mapped[int] = mapped_column(Integer)
    weeks: Mapped[int] = mapped_column(SmallInteger)
    created_by: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )


class LiveSession(IdMixin, TimestampMixin, Base):
    """直播场次: a streamer's broadcast in a studio."""

    __tablename__ = "live_session"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("commission_bp BETWEEN 0 AND 10000", name="commission_range"),
        CheckConstraint("attribution_window_minutes BETWEEN 0 AND 43200", name="window_range"),
        Index("ix_live_session_studio_time", "studio_id", "starts_at", "block_until"),
        Index("ix_live_session_streamer_time", "streamer_user_id", "starts_at", "ends_at"),
        Index("ix_live_session_status_start", "status", "starts_at"),
    )

    studio_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("live_studio.id", ondelete="RESTRICT"))
    streamer_user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("user_account.id", ondelete="RESTRICT"))
    series_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("live_session_series.id", ondelete="SET NULL"), default=None, index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    cover_image_url: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    block_until: Mapped[dt.datetime]  # ends_at + the studio's turnover gap at booking time
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus), default=SessionStatus.SCHEDULED)
    commission_bp: Mapped[int] = mapped_column(Integer)
    attribution_window_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_ATTRIBUTION_WINDOW_MINUTES)
    share_code: Mapped[str] = mapped_column(String(16), unique=True)
    went_live_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    pinned_product_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("product.id", ondelete="SET NULL"), default=None
    )
    # Viewer figures copied from the live store when the session ends, so the report outlives Redis.
    peak_viewers: Mapped[int] = mapped_column(Integer, default=0)
    total_viewers: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )

    lineup: Mapped[list[LineupItem]] = relationship(
        back_populates="session", cascade="all, delete-orphan", lazy="selectin", order_by="LineupItem.position"
    )


class LineupItem(IdMixin, Base):
    """A product in a session's line-up (选品), in presentation order."""

    __tablename__ = "live_lineup_item"
    __table_args__ = (UniqueConstraint("session_id", "product_id"),)

    session_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("live_session.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("product.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    session: Mapped[LiveSession] = relationship(back_populates="lineup")


class CalendarFeedToken(IdMixin, TimestampMixin, Base):
    """订阅日历: the key of a streamer's secret iCalendar address. Only the token's SHA-256 is stored.

    The token itself is derived (HMAC of the app's secret key over the streamer and this row's id, see
    `livestream.services.calendar_feed`), so the studio page can show the address again on demand while a copy of
    the database alone opens nothing. Resetting revokes the row and adds a new one; at most one row per streamer
    is unrevoked, which the partial unique index enforces even for two first visits at once.
    """

    __tablename__ = "calendar_feed_token"
    __table_args__ = (
        Index(
            "uq_calendar_feed_token_active",
            "streamer_user_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    streamer_user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_by: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
