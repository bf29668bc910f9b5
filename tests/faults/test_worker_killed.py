"""The worker dies mid-job: the outbox rows it had claimed are retried by the next worker and applied once.

`hub worker` runs in a subprocess with the shared (Meilisearch) index, here the local stand-in that speaks its HTTP
API. The stand-in holds the worker's document write until the test has SIGKILLed the worker; PostgreSQL then ends
the worker's transaction, releasing the claimed rows. A new worker applies them, marks them processed once, and
later rounds send nothing more. (Delivery to the index is at least once; the write is an idempotent upsert by id,
so the index ends with one current copy of each document.)
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shop.outbox import SEARCH_TOPIC, OutboxEvent, emit_search
from tests import factories
from tests.faults.support import HubProcess, db_session, hub_env, pg_database
from tests.search.meili_standin import MeiliStandIn

pytestmark = [pytest.mark.xdist_group("faults-worker"), pytest.mark.timeout(600)]
START_WITHIN = 300.0


class HoldingStandIn(MeiliStandIn):
    """Holds document writes while `hold` is set (the worker is mid-job), answering everything else at once."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.held = threading.Event()

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "POST" and path.split("?")[0].endswith("/documents") and self.hold.is_set():
            self.held.set()
            while self.hold.is_set():
                time.sleep(0.05)
        return super().handle(method, path, body)


def _document_writes(standin: MeiliStandIn) -> int:
    return len([1 for method, path, _ in standin.requests if method == "POST" and "/documents" in path.split("?")[0]])


def _wait(condition: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


async def _events(url: str) -> list[OutboxEvent]:
    async with db_session(url) as session:
        rows = list((await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == SEARCH_TOPIC))).all())
        await session.commit()
    return rows


async def test_a_worker_killed_mid_job_leaves_its_rows_to_the_next_which_applies_them_once(tmp_path: Path) -> None:
    standin = HoldingStandIn().start()
    try:
        with pg_database("worker") as url:
            # given two products announced to the search outbox
            async with db_session(url) as session:
                cat = await factories.small_catalogue(session)
                tea = await factories.product(session, cat.workshop, cat.sub_brand, "松阳银猴茶")
                emit_search(session, "product", cat.product.product.id, "created")
                emit_search(session, "product", tea.product.id, "created")
                await session.commit()
            env = hub_env(
                url,
                SEARCH_BACKEND="meilisearch",
                MEILISEARCH_URL=standin.url,
                MEILISEARCH_API_KEY="fault-test-key",
                MEILISEARCH_TIMEOUT="120",
            )
            # when a worker claims them and is killed while its index write is in flight
            standin.hold.set()
            first = HubProcess(["worker"], env, tmp_path / "worker-1.log").start()
            try:
                _wait(standin.held.is_set, START_WITHIN, "the worker never wrote to the index")
                claimed = await _events(url)
                assert [e.processed_at for e in claimed] == [None, None]
                first.stop(signal.SIGKILL)
            finally:
                first.stop(signal.SIGKILL)
                standin.hold.clear()

            # then the rows are still pending, unmarked
            rows = await _events(url)
            assert [(e.processed_at, e.attempts) for e in rows] == [(None, 0), (None, 0)]

            # when the next worker starts
            second = HubProcess(["worker"], env, tmp_path / "worker-2.log").start()
            try:
                deadline = time.monotonic() + START_WITHIN
                while any(e.processed_at is None for e in await _events(url)):
                    assert time.monotonic() < deadline, second.log()[-3000:]
                    await asyncio.sleep(0.2)
                writes = _document_writes(standin)
                # and runs a few more rounds (it polls every second)
                await asyncio.sleep(4)
                assert _document_writes(standin) == writes
            finally:
                second.stop()
            # then both rows are applied and marked once, without errors, and the index has each product once
            rows = await _events(url)
            assert all(e.processed_at is not None and e.last_error is None for e in rows)
            index = next(i for uid, i in standin.indexes.items() if uid.endswith("products"))
            assert sorted(int(k) for k in index["docs"]) == sorted([cat.product.product.id, tea.product.id])
    finally:
        standin.stop()
