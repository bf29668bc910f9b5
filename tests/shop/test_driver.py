"""`shop.driver.fetch`: a prebuilt Core statement on asyncpg's connection behaves as SQLAlchemy's execution would:
same rows and stored values, the session's transaction, SQLAlchemy's exceptions, listeners told; SQLite and
statements with expanding parameters go through SQLAlchemy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop import driver
from shop.checkout.models import IdempotencyRecord
from shop.ledger.models import LedgerEntry, LedgerKind
from shop.outbox import OutboxEvent

_NEW_LEDGER = (
    insert(LedgerEntry)
    .values(
        kind=bindparam("kind", type_=LedgerEntry.__table__.c.kind.type),
        amount_fen=bindparam("amount"),
        occurred_at=bindparam("at", type_=LedgerEntry.__table__.c.occurred_at.type),
        order_id=bindparam("for_order"),
        note=literal("按件计酬"),
    )
    .returning(LedgerEntry.id, LedgerEntry.kind, literal(7).label("seven"))
)
_NEW_OUTBOX = insert(OutboxEvent).values(
    topic="orders",
    entity="order",
    entity_id=bindparam("entity_id"),
    reason="order_paid",
    payload=bindparam("payload", type_=OutboxEvent.__table__.c.payload.type),
    created_at=bindparam("at", type_=OutboxEvent.__table__.c.created_at.type),
    attempts=0,
)
_NEW_RECORD = insert(IdempotencyRecord).values(
    scope="user:1",
    key=bindparam("key"),
    request_hash="h",
    status_code=201,
    response={},
    created_at=bindparam("at", type_=IdempotencyRecord.__table__.c.created_at.type),
)
_NEW_RECORD_DEFAULT_TIME = insert(IdempotencyRecord).values(
    scope="user:1", key=bindparam("key"), request_hash="h", status_code=201, response={}
)
_AT = dt.datetime(2026, 11, 24, 8, 30, tzinfo=dt.UTC)
_AMOUNTS_OF = select(LedgerEntry.amount_fen).where(
    LedgerEntry.order_id.in_(bindparam("ids", expanding=True)),
    LedgerEntry.kind.in_([LedgerKind.SHIPPING, LedgerKind.SERVICE_FEE]),  # a constant list of enum members
)
_RAISE = update(LedgerEntry).where(LedgerEntry.order_id == bindparam("for_order")).values(amount_fen=0)


def _listen(session: AsyncSession) -> list[tuple[str, Any, bool]]:
    """Statements as listeners see them: SQL, parameters, and whether they went straight to the driver (no cursor)."""
    seen: list[tuple[str, Any, bool]] = []

    def on_execute(_conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append((statement, parameters, cursor is None))

    event.listen(session.get_bind(), "before_cursor_execute", on_execute)
    return seen


async def test_rows_and_stored_values_are_what_sqlalchemy_would_give(session: AsyncSession) -> None:
    # given a statement with an enum, a timestamp, a literal and a returned literal, and one with JSON
    at = dt.datetime(2026, 11, 24, 8, 30, tzinfo=dt.UTC)
    seen = _listen(session)

    # when each runs twice (the second from the kept plan) and the session commits
    connection = await session.connection()
    first = await driver.fetch(
        connection, _NEW_LEDGER, {"kind": LedgerKind.SHIPPING, "amount": 800, "at": at, "for_order": 1}
    )
    second = await driver.fetch(
        connection, _NEW_LEDGER, {"kind": LedgerKind.SERVICE_FEE, "amount": 38, "at": at, "for_order": 1}
    )
    await driver.fetch(
        connection, _NEW_OUTBOX, {"entity_id": 1, "payload": {"lines": [1, 2], "村": "夏严村"}, "at": at}
    )
    statements = list(seen)
    await session.commit()

    # then the returned rows carry the new ids, the enum as stored (the driver's rows are not result-processed: on
    # PostgreSQL it is the stored value; SQLAlchemy on SQLite gives the member, equal to it) and the literal
    (ledger_id, kind, seven), (other_id, other_kind, _) = first[0], second[0]
    assert (seven, other_id) == (7, ledger_id + 1)
    assert (kind, other_kind) == (LedgerKind.SHIPPING.value, LedgerKind.SERVICE_FEE.value)
    # and the rows are stored as SQLAlchemy would have stored them
    stored = (await session.execute(select(LedgerEntry).order_by(LedgerEntry.id))).scalars().all()
    assert [(e.kind, e.amount_fen, e.occurred_at.astimezone(dt.UTC), e.note) for e in stored] == [
        (LedgerKind.SHIPPING, 800, at, "按件计酬"),
        (LedgerKind.SERVICE_FEE, 38, at, "按件计酬"),
    ]
    outbox = (await session.execute(select(OutboxEvent))).scalar_one()
    assert (outbox.entity_id, outbox.payload) == (1, {"lines": [1, 2], "村": "夏严村"})
    # and the listeners saw the three statements with their parameters
    assert [800 in tuple(parameters) for _, parameters, _ in statements] == [True, False, False]
    # and on PostgreSQL all three went straight to asyncpg
    postgresql = session.get_bind().dialect.name == "postgresql"
    assert [direct for *_, direct in statements] == [postgresql] * 3


async def test_first_statement_of_a_transaction_is_rolled_back_with_it(session: AsyncSession) -> None:
    # given a session whose transaction has not sent anything yet
    await session.commit()
    at = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)

    # when the statement is the transaction's first, and the session rolls back
    await driver.fetch(
        await session.connection(),
        _NEW_LEDGER,
        {"kind": LedgerKind.SHIPPING, "amount": 5, "at": at, "for_order": 2},
    )
    await session.rollback()

    # then nothing was written
    assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


async def test_a_unique_violation_is_sqlalchemys_integrity_error_and_nothing_stays(session: AsyncSession) -> None:
    # given an idempotency record for key "k1"
    connection = await session.connection()
    await driver.fetch(connection, _NEW_RECORD, {"key": "k1", "at": _AT})
    await session.commit()

    # when a second record with the same key is written
    with pytest.raises(IntegrityError):
        await driver.fetch(await session.connection(), _NEW_RECORD, {"key": "k1", "at": _AT})
    await session.rollback()

    # then the session carries on, with the one record
    assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


async def test_in_lists_of_any_length_and_rowless_statements(session: AsyncSession) -> None:
    # given three shipping rows of two orders and a revenue row
    at = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    connection = await session.connection()
    for order_id, amount in ((3, 10), (3, 20), (4, 40)):
        await driver.fetch(
            connection, _NEW_LEDGER, {"kind": LedgerKind.SHIPPING, "amount": amount, "at": at, "for_order": order_id}
        )
    await driver.fetch(  # a kind the reads leave out
        connection, _NEW_LEDGER, {"kind": LedgerKind.WORKSHOP_REVENUE, "amount": 1000, "at": at, "for_order": 3}
    )
    seen = _listen(session)

    # when IN lists of two, one, two again and no orders are read, and an UPDATE without RETURNING runs
    both = await driver.fetch(connection, _AMOUNTS_OF, {"ids": [3, 4]})
    one = await driver.fetch(connection, _AMOUNTS_OF, {"ids": [4]})
    again = await driver.fetch(connection, _AMOUNTS_OF, {"ids": [4, 3]})
    none = await driver.fetch(connection, _AMOUNTS_OF, {"ids": []})
    updated = await driver.fetch(connection, _RAISE, {"for_order": 4})

    # then each answers for its own list, the UPDATE returns no row and changed its row
    assert sorted(row[0] for row in both) == [10, 20, 40]
    assert [row[0] for row in one] == [40]
    assert sorted(row[0] for row in again) == [10, 20, 40]
    assert (list(none), list(updated)) == ([], [])
    assert await session.scalar(select(func.sum(LedgerEntry.amount_fen))) == 1030
    # and on PostgreSQL they all went straight to asyncpg, one statement text per list length
    postgresql = session.get_bind().dialect.name == "postgresql"
    assert [direct for *_, direct in seen[:5]] == [postgresql] * 5
    assert seen[0][0] == seen[2][0] != seen[1][0]


async def test_a_column_default_computed_per_call_goes_through_sqlalchemy(session: AsyncSession) -> None:
    # given an INSERT that leaves created_at to its Python default
    seen = _listen(session)

    # when it runs
    before = dt.datetime.now(dt.UTC)
    await driver.fetch(await session.connection(), _NEW_RECORD_DEFAULT_TIME, {"key": "k2"})
    await session.commit()

    # then SQLAlchemy ran it (a cursor), and the default was written
    assert [direct for *_, direct in seen[:1]] == [False]
    created = await session.scalar(select(IdempotencyRecord.created_at))
    assert created is not None and created.replace(tzinfo=dt.UTC) >= before.replace(microsecond=0)


async def test_named_rows_read_by_column_key_on_both_databases(session: AsyncSession) -> None:
    # given a shipping row
    connection = await session.connection()
    await driver.fetch(connection, _NEW_LEDGER, {"kind": LedgerKind.SHIPPING, "amount": 800, "at": _AT, "for_order": 5})
    statement = select(LedgerEntry.order_id, LedgerEntry.kind, LedgerEntry.amount_fen.label("fen"))

    # when it is read with named rows, twice (the second from the kept row type)
    first = await driver.fetch_named(connection, statement, {})
    second = await driver.fetch_named(connection, statement, {})

    # then the columns are attributes by key and label, and the kind is its member, as SQLAlchemy gives it
    assert [(row.order_id, row.fen) for row in [*first, *second]] == [(5, 800), (5, 800)]
    assert first[0].kind is LedgerKind.SHIPPING


async def test_a_lone_read_needs_no_transaction_and_the_next_statement_begins_one(session: AsyncSession) -> None:
    # given a fresh session and one shipping row committed
    connection = await session.connection()
    await driver.fetch(connection, _NEW_LEDGER, {"kind": LedgerKind.SHIPPING, "amount": 10, "at": _AT, "for_order": 6})
    await session.commit()

    # when a read runs without beginning, then a write, and the session rolls back
    connection = await session.connection()
    read = await driver.fetch_named(connection, select(LedgerEntry.amount_fen), {}, begin=False)
    await driver.fetch(connection, _NEW_LEDGER, {"kind": LedgerKind.SHIPPING, "amount": 20, "at": _AT, "for_order": 6})
    await session.rollback()

    # then the read saw the row, and the write after it was in a transaction the rollback undid
    assert [row.amount_fen for row in read] == [10]
    assert await session.scalar(select(func.sum(LedgerEntry.amount_fen))) == 10
