"""`insert_together`: new append-only rows of several tables in one statement (PostgreSQL) or one per row (SQLite),
in the caller's transaction, coming back with their ids."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import StockLevel
from shop import audit
from shop.audit import AuditEntry
from shop.db import create_engine, create_session_factory
from shop.inserts import Child, insert_many, insert_together
from shop.ledger.models import LedgerEntry, LedgerKind
from shop.orders.models import DeliveryMethod, Order, OrderLine, OrderStatus, PaymentMethod
from shop.outbox import OutboxEvent, new_row
from shop.settings import Settings
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


def _order(catalogue: factories.Catalogue, buyer_id: int) -> Order:
    variant = catalogue.product.variant
    order = Order(
        buyer_id=buyer_id,
        payment_method=PaymentMethod.OFFLINE,
        delivery_method=DeliveryMethod.PICKUP,
        subtotal_fen=7600,
        total_fen=7600,
    )
    for quantity in (1, 1):
        order.lines.append(
            OrderLine(
                variant_id=variant.id,
                product_id=catalogue.product.product.id,
                workshop_id=catalogue.workshop.id,
                title="青田红糖",
                quantity=quantity,
                unit_price_fen=3800,
                gross_fen=3800,
                net_fen=3800,
                service_fee_bp=500,
            )
        )
    return order


async def test_an_order_and_its_lines_in_one_statement(session: AsyncSession) -> None:
    # given a new order with two lines, linked to it only through the relationship
    catalogue = await factories.small_catalogue(session)
    buyer = await factories.user(session)
    await session.commit()
    order = _order(catalogue, buyer.id)
    seen = _count_statements(session)

    # when the order and its lines are written together, each line as the order's child
    await insert_together(session, [order, *(Child(line, order, "order_id") for line in order.lines)])
    await session.commit()

    # then one statement on PostgreSQL (three on SQLite); the objects carry the new ids and defaults, as stored
    assert len(seen) == (1 if session.get_bind().dialect.name == "postgresql" else 3)
    assert [line.order_id for line in order.lines] == [order.id, order.id]
    assert (order.status, order.refunded_fen, order.cancel_reason) == (OrderStatus.PENDING_PAYMENT, 0, "")
    stored = (await session.execute(select(OrderLine.id, OrderLine.order_id).order_by(OrderLine.id))).all()
    assert [tuple(row) for row in stored] == [(line.id, order.id) for line in order.lines]
    assert (await session.get(Order, order.id)) is not None


async def test_a_changed_row_is_written_with_the_new_rows(session: AsyncSession) -> None:
    # given a stored order, loaded and changed in memory
    catalogue = await factories.small_catalogue(session)
    buyer = await factories.user(session)
    await session.commit()
    order = _order(catalogue, buyer.id)
    session.add(order)
    await session.commit()
    order = (await session.execute(select(Order).where(Order.id == order.id))).scalar_one()
    before, order_id = order.updated_at, order.id
    order.status = OrderStatus.PAID
    order.paid_at = order.created_at
    seen = _count_statements(session)

    # when it is passed as changed with a new row
    await insert_together(
        session, [LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=1, order_id=order.id)], changed=[order]
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    left_to_flush = order in session.dirty
    await session.commit()

    # then PostgreSQL wrote both in one statement and left the order clean (SQLite: the insert, then the flush's
    # UPDATE), and the update holds
    assert (len(seen), left_to_flush) == ((1, False) if postgres else (2, True))
    stored = (
        await session.execute(
            select(Order.status, Order.paid_at, Order.created_at, Order.updated_at).where(Order.id == order_id)
        )
    ).one()
    assert (stored.status, stored.paid_at) == (OrderStatus.PAID, stored.created_at)
    assert stored.updated_at >= before


async def test_a_guarded_update_goes_with_the_rows_and_says_whether_it_held(session: AsyncSession) -> None:
    # given a stock row with 3 units free, and a guarded UPDATE that takes units only while enough are free
    catalogue = await factories.small_catalogue(session)
    level_id = catalogue.product.stock.id
    await session.execute(update(StockLevel).where(StockLevel.id == level_id).values(on_hand=3, reserved=0))
    await session.commit()
    take = (
        update(StockLevel)
        .where(StockLevel.id == bindparam("level_id"), StockLevel.on_hand - StockLevel.reserved >= bindparam("qty"))
        .values(reserved=StockLevel.reserved + bindparam("qty"))
        .returning(StockLevel.on_hand - StockLevel.reserved)
    )

    # when 2 are taken with a row, then 2 more with another row
    first = await insert_together(
        session,
        [LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=1, order_id=9101)],
        guard=(take, {"level_id": level_id, "qty": 2}),
    )
    second = await insert_together(
        session,
        [LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=2, order_id=9102)],
        guard=(take, {"level_id": level_id, "qty": 2}),
    )

    # then the first held (1 left) and the second did not (None): only the first's units are reserved and only its
    # row is written
    assert (first, second) == (1, None)
    assert (await session.execute(select(StockLevel.reserved).where(StockLevel.id == level_id))).scalar_one() == 2
    written = await session.scalars(select(LedgerEntry.order_id).where(LedgerEntry.order_id.in_([9101, 9102])))
    assert list(written) == [9101]
    await session.rollback()


async def test_rows_with_ids_taken_beforehand_are_written_with_them(session: AsyncSession) -> None:
    # given an order and its line whose ids were set before writing (as the checkout takes them from the sequences)
    catalogue = await factories.small_catalogue(session)
    buyer = await factories.user(session)
    await session.commit()
    order = _order(catalogue, buyer.id)
    order.id = 880_001
    for line_id, line in zip((880_002, 880_003), order.lines, strict=True):
        line.id, line.order_id = line_id, order.id

    # when they are written as plain rows (no parent link to fill in) and committed
    await insert_together(session, [order, *order.lines])
    await session.commit()

    # then each is stored under its own id, the lines pointing at the order
    assert [order.id, *(line.id for line in order.lines)] == [880_001, 880_002, 880_003]
    stored = await session.execute(select(OrderLine.id, OrderLine.order_id).where(OrderLine.order_id == 880_001))
    assert sorted(tuple(row) for row in stored) == [(880_002, 880_001), (880_003, 880_001)]
    assert (await session.execute(select(Order.total_fen).where(Order.id == 880_001))).scalar_one() == 7600


async def _ledger_amounts(session: AsyncSession, order_id: int) -> list[int]:
    return list(await session.scalars(select(LedgerEntry.amount_fen).where(LedgerEntry.order_id == order_id)))


async def test_a_lone_write_is_its_own_transaction_on_postgresql(session: AsyncSession, settings: Settings) -> None:
    # given a session that has not begun a transaction, and another session looking on
    engine = create_engine(settings.db, null_pool=True, sqlite_immediate=False)
    postgres = session.get_bind().dialect.name == "postgresql"
    try:
        async with create_session_factory(engine)() as onlooker:
            # when a row is written alone and not (yet) committed
            await insert_together(
                session, [LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=5, order_id=9201)], alone=True
            )

            # then on PostgreSQL it is already committed (no BEGIN was sent); SQLite keeps it in its transaction
            assert await _ledger_amounts(onlooker, 9201) == ([5] if postgres else [])
            await onlooker.rollback()
            await session.rollback()
            assert await _ledger_amounts(onlooker, 9201) == ([5] if postgres else [])
            await onlooker.rollback()
    finally:
        await engine.dispose()


async def test_a_write_after_others_stays_in_their_transaction(session: AsyncSession) -> None:
    # given a session that has already written (a statement run) and one that holds an unwritten row
    await session.execute(update(StockLevel).where(StockLevel.id == -1).values(reserved=0))
    await insert_together(session, [LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=6, order_id=9202)], alone=True)
    # when the first rolls back
    await session.rollback()
    # then its "alone" row went with it: it ran in the transaction begun before it
    assert await _ledger_amounts(session, 9202) == []
    await session.rollback()

    # and a pending (added, unflushed) row keeps the statement in the transaction too
    session.add(LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=7, order_id=9203))
    await insert_together(session, [LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=8, order_id=9203)], alone=True)
    await session.rollback()
    assert await _ledger_amounts(session, 9203) == []
    await session.rollback()


async def test_many_rows_with_their_children_in_one_statement(session: AsyncSession) -> None:
    # given three orders' ledger rows, each with audit entries linked to it (as a hand-over's shipments, legs and
    # events), built in an interleaved order
    rows: list[Any] = []
    parents = []
    entries: list[tuple[LedgerEntry, AuditEntry]] = []
    for n, amount in enumerate((100, 200, 300)):
        parent = LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=amount, order_id=9300 + n)
        parents.append(parent)
        rows.append(parent)
        for k in range(n + 1):  # 1, 2 and 3 children
            entry = audit.entry(actor_id=None, action=f"a{k}", entity="order", entity_id=0, changes={"k": k})
            rows.append(Child(entry, parent, "entity_id"))
            entries.append((parent, entry))
    seen = _count_statements(session)

    # when they are written at once and committed
    await insert_many(session, rows)
    await session.commit()

    # then PostgreSQL took one statement (SQLite one per row); each row has its new id, each child its parent's
    assert len(seen) == (1 if session.get_bind().dialect.name == "postgresql" else 9)
    stored = await session.execute(
        select(LedgerEntry.id, LedgerEntry.amount_fen).where(LedgerEntry.order_id.in_([9300, 9301, 9302]))
    )
    assert sorted(tuple(row) for row in stored) == [(p.id, p.amount_fen) for p in parents]
    children = await session.execute(
        select(AuditEntry.entity_id, AuditEntry.action, AuditEntry.id).where(
            AuditEntry.entity_id.in_([p.id for p in parents])
        )
    )
    expected = [(parent.id, entry.action, entry.id) for parent, entry in entries]
    assert sorted(tuple(row) for row in children) == sorted(expected)
    assert [len([e for e in expected if e[0] == p.id]) for p in parents] == [1, 2, 3]
