"""New append-only rows (ledger entries, audit entries, outbox events, idempotency records, stock reservations)
written in one round trip.

The ORM's flush sends one INSERT per table, each a round trip and a pass through the unit of work. On a hot path
(a payment writes rows into four tables) that is most of the transaction's cost. `insert_together` sends them as
one statement on PostgreSQL: each table's INSERT is a data-modifying CTE of a single SELECT that returns the new ids.
On SQLite (no data-modifying CTEs) it is one INSERT per row. Either way the rows are in the caller's
transaction, which commits or rolls them back with everything else.

The rows are not added to the session: they must not be read back through it in the same transaction before the
call (they are not autoflushed), and they come back detached, with their ids, so an outbox row's id can be marked
processed after the hand-over.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, CompoundSelect, Insert, Select, bindparam, insert, literal, select, union_all
from sqlalchemy import inspect as inspect_model
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from shop.db import Base


def _default(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_scalar:  # type: ignore[attr-defined]
        return default.arg  # type: ignore[attr-defined]
    if default.is_callable:  # type: ignore[attr-defined]
        return default.arg(None)  # type: ignore[attr-defined]  # wrapped by SQLAlchemy to take an (unused) context
    return None


def row_values(row: Base) -> dict[str, Any]:
    """Every column but the id, as the flush would write it: the value set, else the column's Python default."""
    mapper = inspect_model(type(row))
    state = inspect_model(row).dict
    values: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if column.primary_key:
            continue
        value = state.get(attr.key)
        values[attr.key] = _default(column) if value is None else value  # type: ignore[arg-type]
    return values


_SHAPES_KEPT = 64  # statements kept by shape (the models of the rows, in order); a few are ever used


@functools.lru_cache(maxsize=_SHAPES_KEPT)
def _row_insert(model: type[Base], position: int) -> Insert:
    """INSERT of one `model` row with its values bound by name (`r<position>_<column>`), returning the id."""
    columns = [attr.columns[0] for attr in inspect_model(model).column_attrs if not attr.columns[0].primary_key]
    values = {column.key: bindparam(f"r{position}_{column.key}", type_=column.type) for column in columns}
    return insert(model).values(values).returning(model.id)  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=_SHAPES_KEPT)
def _together(shape: tuple[type[Base], ...]) -> Select[Any] | CompoundSelect:
    """The rows' INSERTs as data-modifying CTEs of one SELECT of (position, new id). Built once per shape: SQLAlchemy
    then keeps its cache key and compiled form (building and keying it again per call cost more than the round
    trips it saves)."""
    ctes = [_row_insert(model, i).cte(f"new_row_{i}") for i, model in enumerate(shape)]
    selects = [select(literal(i), cte.c.id) for i, cte in enumerate(ctes)]
    return selects[0] if len(selects) == 1 else union_all(*selects)


async def insert_together(session: AsyncSession, rows: Sequence[Base]) -> None:
    """INSERT new `rows` (single-id-column models, no server-side defaults) in one round trip on PostgreSQL.

    The inserts must be independent of each other: on PostgreSQL they all see the database as it was before the
    statement, so no row here may refer to another row here.
    """
    if not rows:
        return
    params: dict[str, Any] = {}
    for i, row in enumerate(rows):
        if inspect_model(row).has_identity or inspect_model(row).session is not None:
            raise ValueError(f"{row!r} is already in a session; insert_together writes new rows only")
        params.update({f"r{i}_{key}": value for key, value in row_values(row).items()})
    shape = tuple(type(row) for row in rows)
    if session.get_bind().dialect.name == "postgresql":
        found: dict[int, int] = {int(i): int(new_id) for i, new_id in await session.execute(_together(shape), params)}
        ids = [found[i] for i in range(len(rows))]
    else:  # no data-modifying CTEs: one INSERT per row
        ids = [(await session.execute(_row_insert(model, i), params)).scalar_one() for i, model in enumerate(shape)]
    for row, new_id in zip(rows, ids, strict=True):
        set_committed_value(row, "id", int(new_id))
        make_transient_to_detached(row)
