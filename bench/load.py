"""Load test: a realistic traffic mix at rising open-loop arrival rates, then a flash sale, on PostgreSQL and Redis.

    python -m bench.load [--rates 50,100,200,400] [--duration 60] [--workers 2] [--synthetic 20000] [--smoke]

Creates a fresh `hub_bench_load` database on the local PostgreSQL, migrates it, loads the demo catalogue and a
synthetic one (`hub seed --demo`, `hub seed --synthetic N`), adds buyers and a kiosk account, and serves the app
with uvicorn `--workers 2` (as `hub serve --workers 2`) against Redis (db 9 of the local server) and a fresh
PROMETHEUS_MULTIPROC_DIR. Then:

1. steps: for each rate, requests *arrive* at that rate for `--duration` seconds whether or not earlier ones have
   been answered (open loop, so a slow server meets a growing queue as it would in life). Latency is counted from
   each request's scheduled arrival, so queueing in the client counts against the server (no coordinated
   omission). The mix per arrival: 80 % browse/search (search, suggest, product lists, product pages, brands),
   15 % cart (add a line to an anonymous cart, or view one), 5 % checkout (check out 1–2 units, offline payment,
   pickup; the kiosk then confirms the payment). A step is *held* when its p99 ≤ 300 ms and it had no errors
   (any status other than the expected one, or a timeout). Stepping stops after the first step not held;
2. flash sale: 2,000 buyers for one variant with 100 units (200 requests in flight); each success is paid at the
   counter; oversold must be 0; reports the time until every buyer had an answer.
Prints a table and ends with one JSON line. `--smoke` runs 5-second steps at 20 and 40 req/s and a 200-buyer sale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.checkout import PG_SERVER, SECRET, _admin, _catch, _pct, launch_uvicorn, wait_ready

DB_NAME = "hub_bench_load"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
SERVER_LOG = "/tmp/hub-bench-load-server.log"
P99_TARGET_MS = 300.0
FLASH_TIMEOUT_S = 60.0
BASKET_LINES = 8  # a buyer in a flash sale waits the way a phone browser does, not the steps' 10 s
BUYERS = 500
CHECKOUT_VARIANTS = 300
SEARCH_WORDS = ["红糖", "茶", "香菇", "hongtang", "cha", "笋", "蜂蜜", "丽水山耕", "黄酒", "xg", "番薯", "米"]
SUGGEST_PREFIXES = ["hong", "红", "xiang", "茶", "fe", "笋"]


def _db_url() -> str:
    return "postgresql+asyncpg://" + PG_SERVER.removeprefix("postgresql://") + f"/{DB_NAME}"


def _hub() -> str:
    return str(Path(sys.executable).parent / "hub")


def prepare_database(synthetic: int) -> None:
    import threading

    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    asyncio.run(_admin(f'CREATE DATABASE "{DB_NAME}"'))
    from shop.cli import migrate_to

    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _catch(errors, migrate_to, "head", _db_url()))
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    env = {**os.environ, "DATABASE_URL": _db_url()}
    subprocess.run([_hub(), "seed", "--demo"], env=env, check=True, capture_output=True)
    if synthetic:
        subprocess.run([_hub(), "seed", "--synthetic", str(synthetic)], env=env, check=True, capture_output=True)


async def seed_people(flash_buyers: int) -> dict[str, Any]:
    """Buyers and a kiosk with tokens signed with the server's secret; plenty of stock on the checkout variants."""
    import datetime as dt

    from shop.accounts.models import Role
    from shop.auth import hash_password, issue_token

    conn = await asyncpg.connect(f"{PG_SERVER}/{DB_NAME}")
    try:
        pw = hash_password("bench-password")
        rows = [(f"loadbuyer{i}", "买家", pw, Role.BUYER.name) for i in range(BUYERS + flash_buyers)]
        rows.append(("loadkiosk", "展厅", pw, Role.KIOSK.name))  # the column stores enum names
        await conn.executemany(
            "INSERT INTO user_account (username, display_name, password_hash, role, is_active, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, true, now(), now())",
            rows,
        )
        users = await conn.fetch(
            "SELECT id, role FROM user_account WHERE username LIKE 'load%' ORDER BY (role = 'KIOSK'), id"
        )
        products = [r["id"] for r in await conn.fetch("SELECT id FROM product WHERE status = 'active' ORDER BY id")]
        variants = [
            r["variant_id"]
            for r in await conn.fetch(
                "SELECT DISTINCT s.variant_id FROM stock_level s JOIN product_variant v ON v.id = s.variant_id"
                " JOIN product p ON p.id = v.product_id JOIN workshop w ON w.id = p.workshop_id"
                " WHERE v.is_active AND p.status = 'active' AND w.is_active ORDER BY s.variant_id LIMIT $1",
                CHECKOUT_VARIANTS + 1,
            )
        ]
        await conn.execute("UPDATE stock_level SET on_hand = 10000000 WHERE variant_id = ANY($1::bigint[])", variants)
        pickup = await _pickup_point(conn)
    finally:
        await conn.close()
    ttl = dt.timedelta(hours=3)
    tokens = [issue_token(r["id"], Role[r["role"]], SECRET, ttl) for r in users]
    return {
        "products": products,
        "variants": variants[:-1],
        "flash_variant": variants[-1],
        "buyer_tokens": tokens[:BUYERS],
        "flash_tokens": tokens[BUYERS:-1],
        "kiosk_token": tokens[-1],
        "pickup_point_id": pickup,
    }


async def _pickup_point(conn: asyncpg.Connection) -> int:
    # With the logistics network loaded, a real pickup point; on a bare catalogue the checkout accepts any id.
    try:
        found = await conn.fetchval("SELECT id FROM logistics_node WHERE kind = 'point' ORDER BY id LIMIT 1")
        # Nobody collects the bench's parcels, so a point would fill up (a 409 point_full) after a few hundred
        # orders and the flash sale would measure the shelf, not the stock.
        await conn.execute("UPDATE logistics_node SET capacity = 100000 WHERE kind = 'point'")
    except asyncpg.PostgresError:
        found = None
    return int(found or 1)


def start_server(port: int, workers: int, metrics_dir: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": _db_url(),
        "SECRET_KEY": SECRET,
        "APP_ENV": "production",
        "REDIS_URL": REDIS_URL,
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        "DATABASE_POOL_SIZE": "20",
        "DATABASE_MAX_OVERFLOW": "10",
        "LOGIN_RATE_PER_MINUTE": "1000",
        # Limits far above what the run sends (its buyers share one address and check out again and again), but on:
        # the run still pays each limit's store call on the checkout and search paths.
        "CHECKOUT_RATE_PER_MINUTE": "1000000",
        "SEARCH_RATE_PER_MINUTE": "1000000",
        "PICKUP_CODE_RATE_PER_MINUTE": "1000000",
    }
    # uvicorn as `hub serve --workers N` runs it, with a generous worker start-up check for a busy machine
    return launch_uvicorn(port, workers, env, SERVER_LOG, ["--proxy-headers", "--timeout-worker-healthcheck", "60"])


async def wait_search(base: str, ready_within: float = 400) -> None:
    """Each worker fills its embedded index at start; wait until searches answer with hits."""
    deadline = time.monotonic() + ready_within
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        ok = 0
        while time.monotonic() < deadline:
            try:
                r = await client.get("/api/search/", params={"q": "红糖"})
                ok = ok + 1 if r.status_code == 200 and r.json()["total"] > 0 else 0
            except httpx.HTTPError:
                ok = 0
            if ok >= 6:  # several answers in a row: both workers are warm
                return
            await asyncio.sleep(0.5)
    raise RuntimeError("search did not become ready")


async def _send(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    """One request, sent again once if the server had closed the pooled keep-alive connection as it was reused
    (what browsers and HTTP libraries do; writes carry an Idempotency-Key or are cart adds a buyer would redo)."""
    try:
        return await client.request(method, url, **kw)
    except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
        return await client.request(method, url, **kw)


@dataclass
class Step:
    rate: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    late_s: float = 0.0  # how far behind schedule the generator fell (client saturation)

    def record(self, kind: str, seconds: float) -> None:
        self.latencies.append(seconds)
        self.by_kind.setdefault(kind, []).append(seconds)

    def fail(self, kind: str, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{kind}: {what}"[:200])

    def summary(self) -> dict[str, Any]:
        n = len(self.latencies)
        return {
            "rate": self.rate,
            "requests": n + self.errors,
            "achieved_per_s": round((n + self.errors) / self.seconds, 1),
            "errors": self.errors,
            "p50_ms": round(_pct(self.latencies, 50) * 1000, 1),
            "p95_ms": round(_pct(self.latencies, 95) * 1000, 1),
            "p99_ms": round(_pct(self.latencies, 99) * 1000, 1),
            "max_ms": round(max(self.latencies, default=0) * 1000, 1),
            "by_kind_p99_ms": {k: round(_pct(v, 99) * 1000, 1) for k, v in sorted(self.by_kind.items())},
            "generator_late_s": round(self.late_s, 2),
            "held": self.errors == 0 and n > 0 and _pct(self.latencies, 99) * 1000 <= P99_TARGET_MS,
            "error_samples": self.error_samples,
        }


class Mix:
    def __init__(self, client: httpx.AsyncClient, data: dict[str, Any], rng: random.Random) -> None:
        self.client = client
        self.data = data
        self.rng = rng
        self.carts: list[str] = []
        self.open_carts: dict[str, int] = {}  # carts still being filled → lines added so far

    def checkout_body(self, variant: int, qty: int) -> dict[str, Any]:
        return {
            "delivery": {"method": "pickup", "pickup_point_id": self.data["pickup_point_id"]},
            "payment_method": "offline",
            "lines": [{"variant_id": variant, "quantity": qty}],
        }

    async def _call(
        self, step: Step, kind: str, due: float, method: str, url: str, expect: int, **kw: Any
    ) -> httpx.Response | None:
        self.client.cookies.clear()  # see _forget_cookies
        try:
            r = await _send(self.client, method, url, **kw)
        except httpx.HTTPError as exc:
            step.fail(kind, type(exc).__name__)
            return None
        if r.status_code != expect:
            step.fail(kind, f"{r.status_code} {r.text[:120]}")
            return None
        step.record(kind, time.perf_counter() - due)
        return r

    async def arrival(self, step: Step, due: float) -> None:
        rng, d = self.rng, self.data
        roll = rng.random()
        if roll < 0.80:
            pick = rng.random()
            if pick < 0.35:
                q = rng.choice(SEARCH_WORDS)
                await self._call(step, "search", due, "GET", "/api/search/", 200, params={"q": q})
            elif pick < 0.45:
                p = rng.choice(SUGGEST_PREFIXES)
                await self._call(step, "suggest", due, "GET", "/api/search/suggest", 200, params={"q": p})
            elif pick < 0.70:
                params = {"page": rng.randint(1, 20)}
                await self._call(step, "product_list", due, "GET", "/api/products", 200, params=params)
            elif pick < 0.95:
                pid = rng.choice(d["products"])
                await self._call(step, "product_page", due, "GET", f"/api/products/{pid}", 200)
            else:
                await self._call(step, "brands", due, "GET", "/api/brands", 200)
        elif roll < 0.95:
            if self.carts and rng.random() < 0.4:
                token = rng.choice(self.carts)
                await self._call(step, "cart_view", due, "GET", "/api/cart", 200, headers={"X-Cart-Token": token})
            else:
                body = {"variant_id": rng.choice(d["variants"]), "quantity": rng.randint(1, 3)}
                filling = rng.choice(list(self.open_carts)) if self.open_carts and rng.random() < 0.5 else None
                headers = {"X-Cart-Token": filling} if filling else {}
                if filling:
                    # A visitor's basket holds a handful of lines; a full one leaves the pool (it stays viewable).
                    self.open_carts[filling] += 1
                    if self.open_carts[filling] >= BASKET_LINES:
                        del self.open_carts[filling]
                r = await self._call(step, "cart_add", due, "POST", "/api/cart/lines", 201, json=body, headers=headers)
                added = r.json().get("token") if r is not None else None
                if added and not filling and len(self.carts) < 2000:
                    self.carts.append(added)
                    self.open_carts[added] = 1
        else:
            buyer = rng.choice(d["buyer_tokens"])
            body = self.checkout_body(rng.choice(d["variants"]), rng.randint(1, 2))
            headers = {"Authorization": f"Bearer {buyer}", "Idempotency-Key": uuid.uuid4().hex}
            r = await self._call(step, "checkout", due, "POST", "/api/checkout", 201, json=body, headers=headers)
            if r is None:
                return
            pay_due = time.perf_counter()
            kiosk = {"Authorization": f"Bearer {d['kiosk_token']}", "Idempotency-Key": uuid.uuid4().hex}
            order = r.json()["id"]
            await self._call(
                step, "payment", pay_due, "POST", f"/api/orders/{order}/payments/offline", 200, headers=kiosk
            )


async def _forget_cookies(response: httpx.Response) -> None:
    response.cookies.clear()


async def run_step(mix: Mix, rate: int, duration: float) -> Step:
    step = Step(rate, duration)
    tasks: list[asyncio.Task[None]] = []
    total = int(rate * duration)
    start = time.perf_counter() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            step.late_s = max(step.late_s, -delay)
        tasks.append(asyncio.create_task(mix.arrival(step, due)))
    await asyncio.gather(*tasks)
    step.seconds = max(duration, time.perf_counter() - start)
    return step


async def flash_sale(mix: Mix, units: int, in_flight: int) -> dict[str, Any]:
    d = mix.data
    variant = d["flash_variant"]
    conn = await asyncpg.connect(f"{PG_SERVER}/{DB_NAME}")
    try:
        await conn.execute("UPDATE stock_level SET on_hand = 0, reserved = 0 WHERE variant_id = $1", variant)
        await conn.execute(
            "UPDATE stock_level SET on_hand = $1 WHERE id = (SELECT min(id) FROM stock_level WHERE variant_id = $2)",
            units,
            variant,
        )
    finally:
        await conn.close()
    gate = asyncio.Semaphore(in_flight)
    statuses: list[int] = []
    reasons: dict[str, int] = {}
    others: list[str] = []

    async def buyer(token: str) -> None:
        async with gate:
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
            try:
                r = await _send(
                    mix.client,
                    "POST",
                    "/api/checkout",
                    json=mix.checkout_body(variant, 1),
                    headers=headers,
                    timeout=FLASH_TIMEOUT_S,
                )
            except httpx.HTTPError as exc:
                statuses.append(0)
                others.append(f"checkout: {type(exc).__name__}")
                return
            statuses.append(r.status_code)
            if r.status_code not in (201, 409):
                others.append(f"checkout: {r.status_code} {r.text[:100]}")
            if r.status_code == 409:
                reason = str(r.json().get("reason", "unknown"))
                reasons[reason] = reasons.get(reason, 0) + 1
            if r.status_code == 201:
                kiosk = {"Authorization": f"Bearer {d['kiosk_token']}", "Idempotency-Key": uuid.uuid4().hex}
                try:
                    p = await _send(
                        mix.client,
                        "POST",
                        f"/api/orders/{r.json()['id']}/payments/offline",
                        headers=kiosk,
                        timeout=FLASH_TIMEOUT_S,
                    )
                except httpx.HTTPError as exc:
                    statuses.append(-1)  # the counter's confirmation got no answer in time
                    others.append(f"payment: {type(exc).__name__}")
                    return
                if p.status_code != 200:
                    statuses.append(-p.status_code)
                    others.append(f"payment: {p.status_code} {p.text[:100]}")

    started = time.perf_counter()
    await asyncio.gather(*(buyer(t) for t in d["flash_tokens"]))
    settle = time.perf_counter() - started
    conn = await asyncpg.connect(f"{PG_SERVER}/{DB_NAME}")
    try:
        on_hand, reserved = await conn.fetchrow(
            "SELECT sum(on_hand), sum(reserved) FROM stock_level WHERE variant_id = $1", variant
        )
        paid_units = await conn.fetchval(
            "SELECT coalesce(sum(l.quantity), 0) FROM order_line l JOIN shop_order o ON o.id = l.order_id "
            "WHERE l.variant_id = $1 AND o.status = 'paid'",
            variant,
        )
    finally:
        await conn.close()
    return {
        "buyers": len(d["flash_tokens"]),
        "units": units,
        "paid_units": int(paid_units),
        "oversold": max(0, int(paid_units) - units),
        "refused_409": statuses.count(409),
        "refusal_reasons": reasons,
        "other_samples": others[:5],
        "other_status": len([s for s in statuses if s not in (201, 409)]),
        "stock_left": int(on_hand),
        "reserved_left": int(reserved),
        "settle_s": round(settle, 2),
    }


async def scrape(base: str) -> dict[str, float]:
    """A few counters from /metrics (summed over the workers) to cross-check the client's own counts."""
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        text = (await client.get("/metrics")).text
    out: dict[str, float] = {"checkouts_placed": 0.0, "checkouts_refused": 0.0, "http_requests": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "hub_checkouts_total":
                out["checkouts_" + sample.labels["outcome"]] += sample.value
            elif sample.name == "hub_http_requests_total":
                out["http_requests"] += sample.value
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data = await seed_people(args.flash_buyers)
    base = f"http://127.0.0.1:{args.port}"
    metrics_dir = tempfile.mkdtemp(prefix="hub-bench-metrics-")
    server = start_server(args.port, args.workers, metrics_dir)
    steps: list[dict[str, Any]] = []
    try:
        await wait_ready(base, 400)
        await wait_search(base)
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=500)
        # Many independent visitors, not one browser: never send a cookie back (a cart cookie would make every
        # later write cookie-authenticated, and so need a CSRF token).
        async with httpx.AsyncClient(
            base_url=base, limits=limits, timeout=10, event_hooks={"response": [_forget_cookies]}
        ) as client:
            mix = Mix(client, data, random.Random(42))
            probe = await client.post(
                "/api/checkout",
                json=mix.checkout_body(data["variants"][0], 1),
                headers={"Authorization": f"Bearer {data['buyer_tokens'][0]}"},
            )
            if probe.status_code != 201:
                raise RuntimeError(f"a probe checkout failed: {probe.status_code} {probe.text[:300]}")
            await run_step(mix, 10, 3)  # warm-up: connections, caches
            for rate in args.rates:
                summary = (await run_step(mix, rate, args.duration)).summary()
                steps.append(summary)
                print(
                    f"  step {rate:>4} req/s: p99 {summary['p99_ms']} ms, errors {summary['errors']}"
                    f" → {'held' if summary['held'] else 'NOT held'}",
                    file=sys.stderr,
                    flush=True,
                )
                if not summary["held"] and not args.keep_going:
                    break
                await asyncio.sleep(3)  # let the queue drain between steps
            flash = await flash_sale(mix, args.flash_units, args.flash_in_flight)
        scraped = await scrape(base)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    held = 0
    for s in steps:
        if not s["held"]:
            break
        held = s["rate"]
    return {"steps": steps, "highest_rate_held": held, "flash_sale": flash, "metrics": scraped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="50,100,200,400", help="comma-separated arrival rates (req/s)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per step")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--synthetic", type=int, default=20000, help="synthetic products besides the demo ones")
    parser.add_argument("--flash-buyers", type=int, default=2000)
    parser.add_argument("--flash-units", type=int, default=100)
    parser.add_argument("--flash-in-flight", type=int, default=200)
    parser.add_argument("--keep-going", action="store_true", help="run every step even after one is not held")
    parser.add_argument("--smoke", action="store_true", help="5 s steps at 20 and 40 req/s, 200 buyers, 2,000 products")
    args = parser.parse_args()
    if args.smoke:
        args.rates, args.duration, args.flash_buyers, args.synthetic = "20,40", 5.0, 200, 2000
    args.rates = [int(r) for r in str(args.rates).split(",") if r.strip()]
    started = time.perf_counter()
    prepare_database(args.synthetic)
    result = asyncio.run(run(args))
    loadavg = os.getloadavg()
    print(f"{'rate':>6} {'achieved':>9} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}  held")
    for s in result["steps"]:
        print(
            f"{s['rate']:>6} {s['achieved_per_s']:>9} {s['requests']:>9} {s['p50_ms']:>8} {s['p95_ms']:>8}"
            f" {s['p99_ms']:>8} {s['errors']:>7}  {'yes' if s['held'] else 'NO'}"
        )
        print(f"{'':>6} p99 by kind (ms): {s['by_kind_p99_ms']}; generator behind by {s['generator_late_s']} s")
        for sample in s["error_samples"]:
            print(f"{'':>6} error: {sample}")
    f = result["flash_sale"]
    print(f"highest rate held (p99 ≤ {P99_TARGET_MS:.0f} ms, 0 errors): {result['highest_rate_held']} req/s")
    print(
        f"flash sale: {f['buyers']} buyers, {f['units']} units → paid {f['paid_units']}, oversold {f['oversold']}, "
        f"refused 409 {f['refused_409']}, other {f['other_status']}, stock/reserved left {f['stock_left']}/"
        f"{f['reserved_left']}, settled in {f['settle_s']} s"
    )
    print(f"load average at the end: {loadavg[0]:.1f}; whole run {time.perf_counter() - started:.0f} s")
    print(
        json.dumps(
            {
                "bench": "load",
                "workers": args.workers,
                "step_seconds": args.duration,
                "synthetic_products": args.synthetic,
                "loadavg_end": [round(x, 2) for x in loadavg],
                **result,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
