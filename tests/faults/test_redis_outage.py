"""Redis stops mid-run: checkout, cart, log-in and pages keep working; live figures resume when it returns and
catch up from the ledger (`hub live rebuild-leaderboards`, the documented step after a Redis loss).

The app runs under uvicorn on this loop, on PostgreSQL, with REDIS_URL pointing at a throwaway `redis-server`
(no persistence) that the test kills and starts again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import Litestar

from livestream.models import LiveSession, SessionStatus
from livestream.services.figures import LiveFigures
from livestream.services.leaderboards import LeaderboardService
from shop.accounts.models import Role
from shop.app import create_app
from shop.db import utcnow
from tests import factories
from tests.conftest import make_settings
from tests.faults.support import pg_database, redis_process
from tests.livestream.helpers import streamer, studio

pytestmark = [pytest.mark.xdist_group("faults-redis"), pytest.mark.timeout(600)]


@contextlib.asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


async def test_checkout_and_pages_survive_a_redis_outage_and_live_figures_catch_up(tmp_path: Path) -> None:
    with pg_database("redis") as url, redis_process() as redis:
        app = create_app(make_settings(url, tmp_path, REDIS_URL=redis.url))
        try:
            # given a shop and a streamer live now with a share code
            async with app.state.session_factory() as session:
                cat = await factories.small_catalogue(session)
                host = await streamer(session)
                room = await studio(session)
                buyer = await factories.user(session, Role.BUYER)
                kiosk = await factories.user(session, Role.KIOSK)
                now = utcnow()
                live = LiveSession(
                    studio_id=room.id,
                    streamer_user_id=host.id,
                    title="红糖直播",
                    starts_at=now - dt.timedelta(minutes=10),
                    ends_at=now + dt.timedelta(hours=2),
                    block_until=now + dt.timedelta(hours=2, minutes=15),
                    status=SessionStatus.LIVE,
                    commission_bp=800,
                    share_code="F" + uuid.uuid4().hex[:8].upper(),
                    went_live_at=now - dt.timedelta(minutes=10),
                )
                session.add(live)
                await session.commit()
                variant, product, code = cat.product.variant.id, cat.product.product.id, live.share_code
            buyer_h, kiosk_h = factories.auth(buyer), factories.auth(kiosk)

            async def buy(client: httpx.AsyncClient) -> int:
                body = {
                    "delivery": {"method": "pickup", "pickup_point_id": 7},
                    "payment_method": "offline",
                    "lines": [{"variant_id": variant, "quantity": 1, "share_code": code}],
                }
                r = await client.post(
                    "/api/checkout", json=body, headers={**buyer_h, "Idempotency-Key": uuid.uuid4().hex}
                )
                assert r.status_code == 201, r.text
                p = await client.post(f"/api/orders/{r.json()['id']}/payments/offline", headers=kiosk_h)
                assert p.status_code == 200, p.text
                return int(r.json()["total_fen"])

            async def figures(client: httpx.AsyncClient) -> tuple[int, int]:
                f = (await client.get(f"/api/live/sessions/{live.id}/figures")).json()
                return f["orders"], f["gmv_fen"]

            async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
                first = await buy(client)
                assert await figures(client) == (1, first)
                assert (await client.get("/health")).json()["checks"]["cache"] == {"status": "ok", "backend": "redis"}

                # when Redis dies
                redis.kill()

                # then buyers still check out and pay, browse, fill a cart and log in; health says degraded
                second = await buy(client)
                assert (await client.get(f"/api/products/{product}")).status_code == 200
                assert (await client.get("/api/products")).status_code == 200
                assert (await client.get("/api/search/", params={"q": "红糖"})).status_code == 200
                cart = await client.post("/api/cart/lines", json={"variant_id": variant, "quantity": 1})
                assert cart.status_code == 201, cart.text
                async with httpx.AsyncClient(base_url=base, timeout=30) as fresh:  # no cart cookie: no CSRF
                    login = await fresh.post(
                        "/api/auth/login", json={"username": buyer.username, "password": factories.PASSWORD}
                    )
                assert login.status_code in (200, 201), login.text
                page = await client.get("/login", headers={"Accept": "text/html"})
                assert page.status_code == 200
                health = await client.get("/health")
                assert health.status_code == 200
                assert health.json()["status"] == "degraded"
                assert health.json()["checks"]["cache"] == {"status": "degraded", "backend": "redis"}
                assert (await client.get("/health/ready")).status_code == 200

                # when Redis comes back (empty: it kept nothing)
                redis.start()
                # then live figures resume with the next paid order
                third = await buy(client)
                assert await figures(client) == (1, third)
                # and the documented rebuild catches up every order paid, including the one during the outage
                async with app.state.session_factory() as session:
                    await LeaderboardService(session, LiveFigures.for_app(app)).rebuild()
                assert await figures(client) == (3, first + second + third)
                assert (await client.get("/health")).json()["status"] == "ok"
        finally:
            await app.state.engine.dispose()
