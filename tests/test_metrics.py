"""`/metrics`: who may read it, and what it counts (requests by route template, checkouts, payments, search,
queues). Counters are process-wide, so each test compares two scrapes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from shop.app import create_app
from shop.settings import Settings
from tests.shop.helpers import checkout_body, make_shop

TOKEN = "scrape-token-for-tests-0123456789"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def metrics_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings.app = settings.app.model_copy(update={"metrics_token": TOKEN})
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        yield client
    await app.state.engine.dispose()


async def scrape(client: AsyncTestClient[Litestar]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await client.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_need_the_token_or_a_loopback_client(metrics_client: AsyncTestClient[Litestar]) -> None:
    # when a scraper sends no token, or a wrong one
    bare = await metrics_client.get("/metrics")
    wrong = await metrics_client.get("/metrics", headers={"Authorization": "Bearer nope"})
    # then it is refused without a single figure
    assert (bare.status_code, wrong.status_code) == (403, 403)
    assert "hub_" not in bare.text + wrong.text
    # and with the token it reads them
    assert (await metrics_client.get("/metrics", headers=SCRAPER)).status_code == 200


async def test_without_a_token_only_loopback_reads_metrics(client: AsyncTestClient[Litestar]) -> None:
    # given no METRICS_TOKEN: the test client connects as "testclient", not from 127.0.0.1 or ::1
    r = await client.get("/metrics")
    assert r.status_code == 403
    assert r.text == "metrics are readable from loopback or with the METRICS_TOKEN bearer token\n"


async def test_requests_are_counted_by_route_template_never_by_path(metrics_client: AsyncTestClient[Litestar]) -> None:
    before = await scrape(metrics_client)
    # when a product page that does not exist is asked for twice
    for _ in range(2):
        assert (await metrics_client.get("/api/products/987654")).status_code == 404
    after = await scrape(metrics_client)
    # then the count is under the template, with method and status, and the id appears nowhere
    labels = {"method": "GET", "route": "/api/products/{product_id}", "status": "404"}
    assert value(after, "hub_http_requests_total", **labels) - value(before, "hub_http_requests_total", **labels) == 2
    histogram = value(after, "hub_http_request_duration_seconds_count", **labels)
    assert histogram - value(before, "hub_http_request_duration_seconds_count", **labels) == 2
    assert not any("987654" in v for _, pairs in after for _, v in pairs)


async def test_checkouts_payments_search_and_queues_are_counted(metrics_client: AsyncTestClient[Litestar]) -> None:
    # given a shop
    app = metrics_client.app
    async with app.state.session_factory() as session:
        shop = await make_shop(session)
    before = await scrape(metrics_client)
    # when a buyer checks out twice (one paid at the counter, one left unpaid), asks for more than there is,
    # and searches
    placed = await metrics_client.post(
        "/api/checkout", json=checkout_body((shop.sugar.variant.id, 1)), headers=shop.h(shop.buyer)
    )
    assert placed.status_code == 201, placed.text
    paid = await metrics_client.post(f"/api/orders/{placed.json()['id']}/payments/offline", headers=shop.h(shop.kiosk))
    assert paid.status_code == 200, paid.text
    unpaid = await metrics_client.post(
        "/api/checkout", json=checkout_body((shop.tea.variant.id, 2)), headers=shop.h(shop.buyer)
    )
    assert unpaid.status_code == 201, unpaid.text
    refused = await metrics_client.post(
        "/api/checkout", json=checkout_body((shop.sugar.variant.id, 60)), headers=shop.h(shop.buyer)
    )
    assert refused.status_code == 409
    assert (await metrics_client.get("/api/search/", params={"q": "红糖"})).status_code == 200
    after = await scrape(metrics_client)

    # then
    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("hub_checkouts_total", outcome="placed", reason="") == 2
    assert delta("hub_checkouts_total", outcome="refused", reason="out_of_stock") == 1
    assert delta("hub_payments_total", method="offline", outcome="paid") == 1
    assert delta("hub_search_duration_seconds_count", backend="embedded", degraded="false") == 1
    # queue depths are read from the database at scrape time
    assert value(after, "hub_reservations_active") == 1
    assert value(after, "hub_reservations_overdue") == 0
    assert ("hub_outbox_pending", frozenset({("topic", "search")})) in after
