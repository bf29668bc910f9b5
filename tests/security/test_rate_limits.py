"""Rate limits (shop/ratelimit.py): log-in per address, pickup-code attempts, search and checkout per caller.

For each policy: the limit's N requests pass, request N+1 is refused with 429, Retry-After and the RateLimit-*
headers in the shop's error body (a page gets a page), and another caller keeps their own budget. With REDIS_URL
the count lives in Redis and two app instances share it; without, this process's memory counts.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role, User
from shop.app import create_app
from shop.cache import RedisOrMemoryStore
from shop.ratelimit import CHECKOUT, LOGIN, PICKUP_CODE, RATE_LIMIT_OPT, SEARCH
from shop.settings import Settings
from tests import factories as f
from tests.conftest import empty_database, make_settings
from tests.test_route_guards import http_handlers

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the limits never reach the database
LIMIT = 3
LIMIT_FIELDS = {
    LOGIN: "login_rate_per_minute",
    PICKUP_CODE: "pickup_code_rate_per_minute",
    SEARCH: "search_rate_per_minute",
    CHECKOUT: "checkout_rate_per_minute",
}
# One request to a route of each policy, and what it answers while under the limit (the route's own answer).
REQUESTS: dict[str, tuple[str, str, dict[str, Any], int]] = {
    LOGIN: ("POST", "/api/auth/login", {"json": {"username": "nobody", "password": "wrong-pass"}}, 401),
    PICKUP_CODE: (
        "POST",
        "/api/logistics/points/999/parcels/999/collect",
        {"json": {"code": "123456"}},
        403,
    ),  # not their point
    SEARCH: ("GET", "/api/search/suggest", {"params": {"q": "hongtang"}}, 200),
    CHECKOUT: ("POST", "/api/checkout", {"json": {}}, 400),  # an empty body: 400 naming the field
}
REDIS_HOST = "redis://127.0.0.1:6379"


def redis_url() -> str:
    # 5–8 for this module (one per xdist worker), clear of livestream's 11–14 and the benches' 9 and 15.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return f"{REDIS_HOST}/{5 + int(worker.removeprefix('gw') or 0) % 4}"


def limited_settings(db_url: str, tmp_path: Path, redis: str | None = None, **limits: int) -> Settings:
    """The test settings with every limit off but the given ones (policy name → requests per minute)."""
    settings = make_settings(db_url, tmp_path, **({"REDIS_URL": redis} if redis else {}))
    update = {field: limits.get(policy, 0) for policy, field in LIMIT_FIELDS.items()}
    settings.app = settings.app.model_copy(update=update)
    return settings


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """The app started (its lifespan run) on this loop, as under uvicorn: its Redis client lives on one loop."""
    async with app.lifespan():
        yield
    await app.state.engine.dispose()


def client_at(app: Litestar, address: str, **kwargs: Any) -> httpx.AsyncClient:
    """A client whose requests come from `address` (the rate limits key log-in and anonymous callers by it)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", **kwargs)


async def send(client: httpx.AsyncClient, policy: str, headers: dict[str, str] | None = None) -> httpx.Response:
    method, path, kwargs, _ = REQUESTS[policy]
    return await client.request(method, path, headers=headers, **kwargs)


def assert_refused(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429
    assert response.json() == {
        "status_code": 429,
        "detail": f"Too many requests; retry in {response.headers['retry-after']} seconds.",
        "errors": [],
    }
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert response.headers["ratelimit-policy"] == f"{limit}; w=60"
    assert response.headers["ratelimit-reset"] == response.headers["retry-after"]


async def buyers(session: AsyncSession, count: int, role: Role = Role.BUYER) -> list[User]:
    people = [await f.user(session, role) for _ in range(count)]
    await session.commit()
    return people


@SQLITE
@pytest.mark.parametrize("policy", [LOGIN, PICKUP_CODE, SEARCH, CHECKOUT])
async def test_the_request_past_the_limit_is_refused_and_another_caller_is_not(
    policy: str, db_url: str, tmp_path: Path, session: AsyncSession
) -> None:
    # given a limit of 3 a minute for this policy (memory store: no REDIS_URL), and two callers on other addresses
    await empty_database(db_url)
    first, second = await buyers(session, 2)
    app = create_app(limited_settings(db_url, tmp_path, **{policy: LIMIT}))
    expected = REQUESTS[policy][3]
    async with running(app), client_at(app, "10.0.0.1") as one, client_at(app, "10.0.0.2") as two:
        # when the first caller sends 4 requests
        answers = [await send(one, policy, f.auth(first)) for _ in range(LIMIT + 1)]
        # then 3 get the route's own answer, counting down, and the 4th is refused
        assert [r.status_code for r in answers[:LIMIT]] == [expected] * LIMIT
        assert [r.headers["ratelimit-remaining"] for r in answers[:LIMIT]] == ["2", "1", "0"]
        assert_refused(answers[LIMIT], LIMIT)
        # and the second caller (another address, and another account) still has their whole budget
        others = [await send(two, policy, f.auth(second)) for _ in range(LIMIT)]
        assert [r.status_code for r in others] == [expected] * LIMIT


@SQLITE
@pytest.mark.parametrize("policy", [PICKUP_CODE, SEARCH, CHECKOUT])
async def test_callers_sharing_an_address_count_per_account(
    policy: str, db_url: str, tmp_path: Path, session: AsyncSession
) -> None:
    # given two buyers on one address (a village's phones behind one router)
    await empty_database(db_url)
    first, second = await buyers(session, 2)
    app = create_app(limited_settings(db_url, tmp_path, **{policy: LIMIT}))
    async with running(app), client_at(app, "10.0.0.1") as shared:
        # when the first spends their budget
        spent = [(await send(shared, policy, f.auth(first))).status_code for _ in range(LIMIT + 1)]
        # then the second is unaffected, and so is an anonymous visitor on that address
        others = [(await send(shared, policy, f.auth(second))).status_code for _ in range(LIMIT)]
        anonymous = (await send(shared, policy)).status_code
    expected = REQUESTS[policy][3]
    assert spent == [expected] * LIMIT + [429]
    assert others == [expected] * LIMIT
    assert anonymous != 429


@SQLITE
async def test_log_in_counts_per_address_whoever_logs_in(db_url: str, tmp_path: Path, session: AsyncSession) -> None:
    # given two people on one address
    await empty_database(db_url)
    app = create_app(limited_settings(db_url, tmp_path, **{LOGIN: LIMIT}))
    async with running(app), client_at(app, "10.0.0.1") as shared:
        # when they try 4 log-ins between them, under different names
        codes = [
            (await shared.post("/api/auth/login", json={"username": f"name{i}", "password": "wrong-pass"})).status_code
            for i in range(LIMIT + 1)
        ]
    # then the address is refused at the 4th
    assert codes == [401] * LIMIT + [429]


@SQLITE
async def test_each_kiosk_counts_its_searches_apart_from_the_address(
    db_url: str, tmp_path: Path, session: AsyncSession
) -> None:
    # given two kiosk screens on the service centre's one address, a search limit of 3 a minute
    await empty_database(db_url)
    screen_a, screen_b = await buyers(session, 2, Role.KIOSK)
    app = create_app(limited_settings(db_url, tmp_path, **{SEARCH: LIMIT}))
    async with (
        running(app),
        client_at(app, "10.0.0.9", cookies={"hub_kiosk": f.token_for(screen_a)}) as a,
        client_at(app, "10.0.0.9", cookies={"hub_kiosk": f.token_for(screen_b)}) as b,
        client_at(app, "10.0.0.9") as phone,
    ):
        # when screen A searches 4 times
        spent = [(await a.get("/kiosk/search/results", params={"q": "红糖"})).status_code for _ in range(4)]
        # then A is refused at the 4th; screen B and a phone on the same address are not
        other_screen = [(await b.get("/kiosk/search/results", params={"q": "茶"})).status_code for _ in range(3)]
        phone_search = (await phone.get("/api/search/suggest", params={"q": "cha"})).status_code
    assert spent == [200, 200, 200, 429]
    assert other_screen == [200, 200, 200]
    assert phone_search == 200


@SQLITE
async def test_a_page_past_the_limit_is_a_readable_page_with_retry_after(
    db_url: str, tmp_path: Path, session: AsyncSession
) -> None:
    # given a search limit of 1 a minute
    await empty_database(db_url)
    app = create_app(limited_settings(db_url, tmp_path, **{SEARCH: 1}))
    async with running(app), client_at(app, "10.0.0.1", headers={"accept": "text/html"}) as browser:
        # when a visitor opens the search page twice
        first = await browser.get("/search", params={"q": "红糖"})
        second = await browser.get("/search", params={"q": "红糖"})
    # then the second is the error page, in Chinese, with Retry-After and the RateLimit headers
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.headers["content-type"].startswith("text/html")
    assert "操作太频繁" in second.text and "请求太频繁了，请稍等一分钟再试。" in second.text
    assert 1 <= int(second.headers["retry-after"]) <= 60
    assert second.headers["ratelimit-limit"] == "1"


@SQLITE
async def test_a_limit_of_zero_is_off(db_url: str, tmp_path: Path) -> None:
    # given every new limit at 0
    await empty_database(db_url)
    app = create_app(limited_settings(db_url, tmp_path))
    async with running(app), client_at(app, "10.0.0.1") as one:
        # when a caller searches 50 times
        answers = [await one.get("/api/search/suggest", params={"q": "cha"}) for _ in range(50)]
    # then every search is answered, and no RateLimit header is sent
    assert [r.status_code for r in answers] == [200] * 50
    assert "ratelimit-limit" not in answers[-1].headers


def test_the_routes_under_each_policy() -> None:
    # given the app's routes
    app = create_app(limited_settings("sqlite+aiosqlite:///unused.sqlite3", Path("/tmp") / uuid.uuid4().hex))
    under: dict[str, set[tuple[str, str]]] = {}
    for method, path, handler in http_handlers(app):
        policy = handler.opt.get(RATE_LIMIT_OPT)
        if policy:
            under.setdefault(policy, set()).add((method, path))
    # then the log-in forms, the code check, every search and both checkouts each name their policy
    assert under == {
        LOGIN: {("POST", "/api/auth/login"), ("POST", "/login")},
        PICKUP_CODE: {("POST", "/api/logistics/points/{point_id:int}/parcels/{shipment_id:int}/collect")},
        SEARCH: {
            ("GET", "/api/search"),
            ("GET", "/api/search/suggest"),
            ("GET", "/api/search/workshops"),
            ("GET", "/search"),
            ("GET", "/search/suggest"),
            ("GET", "/kiosk/search"),
            ("GET", "/kiosk/search/results"),
        },
        CHECKOUT: {("POST", "/api/checkout"), ("POST", "/checkout")},
    }
    # and the API documents their 429
    schema = app.openapi_schema.to_schema()
    assert "429" in schema["paths"]["/api/checkout"]["post"]["responses"]
    assert "429" in schema["paths"]["/api/search/suggest"]["get"]["responses"]
    assert "429" not in schema["paths"]["/api/auth/register"]["post"]["responses"]


# ---- the count in Redis --------------------------------------------------------------------------------------------


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url())
    await _clear(client)
    yield client
    await _clear(client)
    await client.aclose()


async def _clear(client: Redis) -> None:
    keys = [key async for key in client.scan_iter(match="hub:rate_limit_*")]
    if keys:
        await client.delete(*keys)


@SQLITE
@pytest.mark.parametrize("policy", [SEARCH, CHECKOUT])
async def test_with_redis_two_app_instances_share_one_count(
    policy: str, db_url: str, tmp_path: Path, session: AsyncSession, redis: Redis
) -> None:
    # given two instances of the hub (two processes behind the proxy) on one Redis, a limit of 3 a minute
    await empty_database(db_url)
    (buyer,) = await buyers(session, 1)
    one = create_app(limited_settings(db_url, tmp_path / "one", redis_url(), **{policy: LIMIT}))
    two = create_app(limited_settings(db_url, tmp_path / "two", redis_url(), **{policy: LIMIT}))
    async with running(one), running(two), client_at(one, "10.0.0.1") as a, client_at(two, "10.0.0.1") as b:
        # when the buyer sends 2 requests to the first and 1 to the second
        spent = [(await send(c, policy, f.auth(buyer))).status_code for c in (a, a, b)]
        # then the 4th is refused by either instance
        refused_by_one = await send(a, policy, f.auth(buyer))
        refused_by_two = await send(b, policy, f.auth(buyer))
    expected = REQUESTS[policy][3]
    assert spent == [expected] * LIMIT
    assert_refused(refused_by_one, LIMIT)
    assert_refused(refused_by_two, LIMIT)
    # and the count is one Redis key under the policy's store, counting every attempt, expiring with the window
    key = f"hub:rate_limit_{policy}:user:{buyer.id}"
    assert [k async for k in redis.scan_iter(match="hub:rate_limit_*")] == [key.encode()]
    assert await redis.get(key) == b"5"
    assert 1 <= await redis.ttl(key) <= 60


@SQLITE
async def test_with_redis_log_in_counts_per_address_in_redis(
    db_url: str, tmp_path: Path, session: AsyncSession, redis: Redis
) -> None:
    # given the hub on Redis with a log-in limit of 3 a minute
    await empty_database(db_url)
    app = create_app(limited_settings(db_url, tmp_path, redis_url(), **{LOGIN: LIMIT}))
    async with running(app), client_at(app, "10.0.0.7") as one, client_at(app, "10.0.0.8") as other:
        # when one address tries 4 log-ins and another tries 1
        codes = [(await send(one, LOGIN)).status_code for _ in range(LIMIT + 1)]
        other_code = (await send(other, LOGIN)).status_code
    # then the first is refused at the 4th, the other is not, and Redis holds each address's count
    assert codes == [401] * LIMIT + [429]
    assert other_code == 401
    assert await redis.get("hub:rate_limit_login:ip:10.0.0.7") == b"4"
    assert await redis.get("hub:rate_limit_login:ip:10.0.0.8") == b"1"


async def test_when_redis_does_not_answer_the_count_falls_back_to_this_process() -> None:
    # given the rate-limit store on a Redis that refuses connections
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    store = RedisOrMemoryStore(RedisStore(client, namespace="hub:rate_limit_search"))
    # when a caller is counted three times
    counts = [await store.hit("ip:10.0.0.1", 60) for _ in range(3)]
    await client.aclose()
    # then this process's memory counted them (the limit still holds, per process), the window starting at the first
    assert [count for count, _ in counts] == [1, 2, 3]
    assert all(55 <= reset_in <= 60 for _, reset_in in counts)
