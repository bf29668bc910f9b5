"""Search tables: the synonym groups centre admins edit (番薯 = 红薯 = 地瓜)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, IdMixin, TimestampMixin


class SearchSynonym(IdMixin, TimestampMixin, Base):
    """One group of interchangeable words. No rows means the built-in default groups apply."""

    __tablename__ = "search_synonym"

    terms: Mapped[list[Any]] = mapped_column(default=list)
