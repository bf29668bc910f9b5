"""Test fixtures: real SQLite and PostgreSQL databases built by `alembic upgrade head`, an app per test.

Database tests take the `db_url` fixture (directly or through `app`/`client`/`session`), which is parametrised
over both backends. Each backend's database is migrated once per test session and emptied before each test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from migrations.models import load_all_models
from shop.app import create_app
from shop.cli import migrate_to
from shop.db import create_engine, create_session_factory
from shop.settings import DatabaseSettings, Settings
from shop.threads import run_in_thread
from tests.pg import PG_ADMIN_DSN, create_database, drop_database, postgres_available

BACKENDS = ["sqlite", "postgresql"]

# The suite (the schema fuzzer, page and API tests, the servers the fault tests start) makes far more searches,
# checkouts and pickup attempts a minute from 127.0.0.1 than any person; those limits are off here (0), and
# tests/security/test_rate_limits.py turns each on with its own number. The log-in limit stays at its default
# (tests/test_accounts.py checks it).
for _name in ("PICKUP_CODE_RATE_PER_MINUTE", "SEARCH_RATE_PER_MINUTE", "CHECKOUT_RATE_PER_MINUTE"):
    os.environ.setdefault(_name, "0")


_run_in_thread = run_in_thread  # Alembic's env runs its own event loop; keep it off the test loop


@pytest.fixture(scope="session")
def worker_tag(request: pytest.FixtureRequest) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return f"{os.getpid()}_{worker}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "hub_test.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    _run_in_thread(migrate_to, "head", url)
    return url


@pytest.fixture(scope="session")
def postgresql_url(worker_tag: str) -> Iterator[str]:
    if not postgres_available():
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_DSN}. Start it (make test starts a throwaway one when the "
            "server is installed: apt-get install postgresql) or set TEST_PG_DSN."
        )
    name = f"hub_test_{worker_tag}"
    url = create_database(name)
    _run_in_thread(migrate_to, "head", url)
    yield url
    drop_database(name)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    if url.startswith("sqlite"):
        # Each test gets its own copy of the migrated file: a connection an earlier test leaked (a task cancelled
        # mid-transaction) can never hold this test's write lock.
        template = Path(url.split("///", 1)[1])
        copy = request.getfixturevalue("tmp_path") / "hub_test.sqlite3"
        shutil.copyfile(template, copy)
        url = f"sqlite+aiosqlite:///{copy}"
    return url


async def empty_database(url: str) -> None:
    metadata = load_all_models().metadata
    tables = [t.name for t in metadata.sorted_tables]
    engine = create_engine(DatabaseSettings.model_validate({"DATABASE_URL": url}), null_pool=True)
    try:
        async with engine.begin() as conn:
            if url.startswith("sqlite"):
                await conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
                for name in reversed(tables):
                    await conn.execute(text(f'DELETE FROM "{name}"'))
            else:
                # A connection the previous test left behind (a task cancelled mid-query, a client dropped without
                # close) can still hold share locks here: end it first, so TRUNCATE never waits on or deadlocks with it.
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                joined = ", ".join(f'"{name}"' for name in tables)
                await conn.execute(text(f"TRUNCATE TABLE {joined} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


def make_settings(db_url: str, tmp_path: Path, **env: str) -> Settings:
    os.environ.setdefault("APP_ENV", "test")
    settings = Settings()
    settings.db = DatabaseSettings.model_validate({"DATABASE_URL": db_url, "DATABASE_POOL": "null"})
    # No in-process job loops: tests run jobs explicitly, and a loop cancelled at shutdown mid-transaction could
    # leave SQLite's write lock held for the next test.
    settings.app = settings.app.model_copy(
        update={"var_dir": tmp_path / "var", "environment": "test", "inprocess_worker": False}
    )
    settings.redis = settings.redis.model_copy(update={"url": env.get("REDIS_URL")})
    return settings


@pytest.fixture
async def settings(db_url: str, tmp_path: Path) -> Settings:
    await empty_database(db_url)
    return make_settings(db_url, tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    application = create_app(settings)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        # The search warm-up starts with the app and briefly holds SQLite's write lock (its outbox cursor). A test's
        # own session begins DEFERRED, and SQLite refuses at once ("database is locked", no busy wait) a read
        # transaction that tries to write while another connection holds that lock: let the warm-up finish first.
        deadline = asyncio.get_running_loop().time() + 60
        while not app.state.get("search_warmed_up", True):  # set on the test client's own loop (another thread)
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)
        yield test_client


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """The test's own session. On SQLite it begins DEFERRED, so a test holding a read open never blocks the app."""
    engine = create_engine(settings.db, null_pool=True, sqlite_immediate=False)
    async with create_session_factory(engine)() as db_session:
        yield db_session
    await engine.dispose()
