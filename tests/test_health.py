"""Health, liveness and readiness."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient


async def test_health_reports_database_cache_and_search(client: AsyncTestClient[Litestar]) -> None:
    # when
    response = await client.get("/health")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"] == {"status": "ok", "backend": "memory"}
    assert body["checks"]["search"]["status"] == "ok"


async def test_liveness_and_readiness(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    assert (await client.get("/health/ready")).json() == {"status": "ok"}
