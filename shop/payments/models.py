"""Stripe events already applied: a webhook delivered twice (or replayed) takes effect once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, BigIntId, utcnow


class ProcessedStripeEvent(Base):
    __tablename__ = "processed_stripe_event"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    outcome: Mapped[str] = mapped_column(String(64), default="")
    processed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
