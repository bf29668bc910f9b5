"""Real services for fault tests: a throwaway Redis, the hub served in a subprocess, a migrated PostgreSQL database.

The machine running the suite may be busy: the hub's import and start can take a minute there, so every wait is
generous and polls, and nothing is killed by name (only the processes started here, by pid or process group).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shop.cli import migrate_to
from shop.db import create_engine, create_session_factory
from shop.settings import DatabaseSettings
from shop.threads import run_in_thread
from tests.pg import create_database, drop_database, postgres_available

SECRET = "fault-tests-secret-key-0123456789abcdef"
HUB = str(Path(sys.executable).parent / "hub")
START_WITHIN = 600.0  # seconds; a loaded 2-core machine took ~110 s to start two workers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """`redis-server` on a free port, no persistence: stopping it loses everything, as a crashed cache would."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@contextlib.contextmanager
def redis_process() -> Iterator[RedisProcess]:
    redis = RedisProcess().start()
    try:
        yield redis
    finally:
        redis.kill()


@contextlib.contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database; dropped afterwards."""
    if not postgres_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"hub_fault_{prefix}_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    run_in_thread(migrate_to, "head", url)
    try:
        yield url
    finally:
        drop_database(name)


@contextlib.asynccontextmanager
async def db_session(url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(DatabaseSettings.model_validate({"DATABASE_URL": url}), null_pool=True)
    try:
        async with create_session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def hub_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "PROMETHEUS_", "SEARCH_", "MEILI"))}
    env.update(
        {
            "APP_ENV": "production",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": db_url,
            "INPROCESS_WORKER": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class HubProcess:
    """`hub <args>` in its own process group, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args, self.env, self.log_path = args, env, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> HubProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [HUB, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    def send_signal(self, sig: int) -> None:
        """To the whole group: `hub serve --workers N` is a supervisor with N worker processes."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, wait: float = 30) -> None:
        if self.proc is None:
            return
        self.send_signal(sig)
        try:
            self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        # A SIGKILLed supervisor leaves its workers orphaned in the group: end them too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class HubServer(HubProcess):
    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 1, port: int | None = None) -> None:
        self.port = port or free_port()
        super().__init__(
            ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)], env, log_path
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HubServer:
        super().start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop(signal.SIGKILL)
            raise
        return self

    def wait_ready(self, within: float = START_WITHIN, path: str = "/health/ready") -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub serve exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=5).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"hub serve did not become ready:\n{self.log()[-3000:]}")


async def count(session: AsyncSession, sql: str, **params: object) -> int:
    from sqlalchemy import text

    value = (await session.execute(text(sql), params)).scalar_one()
    await session.commit()
    return int(value or 0)


async def stock_snapshot(session: AsyncSession) -> dict[int, int]:
    """on_hand of every stock level, by id."""
    from sqlalchemy import text

    rows = (await session.execute(text("SELECT id, on_hand FROM stock_level"))).all()
    await session.commit()
    return {int(r[0]): int(r[1]) for r in rows}


async def reconcile(session: AsyncSession, on_hand_before: dict[int, int]) -> list[str]:
    """Everything that does not add up between stock, reservations, orders and the ledger (empty: all consistent).

    - reserved on each stock level = the units of its active reservations;
    - on_hand went down by exactly the units of its committed (paid) reservations;
    - every order has lines, every line a reservation, in the state its order's status implies;
    - the ledger holds exactly the paid lines' net amounts.
    """
    from sqlalchemy import text

    problems: list[str] = []
    levels = (
        await session.execute(
            text(
                "SELECT s.id, s.on_hand, s.reserved,"
                " coalesce(sum(r.quantity) FILTER (WHERE r.state = 'active'), 0),"
                " coalesce(sum(r.quantity) FILTER (WHERE r.state = 'committed'), 0)"
                " FROM stock_level s LEFT JOIN stock_reservation r ON r.stock_level_id = s.id GROUP BY s.id"
            )
        )
    ).all()
    for level_id, on_hand, reserved, active, committed in levels:
        if reserved != active:
            problems.append(f"stock level {level_id}: reserved {reserved} but active reservations hold {active}")
        if on_hand_before[level_id] - on_hand != committed:
            problems.append(
                f"stock level {level_id}: on_hand {on_hand_before[level_id]} → {on_hand} but {committed} units paid"
            )
    checks = {
        "orders without lines": "SELECT count(*) FROM shop_order o"
        " WHERE NOT EXISTS (SELECT 1 FROM order_line l WHERE l.order_id = o.id)",
        "lines without a reservation": "SELECT count(*) FROM order_line l"
        " WHERE NOT EXISTS (SELECT 1 FROM stock_reservation r WHERE r.order_line_id = l.id)",
        "paid orders with units not committed": "SELECT count(*) FROM stock_reservation r"
        " JOIN shop_order o ON o.id = r.order_id WHERE o.status = 'paid' AND r.state <> 'committed'",
        "unpaid orders with units not held": "SELECT count(*) FROM stock_reservation r"
        " JOIN shop_order o ON o.id = r.order_id WHERE o.status = 'pending_payment' AND r.state <> 'active'",
        "committed units of orders not paid": "SELECT count(*) FROM stock_reservation r"
        " JOIN shop_order o ON o.id = r.order_id WHERE r.state = 'committed' AND o.status <> 'paid'",
    }
    for what, sql in checks.items():
        found = (await session.execute(text(sql))).scalar_one()
        if found:
            problems.append(f"{found} {what}")
    ledger = (await session.execute(text("SELECT coalesce(sum(amount_fen), 0) FROM ledger_entry"))).scalar_one()
    paid_net = (
        await session.execute(
            text(
                "SELECT coalesce(sum(l.net_fen), 0) FROM order_line l JOIN shop_order o ON o.id = l.order_id"
                " WHERE o.status = 'paid'"
            )
        )
    ).scalar_one()
    if ledger != paid_net:
        problems.append(f"ledger holds {ledger} fen but paid lines are worth {paid_net} fen")
    await session.commit()
    return problems
