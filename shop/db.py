"""Declarative base, engine and session factory shared by every bounded context.

Primary keys are BIGINT on PostgreSQL and INTEGER (rowid alias) on SQLite; timestamps are UTC-aware on both.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, Integer, MetaData, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only

from shop.settings import DatabaseSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# One id type for every table: BIGINT where it matters, the rowid alias on SQLite so autoincrement works.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: DateTimeUTC(timezone=True), dict[str, Any]: JSONType, list[Any]: JSONType}


class IdMixin:
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow, nullable=False
    )


def create_engine(settings: DatabaseSettings, *, null_pool: bool = False, sqlite_immediate: bool = True) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": settings.echo}
    if settings.is_sqlite:
        # SQLite serialises writers; a generous busy timeout turns contention into waiting, not errors.
        kwargs["connect_args"] = {"timeout": 30}
        kwargs["poolclass"] = NullPool
    elif null_pool or settings.pool == "null":
        kwargs["poolclass"] = NullPool
    else:
        # Last in, first out: the connections used a moment ago go out again, warm (their prepared statements, their
        # server process's caches, inside the check window below); the others sit idle until a burst needs them.
        kwargs.update(
            pool_size=settings.pool_size, max_overflow=settings.max_overflow, pool_recycle=600, pool_use_lifo=True
        )
    engine = create_async_engine(settings.url, **kwargs)
    if settings.is_sqlite:
        _configure_sqlite(engine, immediate=sqlite_immediate)
    elif kwargs.get("poolclass") is not NullPool:
        _ping_on_checkout(engine)
    return engine


# A connection back in the pool for less than this is handed out unchecked (HikariCP's `aliveBypassWindowMs`, 500 ms
# by default): under load every connection is reused within milliseconds, and the check was a tenth of the round
# trips of a paid checkout. A drop the client has already seen (the server's goodbye, a closed socket) is still
# caught at once by `is_closed()`, which costs no round trip.
PING_AFTER_IDLE_S = 0.5


def _ping_on_checkout(engine: AsyncEngine) -> None:
    """Check a pooled connection that sat idle as it is checked out, with one empty query.

    A connection the server dropped while idle (a restart, a failover, an idle timeout) is then replaced before a
    buyer's request uses it: no request fails for a drop it could not have caused (tests/faults/
    test_database_drops.py). This is SQLAlchemy's `pool_pre_ping` without the transaction its asyncpg ping opens and
    rolls back for pgbouncer's transaction mode (not used here): one round trip instead of three, and none for a
    connection used within the last `PING_AFTER_IDLE_S`. Connections also renew every 10 min (`pool_recycle`).
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        try:
            if driver.is_closed():
                raise ConnectionError("closed by the server")
            returned = record.info.get("checked_in_at")
            if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_S:
                return
            await_only(driver.fetchrow(";"))
        except Exception as exc:  # the pool replaces the connection (and checks the new one the same way)
            raise DisconnectionError(str(exc)) from exc


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy own transactions so BEGIN IMMEDIATE can take the write lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every transaction that may write takes the lock at BEGIN: no read-then-upgrade deadlocks, no oversell.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session
