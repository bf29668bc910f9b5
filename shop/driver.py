"""Hot prebuilt Core statements run straight on the database driver's connection (asyncpg), in the session's
transaction.

A paid checkout sends a handful of statements each carrying dozens of parameters (an order and its lines, the
reservations, the ledger split, the shipment with its legs: `shop.inserts`). SQLAlchemy's execution layer prepares
every parameter through its compiled form on each call and wraps the driver in a cursor adapter and a greenlet
switch; on these statements that cost more client CPU than the driver and the round trip together (A/B under the
checkout bench: +9 to +18 % paid checkouts per second). So a statement is compiled once for the connection's dialect,
its parameters are put in order with SQLAlchemy's own bind processors (enums, JSON, dates), and it goes to
`asyncpg.Connection.fetch`, which keeps it prepared.

Everything else keeps SQLAlchemy's behaviour:
- the transaction: the statement runs in the one the session has begun, started on the driver first if SQLAlchemy
  has not yet sent its BEGIN (it does so lazily), so commit and rollback cover it;
- errors: a driver error becomes the SQLAlchemy exception the same statement would have raised (`IntegrityError`
  for a unique violation, and so on);
- observability: `before_cursor_execute` listeners (statement counts in tests and the bench) see the statement,
  with no cursor and no execution context;
- other databases (SQLite), other drivers, and statements with expanding or post-compiled parameters (`IN` lists)
  or with column defaults SQLAlchemy computes per call (`created_at` left out of an INSERT, an `onupdate`) run
  through SQLAlchemy as usual.

The rows come back as the driver gives them (no result processing: an enum column is its stored string).

This leans on two private attributes of SQLAlchemy's asyncpg adapter (`_started`, `_start_transaction`) and the
compiled statement's bind processors; tests on PostgreSQL pin the behaviour (`tests/shop/test_driver.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

_PLANS_KEPT = 256  # statements are module constants or cached per shape: a few dozen are ever used


@dataclass(frozen=True, slots=True)
class _Plan:
    statement: Executable  # held so its id is not reused while the plan is kept
    sql: str
    # per positional parameter: its key in the caller's dict, SQLAlchemy's bind processor, the value when not given
    binds: tuple[tuple[str, Callable[[Any], Any] | None, Any], ...]


_plans: dict[int, _Plan | None] = {}


def _plan(statement: Executable, connection: AsyncConnection) -> _Plan | None:
    """The statement compiled once for the connection's dialect; None when it needs SQLAlchemy each time."""
    key = id(statement)
    if key in _plans:
        plan = _plans[key]
        if plan is None or plan.statement is statement:
            return plan
    compiled: Any = statement.compile(dialect=connection.dialect)  # type: ignore[attr-defined]
    plan = None
    computed_here = compiled.insert_prefetch or compiled.update_prefetch  # Python-side column defaults, per call
    if not (computed_here or compiled.post_compile_params or compiled.literal_execute_params) and compiled.positiontup:
        processors = compiled._bind_processors
        binds = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.expanding or bind.callable is not None:
                break
            binds.append((bind.key, processors.get(name), bind.value))
        else:
            plan = _Plan(statement, compiled.string, tuple(binds))
    if len(_plans) >= _PLANS_KEPT:
        _plans.clear()
    _plans[key] = plan
    return plan


async def fetch(connection: AsyncConnection, statement: Executable, params: dict[str, Any]) -> Sequence[Any]:
    """The statement's rows (each a sequence of column values; none for a statement that returns nothing)."""
    plan = _plan(statement, connection) if connection.dialect.driver == "asyncpg" else None
    if plan is None:
        result = await connection.execute(statement, params)
        return result.all() if result.returns_rows else ()
    args = []
    for key, process, constant in plan.binds:
        value = params.get(key, constant)
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
            if not adapted._started:
                await adapted._start_transaction()
            rows: Sequence[Any] = await adapted._connection.fetch(plan.sql, *args)
        except Exception as error:
            _reraise(connection, plan.sql, args, adapted, error)
    return rows


def _reraise(connection: AsyncConnection, sql: str, args: list[Any], adapted: Any, error: Exception) -> None:
    """The driver's error as SQLAlchemy raises it: the adapter maps it to a DB-API error, then to its
    `sqlalchemy.exc` class."""
    try:
        adapted._handle_exception(error)
    except Exception as dbapi_error:
        dialect = connection.dialect
        raise DBAPIError.instance(sql, tuple(args), dbapi_error, dialect.loaded_dbapi.Error, dialect=dialect) from error
    raise error
