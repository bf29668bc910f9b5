"""Transactional outbox: a row written in the same transaction as the change it announces.

Consumers (the search indexer, live figures, notifications) read unprocessed rows for their topic and mark them
done after applying them, so a crash between commit and side effect is retried, never lost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, BigIntId, IdMixin, utcnow


class OutboxEvent(IdMixin, Base):
    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_event_pending", "topic", "processed_at", "id"),)

    topic: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(BigIntId)
    reason: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)


SEARCH_TOPIC = "search"


def new_row(
    *, topic: str, entity: str, entity_id: int, reason: str, payload: dict[str, Any] | None = None
) -> OutboxEvent:
    """An outbox row not yet in any session (for `shop.inserts.insert_together`)."""
    return OutboxEvent(
        topic=topic, entity=entity, entity_id=entity_id, reason=reason, payload=payload or {}, created_at=utcnow()
    )


def emit(
    session: AsyncSession,
    *,
    topic: str,
    entity: str,
    entity_id: int,
    reason: str,
    payload: dict[str, Any] | None = None,
) -> OutboxEvent:
    row = new_row(topic=topic, entity=entity, entity_id=entity_id, reason=reason, payload=payload)
    session.add(row)
    return row


def emit_search(session: AsyncSession, entity: str, entity_id: int, reason: str) -> None:
    """Announce that a search document (product or workshop) must be re-read and re-indexed."""
    emit(session, topic=SEARCH_TOPIC, entity=entity, entity_id=entity_id, reason=reason)
