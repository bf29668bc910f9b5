"""Hot prebuilt Core statements run straight on the database driver's connection (asyncpg), in the session's
transaction.

A paid checkout sends a handful of statements each carrying dozens of parameters (an order and its lines, the
reservations, the ledger split, the shipment with its legs: `shop.inserts`). SQLAlchemy's execution layer prepares
every parameter through its compiled form on each call and wraps the driver in a cursor adapter and a greenlet
switch; on these statements that cost more client CPU than the driver and the round trip together (A/B under the
checkout bench: +6 to +18 % paid checkouts per second). So a statement is compiled once for the connection's dialect,
its parameters are put in order with SQLAlchemy's own bind processors (enums, JSON, dates), and it goes to
`asyncpg.Connection.fetch`, which keeps it prepared.

Everything else keeps SQLAlchemy's behaviour:
- the transaction: the statement runs in the one the session has begun, started on the driver first if SQLAlchemy
  has not yet sent its BEGIN (it does so lazily), so commit and rollback cover it;
- errors: a driver error becomes the SQLAlchemy exception the same statement would have raised (`IntegrityError`
  for a unique violation, and so on), and a lost connection is invalidated as SQLAlchemy would;
- observability: `before_cursor_execute` listeners (statement counts in tests and the bench) see the statement,
  with no cursor and no execution context;
- an `IN` list (an expanding parameter) is expanded by SQLAlchemy (`construct_expanded_state`) once per length;
- other databases (SQLite), other drivers, and statements with literal-rendered parameters or with column defaults
  SQLAlchemy computes per call (`created_at` left out of an INSERT, an `onupdate`) run through SQLAlchemy as usual.

`fetch` returns the rows as the driver gives them (no result processing: an enum column is its stored string);
`fetch_named` processes them as SQLAlchemy would.

This leans on private parts of SQLAlchemy's asyncpg adapter (`_started`, `_start_transaction`, `_execute_mutex`,
`_connection`, `_handle_exception`) and of the compiled statement (`_bind_processors`), so SQLAlchemy stays below
2.1 (pyproject.toml); tests on PostgreSQL pin the behaviour (`tests/shop/test_driver.py`, and
`tests/faults/test_database_drops.py` for a connection lost mid-statement: a 503, then a clean retry).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable, Select

_PLANS_KEPT = 256  # statements are module constants or cached per shape: a few dozen are ever used


@dataclass(frozen=True, slots=True)
class _Plan:
    statement: Executable  # held so its id is not reused while the plan is kept
    sql: str
    # per positional parameter: its key in the caller's dict, its index in that list for an expanded IN list (-1 for
    # a single value), SQLAlchemy's bind processor, and the value when the caller gives none (a literal, or a
    # constant IN list)
    binds: tuple[tuple[str, int, Callable[[Any], Any] | None, Any], ...]


_compiled: dict[int, tuple[Executable, Any]] = {}
_plans: dict[tuple[int, tuple[int, ...]], _Plan | None] = {}


def _compile(statement: Executable, connection: AsyncConnection) -> Any:
    """The statement compiled for the connection's dialect, once; None when it needs SQLAlchemy on each call."""
    held = _compiled.get(id(statement))
    if held is not None and held[0] is statement:
        return held[1]
    compiled: Any = statement.compile(dialect=connection.dialect)  # type: ignore[attr-defined]
    computed_here = compiled.insert_prefetch or compiled.update_prefetch  # Python-side column defaults, per call
    late = compiled.post_compile_params
    if computed_here or compiled.literal_execute_params or any(not b.expanding or b.type._is_tuple_type for b in late):
        compiled = None
    if len(_compiled) >= _PLANS_KEPT:
        _compiled.clear()
        _plans.clear()
    _compiled[id(statement)] = (statement, compiled)
    return compiled


def _plan(statement: Executable, connection: AsyncConnection, params: dict[str, Any]) -> _Plan | None:
    """The statement's SQL and parameter order, for these lengths of its IN lists."""
    compiled = _compile(statement, connection)
    if compiled is None:
        return None
    lists = sorted(compiled.post_compile_params, key=lambda bind: bind.key)  # a constant list's value is its own
    key = (id(statement), tuple(len(params.get(bind.key, bind.value)) for bind in lists))
    if key in _plans:
        return _plans[key]
    # SQLAlchemy's own expansion of the IN lists (a no-op without them), once per set of lengths
    expanded = compiled.construct_expanded_state(params, escape_names=False)
    origin = {name: (name, -1) for name in compiled.binds}  # positional name → (bind's name, index in its list)
    for name, expanded_names in expanded.parameter_expansion.items():
        origin.update({each: (name, i) for i, each in enumerate(expanded_names)})
    binds = []
    for name in expanded.positiontup or ():
        bind_name, index = origin[name]
        bind = compiled.binds[bind_name]
        processors = compiled._bind_processors if index < 0 else expanded.processors  # the latter: expanded only
        binds.append((bind.key, index, processors.get(name), bind.value))
    plan = _Plan(statement, expanded.statement, tuple(binds))
    _plans[key] = plan
    return plan


async def fetch(
    connection: AsyncConnection, statement: Executable, params: dict[str, Any], *, begin: bool = True
) -> Sequence[Any]:
    """The statement's rows (each a sequence of column values; none for a statement that returns nothing).

    `begin=False`: a lone read that needs no transaction runs on its own when none has begun (no BEGIN and ROLLBACK
    round trips); a statement after it begins one as usual."""
    plan = _plan(statement, connection, params) if connection.dialect.driver == "asyncpg" else None
    if plan is None:
        result = await connection.execute(statement, params)
        return result.all() if result.returns_rows else ()
    args = []
    for key, index, process, constant in plan.binds:
        value = params.get(key, constant) if index < 0 else params.get(key, constant)[index]
        args.append(process(value) if process is not None else value)
    sync_connection = connection.sync_connection
    assert sync_connection is not None  # an AsyncConnection in use always has one
    dispatch = sync_connection.dispatch
    if dispatch.before_cursor_execute:
        for listen in dispatch.before_cursor_execute:
            listen(sync_connection, None, plan.sql, tuple(args), None, False)
    adapted: Any = (await connection.get_raw_connection()).dbapi_connection
    async with adapted._execute_mutex:
        try:
            if begin and not adapted._started:
                await adapted._start_transaction()
            rows: Sequence[Any] = await adapted._connection.fetch(plan.sql, *args)
        except Exception as error:
            _reraise(connection, plan.sql, args, adapted, error)
    return rows


async def fetch_named(
    connection: AsyncConnection, statement: Select[Any], params: dict[str, Any], *, begin: bool = True
) -> Sequence[Any]:
    """`fetch` for a SELECT whose rows are read by column name, as SQLAlchemy gives them (which other databases get):
    each row's columns are attributes by their keys, and values pass through the columns' result processors (an enum
    column gives its member)."""
    rows = await fetch(connection, statement, params, begin=begin)
    if not rows or hasattr(rows[0], "_mapping"):  # SQLAlchemy's rows already are
        return rows
    held = _row_types.get(id(statement))
    if held is None or held[0] is not statement:
        new_type: Any = namedtuple("Row", list(statement.selected_columns.keys()))  # type: ignore[misc]
        dialect = connection.dialect
        found: list[Any] = [c.type._cached_result_processor(dialect, None) for c in statement.selected_columns]
        held = _row_types[id(statement)] = (statement, new_type, found)
    row_type, processors = held[1], held[2]
    if not any(processors):
        return [row_type._make(row) for row in rows]
    return [row_type._make([_processed(p, value) for p, value in zip(processors, row, strict=True)]) for row in rows]


def _processed(process: Callable[[Any], Any] | None, value: Any) -> Any:
    return value if process is None else process(value)


_row_types: dict[int, tuple[Select[Any], Any, list[Callable[[Any], Any] | None]]] = {}


def _reraise(connection: AsyncConnection, sql: str, args: list[Any], adapted: Any, error: Exception) -> None:
    """The driver's error as SQLAlchemy raises it: the adapter maps it to a DB-API error, then to its
    `sqlalchemy.exc` class; a lost connection is invalidated, as SQLAlchemy does, so the pool discards it and the
    error says so (`connection_invalidated`: the shop answers 503, not 500)."""
    try:
        adapted._handle_exception(error)
    except Exception as dbapi_error:
        dialect = connection.dialect
        lost = isinstance(dbapi_error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(dbapi_error, adapted, None)
        wrapped = DBAPIError.instance(
            sql, tuple(args), dbapi_error, dialect.loaded_dbapi.Error, dialect=dialect, connection_invalidated=lost
        )
        sync_connection = connection.sync_connection
        if lost and sync_connection is not None and not sync_connection.invalidated:
            sync_connection.invalidate(dbapi_error)
        raise wrapped from error
    raise error
