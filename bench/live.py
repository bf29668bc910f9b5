"""`python -m bench.live`: live figures and leaderboards on the real Redis.

1. 10,000 attributed paid orders across 50 sessions (20 streamers) through `LiveFigures.on_order_paid`.
2. Leaderboard reads: the service read (ZREVRANGE + labels) and `GET /api/live/leaderboards` over HTTP; p50/p99.
3. Fan-out: 1,000 WebSocket clients on `/ws/live/{session}` of a local uvicorn; one paid order; time until every
   client has the new figures. The server and the clients share one process and one event loop (a pessimistic
   setup: the clients' work competes with the server's on this 2-core machine).

REDIS_URL defaults to redis://127.0.0.1:6379/15; keys under `live:` in that database are removed before and after.
Prints a table and one JSON line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from redis.asyncio import Redis

ORDERS = int(os.environ.get("BENCH_ORDERS", "10000"))
SESSIONS = 50
STREAMERS = 20
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))
READS = 2_000
FANOUT_ROUNDS = 5
MONTH_AT = dt.datetime(2031, 3, 15, 12, 0, tzinfo=dt.UTC)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def clear(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    keys = [k async for k in redis.scan_iter(match="live:*", count=1000)]
    for i in range(0, len(keys), 1000):
        await redis.delete(*keys[i : i + 1000])
    await redis.aclose()


async def main() -> dict[str, Any]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    os.environ.setdefault("APP_ENV", "test")
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"

    from livestream.services.figures import LiveFigures
    from livestream.services.leaderboards import LeaderboardService
    from shop.app import create_app
    from shop.cli import migrate_to
    from shop.settings import DatabaseSettings, Settings

    await asyncio.to_thread(migrate_to, "head", db_url)
    settings = Settings()
    settings.db = DatabaseSettings.model_validate({"DATABASE_URL": db_url})
    settings.app = settings.app.model_copy(update={"var_dir": tmp / "var", "environment": "test"})
    settings.redis = settings.redis.model_copy(update={"url": redis_url})
    await clear(redis_url)
    app = create_app(settings)
    log_level = os.environ.get("BENCH_LOG", "warning")
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level=log_level, lifespan="on", ws_max_queue=64, backlog=4096)
    )
    serve_task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    host = f"127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    figures = LiveFigures.for_app(app)
    results: dict[str, Any] = {"bench": "live", "orders": ORDERS, "sessions": SESSIONS, "clients": CLIENTS}
    try:
        # labels as go-live writes them
        await figures.store.set_labels("session", {s: f"直播场次{s}" for s in range(1, SESSIONS + 1)})
        await figures.store.set_labels("streamer", {u: f"村播{u}" for u in range(1, STREAMERS + 1)})
        rng = random.Random(7)
        started = time.perf_counter()
        sem = asyncio.Semaphore(32)

        async def pay(order_id: int) -> None:
            sid = rng.randint(1, SESSIONS)
            lines = [
                (sid, (sid % STREAMERS) + 1, rng.randint(500, 30_000), rng.randint(1, 200))
                for _ in range(rng.randint(1, 3))
            ]
            async with sem:
                await figures.on_order_paid(order_id, lines, MONTH_AT)

        await asyncio.gather(*(pay(i) for i in range(1, ORDERS + 1)))
        ingest = time.perf_counter() - started
        await asyncio.sleep(1.0)  # let the last coalesced pushes go out
        results["ingest_orders_per_s"] = round(ORDERS / ingest)

        async with app.state.session_factory() as session:
            service = LeaderboardService(session, figures)
            top = await service.read("session", "gmv", "2031-03", 10)
            assert len(top.entries) == 10 and top.entries[0].value >= top.entries[-1].value
            timings = []
            for i in range(READS):
                board, metric = ("session", "streamer")[i % 2], ("gmv", "orders")[(i // 2) % 2]
                t0 = time.perf_counter()
                await service.read(board, metric, "2031-03", 10)  # type: ignore[arg-type]
                timings.append((time.perf_counter() - t0) * 1000)
        results["leaderboard_read_p50_ms"] = round(pct(timings, 50), 3)
        results["leaderboard_read_p99_ms"] = round(pct(timings, 99), 3)

        async with httpx.AsyncClient(base_url=f"http://{host}") as http:
            http_timings = []
            for i in range(READS // 2):
                t0 = time.perf_counter()
                response = await http.get(
                    "/api/live/leaderboards",
                    params={"board": ("session", "streamer")[i % 2], "metric": "gmv", "month": "2031-03"},
                )
                http_timings.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.text
        results["leaderboard_http_p50_ms"] = round(pct(http_timings, 50), 3)
        results["leaderboard_http_p99_ms"] = round(pct(http_timings, 99), 3)

        # fan-out: 1,000 screens on one session
        session_id = 1
        sockets = []
        for start in range(0, CLIENTS, 100):
            batch = await asyncio.gather(
                *(
                    websockets.connect(f"ws://{host}/ws/live/{session_id}", max_queue=64)
                    for _ in range(start, min(CLIENTS, start + 100))
                )
            )
            sockets.extend(batch)
        await asyncio.gather(*(ws.recv() for ws in sockets))  # the snapshot each screen gets on connect
        fanout = []
        for round_ in range(FANOUT_ROUNDS):
            amount = 100_000 + round_

            async def wait_for(ws: Any, amount: int = amount) -> float:
                while True:
                    message = json.loads(await ws.recv())
                    if (
                        message.get("type") == "figures"
                        and message.get("orders") is not None
                        and message["gmv_fen"] >= amount
                    ):
                        return time.perf_counter()

            before = (await figures.figures([session_id]))[session_id].gmv_fen
            waiters = [asyncio.create_task(wait_for(ws, before + amount)) for ws in sockets]
            await asyncio.sleep(0.05)
            t0 = time.perf_counter()
            await figures.on_order_paid(900_000 + round_, [(session_id, 2, amount)], MONTH_AT)
            arrivals = await asyncio.wait_for(asyncio.gather(*waiters), 30)
            fanout.append(((max(arrivals) - t0) * 1000, (statistics.median(arrivals) - t0) * 1000))
            await asyncio.sleep(0.2)
        await asyncio.gather(*(ws.close() for ws in sockets))
        results["fanout_all_ms_median"] = round(statistics.median(f[0] for f in fanout), 1)
        results["fanout_all_ms_max"] = round(max(f[0] for f in fanout), 1)
        results["fanout_median_client_ms"] = round(statistics.median(f[1] for f in fanout), 1)
    finally:
        server.should_exit = True
        await serve_task
        await clear(redis_url)
    results["targets_met"] = results["leaderboard_read_p99_ms"] <= 5 and results["fanout_all_ms_max"] <= 1000
    return results


def run() -> None:
    results = asyncio.run(main())
    rows = [
        ("paid orders ingested (50 sessions)", f"{ORDERS:,}", f"{results['ingest_orders_per_s']:,} orders/s"),
        (
            "leaderboard read (service) p50 / p99",
            f"{READS:,} reads",
            f"{results['leaderboard_read_p50_ms']} / {results['leaderboard_read_p99_ms']} ms (target p99 ≤ 5 ms)",
        ),
        (
            "leaderboard GET over HTTP p50 / p99",
            f"{READS // 2:,} requests",
            f"{results['leaderboard_http_p50_ms']} / {results['leaderboard_http_p99_ms']} ms",
        ),
        (
            "fan-out to all WebSocket clients",
            f"{CLIENTS:,} clients × {FANOUT_ROUNDS}",
            f"median {results['fanout_all_ms_median']} ms, max {results['fanout_all_ms_max']} ms (target ≤ 1 s)",
        ),
        ("fan-out, median client", "", f"{results['fanout_median_client_ms']} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)} | {'load':<20} | result")
    print(f"{'-' * width}-|-{'-' * 20}-|-------")
    for name, load, value in rows:
        print(f"{name.ljust(width)} | {load:<20} | {value}")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    run()
