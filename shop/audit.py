"""Audit trail of writes: who changed what, and when (审计日志)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, BigIntId, IdMixin, utcnow


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_entry"

    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(64), index=True)
    entity_id: Mapped[int | None] = mapped_column(BigIntId, index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)


def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row to the caller's transaction, so the change and its record commit together."""
    row = entry(actor_id=actor_id, action=action, entity=entity, entity_id=entity_id, changes=changes)
    session.add(row)
    return row


def entry(
    *, actor_id: int | None, action: str, entity: str, entity_id: int | None, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """An audit row not yet in any session (for `shop.inserts.insert_together`)."""
    return AuditEntry(
        at=utcnow(), actor_id=actor_id, action=action, entity=entity, entity_id=entity_id, changes=changes or {}
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields that changed, as {field: [old, new]}."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
