"""`insert_together`: new append-only rows of several tables in one statement (PostgreSQL) or one per row (SQLite),
in the caller's transaction, coming back with their ids."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop import audit
from shop.audit import AuditEntry
from shop.inserts import insert_together
from shop.ledger.models import LedgerEntry, LedgerKind
from shop.outbox import OutboxEvent, new_row
from tests import factories


def _count_statements(session: AsyncSession) -> list[str]:
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", on_execute)
    return seen


async def test_rows_of_three_tables_written_with_their_ids_and_defaults(session: AsyncSession) -> None:
    # given a ledger row (note and ids left to their defaults), an audit entry and an outbox row
    buyer = await factories.user(session)
    await session.commit()
    ledger = LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=800, order_id=9001)
    entry = audit.entry(actor_id=buyer.id, action="paid", entity="order", entity_id=9001, changes={"total_fen": 800})
    outbox = new_row(topic="orders", entity="order", entity_id=9001, reason="order_paid", payload={"lines": [1, 2]})
    seen = _count_statements(session)

    # when they are written together and committed
    await insert_together(session, [ledger, entry, outbox])
    await session.commit()

    # then PostgreSQL took one statement (SQLite one per row), and each row is stored as built, with its new id
    assert len(seen) == (1 if session.get_bind().dialect.name == "postgresql" else 3)
    stored_ledger = (await session.execute(select(LedgerEntry).where(LedgerEntry.order_id == 9001))).scalar_one()
    assert (stored_ledger.id, stored_ledger.kind, stored_ledger.amount_fen) == (ledger.id, LedgerKind.SHIPPING, 800)
    assert (stored_ledger.note, stored_ledger.workshop_id, stored_ledger.refund_id) == ("", None, None)
    stored_entry = (await session.execute(select(AuditEntry).where(AuditEntry.entity_id == 9001))).scalar_one()
    assert (stored_entry.id, stored_entry.actor_id, stored_entry.changes) == (entry.id, buyer.id, {"total_fen": 800})
    stored_outbox = (await session.execute(select(OutboxEvent).where(OutboxEvent.entity_id == 9001))).scalar_one()
    assert (stored_outbox.id, stored_outbox.payload, stored_outbox.attempts) == (outbox.id, {"lines": [1, 2]}, 0)
    assert stored_outbox.processed_at is None


async def test_several_rows_of_one_table_keep_their_order(session: AsyncSession) -> None:
    # given three ledger rows of one order, amounts in a known order
    rows = [LedgerEntry(kind=LedgerKind.SERVICE_FEE, amount_fen=amount, order_id=9002) for amount in (5, 7, 11)]

    # when written together
    await insert_together(session, rows)
    await session.commit()

    # then each object carries the id of the row with its own amount
    stored = dict((await session.execute(select(LedgerEntry.id, LedgerEntry.amount_fen))).all())
    assert [stored[row.id] for row in rows] == [5, 7, 11]


async def test_rolled_back_rows_are_not_kept(session: AsyncSession) -> None:
    # given rows written together in a transaction
    await insert_together(session, [LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=300, order_id=9003)])

    # when the transaction rolls back
    await session.rollback()

    # then nothing was stored
    assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


async def test_a_row_already_in_the_session_is_refused(session: AsyncSession) -> None:
    # given a row the session already tracks
    row = LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=300, order_id=9004)
    session.add(row)

    # when it is passed in, then it is refused before anything is sent, and nothing else was written
    with pytest.raises(ValueError, match="already in a session"):
        await insert_together(session, [LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=1, order_id=9004), row])
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
