"""The search backend (Meilisearch) fails: searches are answered by the embedded copy, `/health` says degraded,
`/metrics` counts the degraded searches; when it answers again, health is ok. Through the whole app, on the local
Meilisearch stand-in (the engine-level fallback is tested in tests/search/test_fallback.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from shop.app import create_app
from tests import factories
from tests.conftest import empty_database, make_settings
from tests.search.meili_standin import MeiliStandIn
from tests.test_metrics import SCRAPER, TOKEN, scrape, value

pytestmark = pytest.mark.timeout(300)


async def test_a_failed_search_backend_falls_back_and_health_reports_it(db_url: str, tmp_path: Path) -> None:
    standin = MeiliStandIn().start()
    try:
        # given the app on Meilisearch with a product indexed (the warm-up fills Meilisearch and the embedded copy)
        await empty_database(db_url)
        settings = make_settings(db_url, tmp_path)
        settings.search = settings.search.model_copy(update={"backend": "meilisearch"})
        settings.meilisearch = settings.meilisearch.model_copy(
            update={"url": standin.url, "api_key": "fault-key", "timeout_seconds": 1.0}
        )
        settings.app = settings.app.model_copy(update={"metrics_token": TOKEN})
        app = create_app(settings)
        async with app.state.session_factory() as session:
            cat = await factories.small_catalogue(session)
            await session.commit()
        async with AsyncTestClient(app=app) as client:
            for _ in range(200):  # the warm-up runs in the background after start
                r = await client.get("/api/search/", params={"q": cat.product.product.title})
                if r.status_code == 200 and r.json()["total"] == 1:
                    break
                await asyncio.sleep(0.1)
            assert r.json()["degraded"] is False
            assert (await client.get("/health")).json()["status"] == "ok"
            before = await scrape(client)

            # when Meilisearch fails
            standin.down = True

            # then the search still finds the product, marked degraded, and health says why
            found = await client.get("/api/search/", params={"q": cat.product.product.title})
            assert found.status_code == 200
            assert (found.json()["total"], found.json()["degraded"]) == (1, True)
            assert found.json()["hits"][0]["id"] == cat.product.product.id
            health = await client.get("/health")
            assert health.status_code == 200
            body = health.json()
            assert body["status"] == "degraded"
            assert body["checks"]["search"]["status"] == "degraded"
            assert body["checks"]["search"]["backend"] == "meilisearch"
            assert body["checks"]["database"]["status"] == "ok"
            assert (await client.get("/health/ready")).status_code == 200
            after = await scrape(client)
            labels = {"backend": "meilisearch+fallback", "degraded": "true"}
            assert (
                value(after, "hub_search_duration_seconds_count", **labels)
                - value(before, "hub_search_duration_seconds_count", **labels)
                == 1
            )

            # when it answers again, health is ok again
            standin.down = False
            assert (await client.get("/health")).json()["status"] == "ok"
            assert (await client.get("/metrics", headers=SCRAPER)).status_code == 200
        await app.state.engine.dispose()
    finally:
        standin.stop()
