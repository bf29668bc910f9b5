"""Idempotency records: the stored response of a checkout or payment call, keyed by (caller, Idempotency-Key)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, IdMixin, utcnow


class IdempotencyRecord(IdMixin, Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    scope: Mapped[str] = mapped_column(String(80))  # "user:12" or "cart:<token>"
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the route and the canonical body
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
