"""PostgreSQL drops the app's connections (`pg_terminate_backend`): a clean 503, then success after reconnecting.

The hub is served in a subprocess on its own PostgreSQL database. A checkout is made to wait on a row lock the
test holds, and its backend is terminated mid-transaction: the buyer gets a 503 with Retry-After (never a 500), the
log line for it carries the request's id, nothing of the order is written, and the same request retried with its
Idempotency-Key succeeds on a fresh connection.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from shop.accounts.models import Role
from shop.db import PING_AFTER_IDLE_S
from tests import factories
from tests.faults.support import SECRET, HubServer, count, db_session, hub_env, pg_database, reconcile, stock_snapshot
from tests.pg import PG_ADMIN_DSN
from tests.shop.helpers import checkout_body, make_shop

pytestmark = [pytest.mark.xdist_group("faults-serve"), pytest.mark.timeout(600)]


def _dsn(url: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1]


async def _app_backends(admin: asyncpg.Connection, exclude: set[int]) -> list[asyncpg.Record]:
    rows = await admin.fetch(
        "SELECT pid, wait_event_type FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> ALL($1::int[])",
        list(exclude),
    )
    return list(rows)


async def test_terminated_connections_answer_503_then_the_retry_succeeds(tmp_path: Path) -> None:
    with pg_database("pgdrop") as url:
        # given the hub serving a shop, with a buyer and the kiosk
        async with db_session(url) as session:
            shop = await make_shop(session)
            buyer = await factories.user(session, Role.BUYER)
            await session.commit()
            before = await stock_snapshot(session)
        headers = {**factories.auth(buyer, SECRET), "Idempotency-Key": uuid.uuid4().hex, "X-Request-Id": "fault0001"}
        body = checkout_body((shop.sugar.variant.id, 2))
        server = HubServer(hub_env(url), tmp_path / "hub.log")
        server.start()
        admin = await asyncpg.connect(_dsn(url))
        holder = await asyncpg.connect(_dsn(url))
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                # and its pooled connections were all cut while idle: the next request still succeeds
                assert (await client.get(f"/api/products/{shop.sugar.product.id}")).status_code == 200
                own = {
                    await admin.fetchval("SELECT pg_backend_pid()"),
                    await holder.fetchval("SELECT pg_backend_pid()"),
                }
                idle = await _app_backends(admin, own)
                assert idle, "the app keeps pooled connections"
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", [r["pid"] for r in idle]
                )
                # idle for longer than the pool hands a connection out unchecked (shop.db.PING_AFTER_IDLE_S)
                await asyncio.sleep(PING_AFTER_IDLE_S + 0.1)
                assert (await client.get(f"/api/products/{shop.sugar.product.id}")).status_code == 200

                # when a checkout waits on a stock row the test has locked, and its connection is terminated
                tx = holder.transaction()
                await tx.start()
                await holder.execute(
                    "SELECT 1 FROM stock_level WHERE variant_id = $1 FOR UPDATE", shop.sugar.variant.id
                )
                pending = asyncio.create_task(client.post("/api/checkout", json=body, headers=headers))
                deadline = time.monotonic() + 60
                while not [r for r in await _app_backends(admin, own) if r["wait_event_type"] == "Lock"]:
                    assert time.monotonic() < deadline, "the checkout never reached the locked row"
                    assert not pending.done(), pending.result().text
                    await asyncio.sleep(0.05)
                waiting = [r["pid"] for r in await _app_backends(admin, own)]
                await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", waiting)
                cut = await pending
                await tx.rollback()

                # then the buyer gets a clean 503 with Retry-After and the request id, and no order was written
                assert cut.status_code == 503, cut.text
                assert cut.headers["retry-after"] == "2"
                assert cut.headers["x-request-id"] == "fault0001"
                assert cut.json() == {
                    "status_code": 503,
                    "detail": "The database is unavailable; please retry shortly.",
                    "errors": [],
                }
                async with db_session(url) as session:
                    assert await count(session, "SELECT count(*) FROM shop_order") == 0
                    assert await reconcile(session, before) == []

                # and the same request, retried with its Idempotency-Key, succeeds on a new connection
                retried = await client.post(
                    "/api/checkout", json=body, headers={**headers, "X-Request-Id": "fault0002"}
                )
                assert retried.status_code == 201, retried.text
                again = await client.post("/api/checkout", json=body, headers=headers)
                assert (again.status_code, again.json()["id"]) == (201, retried.json()["id"])
                assert (await client.get("/health/ready")).json() == {"status": "ok"}
            async with db_session(url) as session:
                assert await count(session, "SELECT count(*) FROM shop_order") == 1
                assert await reconcile(session, before) == []
        finally:
            await admin.close()
            await holder.close()
            server.stop()

        # and the server's log says why, as JSON carrying the failed request's id
        lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
        failed = [line for line in lines if line.get("event") == "database_unavailable"]
        assert failed and all(line["request_id"] == "fault0001" for line in failed)
        assert failed[0]["level"] == "warning"
