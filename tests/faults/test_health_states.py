"""Liveness, readiness and health when the database cannot be reached at all (a stopped PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from shop.app import create_app
from tests.conftest import make_settings
from tests.faults.support import free_port

pytestmark = pytest.mark.timeout(300)


async def test_a_stopped_database_fails_readiness_but_not_liveness(tmp_path: Path) -> None:
    # given the app pointed at a PostgreSQL port nothing listens on
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/hub"
    app = create_app(make_settings(url, tmp_path))
    async with AsyncTestClient(app=app) as client:
        # then the process is alive, but not ready, and health says the database is unavailable
        assert (await client.get("/health/live")).json() == {"status": "ok"}
        ready = await client.get("/health/ready")
        assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})
        health = await client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"
        assert health.json()["checks"]["database"] == {"status": "unavailable", "backend": "postgresql"}
        # and a request that needs the database gets a clean 503 with Retry-After, not a 500
        products = await client.get("/api/products")
        assert products.status_code == 503
        assert products.headers["retry-after"] == "2"
        assert products.json()["status_code"] == 503
    await app.state.engine.dispose()
