"""New rows written in one round trip: an order and its lines, stock reservations, ledger entries, audit entries,
outbox events, idempotency records.

The ORM's flush sends one INSERT per table, each a round trip and a pass through the unit of work. On a hot path
(a payment writes rows into four tables) that is most of the transaction's cost. `insert_together` sends them as
one statement on PostgreSQL: each row's INSERT is a data-modifying CTE of a single SELECT that returns the new ids;
a child row (an order line) takes its parent's new id there, and a persistent row's pending UPDATE (the paid order)
and one guarded UPDATE (the checkout's stock row) can go in the same statement. On SQLite (no data-modifying CTEs)
it is one INSERT per row. Either way the rows are in the caller's transaction, which commits or rolls them back
with everything else.

The rows are not added to the session: they must not be read back through it in the same transaction before the
call (they are not autoflushed), and they come back detached, with their ids, so an outbox row's id can be marked
processed after the hand-over. A row whose id is already set (taken from its table's sequence by an earlier read, as
the checkout does) is written with that id.

A call that is the whole of its unit of work (`alone=True`, the checkout's and the hand-over's one write) runs as its
own transaction on PostgreSQL when nothing has begun one: the statement is atomic by itself, so its BEGIN and COMMIT
round trips (a sixth of a paid checkout's) are saved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    Column,
    CompoundSelect,
    Insert,
    Integer,
    Select,
    Update,
    UpdateBase,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy import inspect as inspect_model
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from shop import driver
from shop.db import Base


def _default(column: Column[Any]) -> Callable[[], Any] | None:
    """What the flush would write for the column left unset: its Python default (None when it has none)."""
    default = column.default
    if default is None:
        return None
    if default.is_scalar:  # type: ignore[attr-defined]
        value = default.arg  # type: ignore[attr-defined]
        return lambda: value
    if default.is_callable:  # type: ignore[attr-defined]
        make = default.arg  # type: ignore[attr-defined]
        return lambda: make(None)  # wrapped by SQLAlchemy to take an (unused) execution context
    return None


def _columns(model: type[Base], *, without: str | None = None, with_id: bool = False) -> list[Any]:
    """The columns an INSERT of `model` writes: all but the id (unless `with_id`) and `without`."""
    return [
        attr.columns[0]
        for attr in inspect_model(model).column_attrs
        if (with_id or not attr.columns[0].primary_key) and attr.key != without
    ]


@functools.cache
def _written_columns(model: type[Base]) -> tuple[tuple[str, Callable[[], Any] | None], ...]:
    """The columns an INSERT of `model` writes (all but the id), each with its default."""
    return tuple((column.key, _default(column)) for column in _columns(model))


def row_values(row: Base) -> dict[str, Any]:
    """Every column but the id, as the flush would write it: the value set, else the column's Python default."""
    state = row.__dict__
    values: dict[str, Any] = {}
    for key, default in _written_columns(type(row)):
        value = state.get(key)
        values[key] = default() if value is None and default is not None else value
    return values


def fill_defaults(rows: Sequence[Base]) -> None:
    """Set the Python defaults of the columns left unset on new rows, as writing them would: for a response made
    from the rows before the statement that writes them."""
    for row in rows:
        for key, value in row_values(row).items():
            if value is not None and row.__dict__.get(key) is None:
                setattr(row, key, value)


def _check_new(row: Base) -> None:
    if inspect_model(row).has_identity or inspect_model(row).session is not None:
        raise ValueError(f"{row!r} is already in a session; only new rows are written here")


def _begins(session: AsyncSession, alone: bool) -> bool:
    """Whether the statement must begin (or join) a transaction: unless it is `alone` and nothing else of the unit
    of work is unwritten, so it is the whole unit of work."""
    return not alone or bool(session.new or session.dirty or session.deleted)


def mark_written(session: AsyncSession, rows: Sequence[Base]) -> None:
    """Persistent rows whose changes a statement has written: clean, so the commit's flush has nothing to visit (a
    unit of work over a row with no net change cost a tenth of a payment's CPU)."""
    identity_map = session.sync_session.identity_map
    for row in rows:
        inspect_model(row)._commit_all(row.__dict__, identity_map)


_SHAPES_KEPT = 64  # statements kept by shape (the rows' models and links, in order); a few are ever used


@dataclass(frozen=True, slots=True)
class Child:
    """A new row whose `key` column is the id of a new `parent` row written in the same call (an order's lines)."""

    row: Base
    parent: Base
    key: str


@functools.lru_cache(maxsize=_SHAPES_KEPT)
def _row_insert(model: type[Base], position: int, with_id: bool = False) -> Insert:
    """INSERT of one `model` row with its values bound by name (`r<position>_<column>`), returning the id."""
    values = {c.key: bindparam(f"r{position}_{c.key}", type_=c.type) for c in _columns(model, with_id=with_id)}
    return insert(model).values(values).returning(model.id)  # type: ignore[attr-defined]


def _guarded_insert(model: type[Base], position: int, with_id: bool, guard: CTE) -> Insert:
    """`_row_insert` written only if the guard's CTE returned a row."""
    columns = _columns(model, with_id=with_id)
    row = select(*(bindparam(f"r{position}_{c.key}", type_=c.type) for c in columns)).select_from(guard)
    return insert(model).from_select([c.key for c in columns], row).returning(model.id)  # type: ignore[attr-defined]


def _child_insert(model: type[Base], position: int, key: str, parent: CTE) -> Insert:
    """INSERT of one `model` row whose `key` is the new id its parent's CTE returns."""
    columns = _columns(model, without=key)
    row = select(parent.c.id, *(bindparam(f"r{position}_{c.key}", type_=c.type) for c in columns))
    return insert(model).from_select([key, *(c.key for c in columns)], row).returning(model.id)  # type: ignore[attr-defined]


def _row_update(model: type[Base], position: int, keys: tuple[str, ...], guard: CTE | None) -> Update:
    """UPDATE of one `model` row (`u<position>__id`) setting `keys` (`u<position>_<key>`), returning the id; only if
    the guard's CTE returned a row."""
    table_columns = {c.key: c for c in _columns(model)}
    values = {key: bindparam(f"u{position}_{key}", type_=table_columns[key].type) for key in keys}
    by_id = model.id == bindparam(f"u{position}__id")  # type: ignore[attr-defined]
    changed = update(model).where(by_id)
    if guard is not None:
        changed = changed.where(select(guard.c[0]).exists())
    return changed.values(values).returning(model.id)  # type: ignore[attr-defined]


# A guarded UPDATE returning one column, or a SELECT of one column over data-modifying CTEs
Guard = Select[Any] | UpdateBase
_Shape = tuple[
    tuple[tuple[type[Base], int | None, str | None, bool], ...],  # model, parent's position, link column, id set
    tuple[tuple[type[Base], tuple[str, ...]], ...],
    Guard | None,
]
_GUARD_POSITION = -1_000_000  # the guard's row in the combined SELECT (new rows count up from 0, changed down from -1)


@functools.lru_cache(maxsize=_SHAPES_KEPT)
def _together(shape: _Shape) -> Select[Any] | CompoundSelect:
    """The writes as data-modifying CTEs of one SELECT of (position, id): new rows at 0, 1, …, changed rows at
    -1, -2, …. Built once per shape: SQLAlchemy then keeps its cache key and compiled form (building and keying it
    again per call cost more than the round trips it saves)."""
    new, changed, guard = shape
    guarded = guard.cte("guard") if guard is not None else None
    ctes: list[CTE] = []
    for i, (model, parent, key, with_id) in enumerate(new):
        if parent is not None:  # written with its parent (so, with a guard, only if the guard matched)
            statement = _child_insert(model, i, key or "", ctes[parent])
        elif guarded is not None:
            statement = _guarded_insert(model, i, with_id, guarded)
        else:
            statement = _row_insert(model, i, with_id)
        ctes.append(statement.cte(f"new_row_{i}"))
    selects = [select(literal(i), cte.c.id) for i, cte in enumerate(ctes)]
    for j, (model, keys) in enumerate(changed):
        selects.append(select(literal(-1 - j), _row_update(model, j, keys, guarded).cte(f"changed_row_{j}").c.id))
    if guarded is not None:
        selects.append(select(literal(_GUARD_POSITION), guarded.c[0]))
    return selects[0] if len(selects) == 1 else union_all(*selects)


def _changes(row: Base) -> dict[str, Any]:
    """The column values changed on a persistent row since it was loaded, with its on-update values (updated_at)."""
    state = inspect_model(row)
    mapper = state.mapper
    values: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if column.primary_key:
            continue
        if state.attrs[attr.key].history.has_changes():
            values[attr.key] = state.dict.get(attr.key)
        elif column.onupdate is not None and column.onupdate.is_callable:  # type: ignore[attr-defined]
            values[attr.key] = column.onupdate.arg(None)  # type: ignore[attr-defined]
    return values


async def insert_together(
    session: AsyncSession,
    rows: Sequence[Base | Child],
    *,
    changed: Sequence[Base] = (),
    guard: tuple[Guard, dict[str, Any]] | None = None,
    alone: bool = False,
) -> Any:
    """INSERT new `rows` (single-id-column models, no server-side defaults) in one round trip on PostgreSQL, with
    the pending changes of the persistent rows in `changed` (written there too; on SQLite left to the flush).

    The writes must be independent of each other, but for a `Child`, whose link to its parent is filled in: on
    PostgreSQL they all see the database as it was before the statement.

    `guard`: a prebuilt UPDATE returning one column (a guarded stock update), or a SELECT of one column over
    data-modifying CTEs (a payment's stock settlement), with its parameters (named apart from the rows'), run in the
    same statement on PostgreSQL and first on SQLite. The rows are written only if it returns a row. Returns its first
    value, None when it matched no row (nothing was written; the caller refuses). One guard only: two UPDATEs in one
    statement would lock their rows in no set order.

    `alone`: this is the last write of the caller's unit of work and may be all of it. When no transaction has begun
    and the session holds nothing unwritten, the statement runs as its own transaction (committed by PostgreSQL as it
    ends); otherwise it runs in the session's transaction as usual.
    """
    if not rows and not changed and guard is None:
        return None
    plain = [item.row if isinstance(item, Child) else item for item in rows]
    position = {id(row): i for i, row in enumerate(plain)}
    params: dict[str, Any] = {}
    new_shape: list[tuple[type[Base], int | None, str | None, bool]] = []
    written: list[dict[str, Any]] = []
    for i, item in enumerate(rows):
        row = plain[i]
        _check_new(row)
        values = row_values(row)
        written.append(values)
        preset = row.__dict__.get("id")
        if isinstance(item, Child):
            parent = position.get(id(item.parent))
            if parent is None or parent >= i or preset is not None:
                raise ValueError(f"{row!r}: its parent must come before it in the same call, and it has no id yet")
            values = {key: value for key, value in values.items() if key != item.key}
            new_shape.append((type(row), parent, item.key, False))
        else:
            new_shape.append((type(row), None, None, preset is not None))
            if preset is not None:
                params[f"r{i}_id"] = preset
        params.update({f"r{i}_{key}": value for key, value in values.items()})
    # The session's connection, in its transaction: these statements touch no ORM state, so its execution layer
    # (a third of a statement's client-side cost) is skipped.
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        guarded = (await connection.execute(guard[0], guard[1])).scalar() if guard is not None else None
        if guard is None or guarded is not None:
            await _one_by_one(connection, rows, plain, position, params, written)
        return guarded
    if guard is not None:
        params.update(guard[1])
    changed_shape: list[tuple[type[Base], tuple[str, ...]]] = []
    changes: list[dict[str, Any]] = []
    for j, row in enumerate(changed):
        values = _changes(row)
        changes.append(values)
        changed_shape.append((type(row), tuple(values)))
        params[f"u{j}__id"] = row.id  # type: ignore[attr-defined]
        params.update({f"u{j}_{key}": value for key, value in values.items()})
    shape = (tuple(new_shape), tuple(changed_shape), guard[0] if guard is not None else None)
    begin = _begins(session, alone)
    found = {int(i): value for i, value in await driver.fetch(connection, _together(shape), params, begin=begin)}
    if guard is not None and _GUARD_POSITION not in found:
        return None  # the guard matched no row: nothing was written
    if any(-1 - j not in found for j in range(len(changed))):
        raise RuntimeError("a changed row was not found to update")
    for row, values in zip(changed, changes, strict=True):
        for key, value in values.items():
            set_committed_value(row, key, value)
    mark_written(session, changed)
    _identify(rows, plain, [int(found[i]) for i in range(len(plain))], written)
    return found.get(_GUARD_POSITION)


async def _one_by_one(
    connection: AsyncConnection,
    rows: Sequence[Base | Child],
    plain: list[Base],
    position: dict[int, int],
    params: dict[str, Any],
    written: list[dict[str, Any]],
) -> None:
    """SQLite has no data-modifying CTEs: one INSERT per row, a child's link filled in from its parent's new id."""
    ids: list[int] = []
    for i, item in enumerate(rows):
        if isinstance(item, Child):
            params[f"r{i}_{item.key}"] = ids[position[id(item.parent)]]
        statement = _row_insert(type(plain[i]), i, f"r{i}_id" in params)
        ids.append(int((await connection.execute(statement, params)).scalar_one()))
    _identify(rows, plain, ids, written)


def _identify(rows: Sequence[Base | Child], plain: list[Base], ids: list[int], written: list[dict[str, Any]]) -> None:
    """The objects as written, as the flush leaves them: ids, defaults filled in, a child's link to its parent.

    The values go straight into the new objects' dicts (cheaper than one attribute event each);
    `make_transient_to_detached` then commits them all as loaded."""
    for row, new_id, values in zip(plain, ids, written, strict=True):
        row.__dict__.update(values)
        row.__dict__["id"] = new_id
    for item in rows:
        if isinstance(item, Child):
            item.row.__dict__[item.key] = item.parent.__dict__["id"]
    for row in plain:
        make_transient_to_detached(row)


# Rows of any number in one statement of fixed shape: each model's rows go as one array per column through `unnest`,
# with their ids taken from the table's sequence in the same statement; a child row names its parent by the parent's
# row number. The statement depends only on which models and links there are, so it is built and prepared once.
_Groups = tuple[tuple[type[Base], int | None, str | None], ...]  # model, parent's group, link column


@functools.lru_cache(maxsize=_SHAPES_KEPT)
def _many(groups: _Groups) -> Select[Any] | CompoundSelect:
    sources: list[CTE] = []
    selects = []
    for g, (model, parent, key) in enumerate(groups):
        columns = _columns(model, without=key)
        names = [c.key for c in columns]
        arrays = [bindparam(f"g{g}_{c.key}", type_=ARRAY(c.type)) for c in columns]
        if parent is not None:
            arrays.append(bindparam(f"g{g}__parent", type_=ARRAY(Integer)))
        rows = func.unnest(*arrays).table_valued(
            *names, *(["parent_no"] if parent is not None else []), with_ordinality="row_no"
        )
        sequence: Any = literal_column(f"'{model.__tablename__}_id_seq'")  # BIGSERIAL's sequence
        # Referenced more than once and volatile: PostgreSQL runs it once, so each row has one id.
        source = select(func.nextval(sequence).label("id"), *rows.render_derived().c).cte(f"source_{g}")
        sources.append(source)
        values = [source.c.id, *(source.c[name] for name in names)]
        if parent is None:
            body = select(*values)
            into = ["id", *names]
        else:
            up = sources[parent]
            body = select(*values, up.c.id).join_from(source, up, up.c.row_no == source.c.parent_no)
            into = ["id", *names, key or ""]
        written = insert(model).from_select(into, body).returning(model.id).cte(f"written_{g}")  # type: ignore[attr-defined]
        selects.append(
            select(literal(g), source.c.row_no, source.c.id).join_from(source, written, written.c.id == source.c.id)
        )
    return selects[0] if len(selects) == 1 else union_all(*selects)


async def insert_many(session: AsyncSession, rows: Sequence[Base | Child], *, alone: bool = False) -> None:
    """`insert_together` for many rows (a hand-over's shipments, legs and events for several orders): one statement
    on PostgreSQL whatever their number, built once per set of models; on SQLite one INSERT per row.

    The rows come back detached with their ids (and a child's link), as from `insert_together`; `alone` as there."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await insert_together(session, rows, alone=alone)
        return
    plain = [item.row if isinstance(item, Child) else item for item in rows]
    group_of: dict[tuple[type[Base], int | None, str | None], int] = {}
    row_place: dict[int, tuple[int, int]] = {}  # id(row) → (group, row number from 1)
    counts: dict[int, int] = {}
    params: dict[str, Any] = {}
    written: list[dict[str, Any]] = []
    for item, row in zip(rows, plain, strict=True):
        _check_new(row)
        parent_place = row_place.get(id(item.parent)) if isinstance(item, Child) else None
        if isinstance(item, Child) and parent_place is None:
            raise ValueError(f"{row!r}: its parent must come before it in the same call")
        link = (type(row), parent_place[0] if parent_place else None, item.key if isinstance(item, Child) else None)
        g = group_of.setdefault(link, len(group_of))
        values = row_values(row)
        written.append(values)
        counts[g] = counts.get(g, 0) + 1
        row_place[id(row)] = (g, counts[g])
        for key, value in values.items():
            if key != link[2]:
                params.setdefault(f"g{g}_{key}", []).append(value)
        if parent_place is not None:
            params.setdefault(f"g{g}__parent", []).append(parent_place[1])
    groups = tuple(sorted(group_of, key=group_of.__getitem__))
    found = {
        (int(g), int(n)): int(new_id)
        for g, n, new_id in await driver.fetch(connection, _many(groups), params, begin=_begins(session, alone))
    }
    _identify(rows, plain, [found[row_place[id(row)]] for row in plain], written)
