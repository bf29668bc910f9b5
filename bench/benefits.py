"""Benefit month-close benchmark on PostgreSQL: `python -m bench.benefits`.

Loads one month (2026-10, Asia/Shanghai) with 1,000,000 paid order lines (ledger rows: workshop revenue, service fee
and, for a fifth of them, a streamer commission; plus refunds and rows just outside the month), 200 workshops,
5,000 shareholders, 20,000 work logs and 10,000 deliveries — bulk-loaded with COPY — then times the month close
(set-based SQL) and the rendering of 1,000 PDF statements. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

PG = os.environ.get("BENCH_PG_DSN", os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
DB = "hub_bench_benefits"
SH = ZoneInfo("Asia/Shanghai")
MONTH = "2026-10"


def server_dsn(db: str) -> str:
    return PG.rsplit("/", 1)[0] + "/" + db


async def recreate_database() -> str:
    admin = await asyncpg.connect(server_dsn("postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DB}"')
    finally:
        await admin.close()
    url = "postgresql+asyncpg://" + server_dsn(DB).removeprefix("postgresql://")
    from shop.cli import migrate_to

    await asyncio.to_thread(migrate_to, "head", url)
    return url


def moment(rng: random.Random, month_start: dt.datetime) -> dt.datetime:
    return (month_start + dt.timedelta(seconds=rng.randrange(31 * 86400))).astimezone(dt.UTC)


async def load(lines: int, workshops: int, holders: int, logs: int, deliveries: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    conn = await asyncpg.connect(server_dsn(DB))
    now = dt.datetime.now(dt.UTC)
    try:
        county = await conn.fetchval("INSERT INTO region (level, name) VALUES ('county', '青田县') RETURNING id")
        village = await conn.fetchval(
            "INSERT INTO region (level, name, parent_id, county_id) VALUES ('village', '上坪村', $1, $1) RETURNING id",
            county,
        )
        await conn.copy_records_to_table(
            "workshop",
            columns=[
                "name",
                "village_id",
                "county_id",
                "workshop_type",
                "operator_kind",
                "operator_name",
                "story",
                "address",
                "benefit_models",
                "service_fee_bp",
                "is_active",
                "created_at",
                "updated_at",
            ],
            records=[
                (
                    f"共富工坊{i:03d}",
                    village,
                    county,
                    "material_processing",
                    "village_company",
                    "强村公司",
                    "",
                    "",
                    '["labour","purchase","equity"]',
                    500,
                    True,
                    now,
                    now,
                )
                for i in range(workshops)
            ],
        )
        ws_ids = [r["id"] for r in await conn.fetch("SELECT id FROM workshop ORDER BY id")]
        streamers = 50
        await conn.copy_records_to_table(
            "user_account",
            columns=["username", "display_name", "password_hash", "role", "is_active", "created_at", "updated_at"],
            records=[(f"streamer{i}", f"村播{i}", "x", "streamer", True, now, now) for i in range(streamers)],
        )
        user_ids = [r["id"] for r in await conn.fetch("SELECT id FROM user_account ORDER BY id")]
        workers = 2_000
        members = [("household" if i % 40 else "collective", f"股东{i}", None) for i in range(holders)]
        members += [("worker", f"工人{i}", None) for i in range(workers)]
        members += [("streamer", f"村播{i}", user_ids[i]) for i in range(streamers)]
        await conn.copy_records_to_table(
            "benefit_member",
            columns=["kind", "name", "represented_by", "phone", "delivery", "user_id", "created_at", "updated_at"],
            records=[(k, n, n, "", "sms", u, now, now) for k, n, u in members],
        )
        member_ids = [r["id"] for r in await conn.fetch("SELECT id FROM benefit_member ORDER BY id")]
        holder_ids, worker_ids = member_ids[:holders], member_ids[holders : holders + workers]
        d0 = dt.date(2026, 10, 1)
        await conn.copy_records_to_table(
            "benefit_agreement",
            columns=[
                "workshop_id",
                "effective_month",
                "dividend_ratio_bp",
                "service_fee_bp",
                "created_at",
                "updated_at",
            ],
            records=[(w, "2026-01", rng.choice([2000, 3000, 5000]), 500, now, now) for w in ws_ids],
        )
        shares = [
            (
                ws_ids[i % workshops],
                h,
                d0 - dt.timedelta(days=rng.randrange(300)),
                rng.randint(1, 100),
                "land",
                rng.randint(0, 500),
                0,
                "",
                now,
                now,
            )
            for i, h in enumerate(holder_ids)
        ]
        shares += [
            (
                ws_ids[rng.randrange(workshops)],
                rng.choice(holder_ids),
                d0 + dt.timedelta(days=rng.randrange(31)),
                rng.randint(1, 20),
                "money",
                0,
                rng.randint(1, 10**6),
                "",
                now,
                now,
            )
            for _ in range(holders // 2)
        ]
        await conn.copy_records_to_table(
            "benefit_share_change",
            columns=[
                "workshop_id",
                "member_id",
                "effective_on",
                "delta_shares",
                "contribution",
                "land_mu_centi",
                "money_fen",
                "note",
                "created_at",
                "updated_at",
            ],
            records=shares,
        )
        work = []
        for _ in range(logs):
            piece = rng.random() < 0.7
            qty = rng.randint(1, 400) if piece else rng.randint(30, 600)
            rate = rng.randint(50, 500) if piece else rng.randint(1500, 3000)
            amount = qty * rate if piece else (qty * rate * 2 + 60) // 120
            work.append(
                (
                    rng.choice(worker_ids),
                    ws_ids[rng.randrange(workshops)],
                    d0 + dt.timedelta(days=rng.randrange(31)),
                    "包装" if piece else "熬糖",
                    "piece" if piece else "hour",
                    qty,
                    rate,
                    amount,
                    "approved" if rng.random() < 0.95 else "pending",
                    "csv",
                    now,
                    now,
                )
            )
        await conn.copy_records_to_table(
            "benefit_work_log",
            columns=[
                "member_id",
                "workshop_id",
                "work_date",
                "task",
                "unit",
                "quantity",
                "rate_fen",
                "amount_fen",
                "status",
                "source",
                "created_at",
                "updated_at",
            ],
            records=work,
        )
        growers = worker_ids[:500]
        await conn.copy_records_to_table(
            "benefit_purchase_contract",
            columns=[
                "workshop_id",
                "member_id",
                "produce",
                "floor_fen_per_kg",
                "premium_fen_per_kg",
                "valid_from",
                "valid_to",
                "created_at",
                "updated_at",
            ],
            records=[
                (ws_ids[i % workshops], g, "番薯", 160, 20, dt.date(2026, 1, 1), dt.date(2026, 12, 31), now, now)
                for i, g in enumerate(growers)
            ],
        )
        contracts = await conn.fetch("SELECT id, workshop_id, member_id FROM benefit_purchase_contract")
        drops = []
        for _ in range(deliveries):
            c = rng.choice(contracts)
            grams, market = rng.randint(1_000, 2_000_000), rng.randint(100, 250)
            price = max(160, market + 20)
            pay, value = (grams * price * 2 + 1000) // 2000, (grams * market * 2 + 1000) // 2000
            drops.append(
                (
                    c["id"],
                    c["workshop_id"],
                    c["member_id"],
                    d0 + dt.timedelta(days=rng.randrange(31)),
                    grams,
                    market,
                    price,
                    pay,
                    value,
                    pay - value,
                    now,
                    now,
                )
            )
        await conn.copy_records_to_table(
            "benefit_delivery",
            columns=[
                "contract_id",
                "workshop_id",
                "member_id",
                "delivered_on",
                "grams",
                "market_fen_per_kg",
                "price_fen_per_kg",
                "payment_fen",
                "market_value_fen",
                "benefit_fen",
                "created_at",
                "updated_at",
            ],
            records=drops,
        )
        await conn.copy_records_to_table(
            "benefit_cost",
            columns=["workshop_id", "incurred_on", "category", "amount_fen", "note", "created_at", "updated_at"],
            records=[
                (w, d0 + dt.timedelta(days=rng.randrange(31)), cat, rng.randint(10_000, 2_000_000), "", now, now)
                for w in ws_ids
                for cat in ("materials", "rent", "other")
            ],
        )
        ledger_rows = await load_ledger(conn, rng, lines, ws_ids, user_ids)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return {"ledger_rows": ledger_rows, "members": len(member_ids), "share_changes": len(shares)}


async def load_ledger(
    conn: asyncpg.Connection, rng: random.Random, lines: int, ws_ids: list[int], streamer_ids: list[int]
) -> int:
    start = dt.datetime(2026, 10, 1, tzinfo=SH)
    cols = [
        "kind",
        "amount_fen",
        "occurred_at",
        "order_id",
        "order_line_id",
        "workshop_id",
        "streamer_user_id",
        "live_session_id",
        "rate_bp",
        "note",
    ]
    total, chunk = 0, 100_000
    batch: list[tuple[object, ...]] = []
    for line in range(1, lines + 1):
        at = moment(rng, start)
        if line % 500 == 0:  # a few rows of the neighbouring months, which the close must leave out
            at = at - dt.timedelta(days=31) if line % 1000 else at + dt.timedelta(days=31)
        net = rng.randint(500, 20_000)
        ws = ws_ids[rng.randrange(len(ws_ids))]
        fee = (net * 500 + 5000) // 10_000
        order = line // 3 + 1
        if line % 5 == 0:
            streamer = streamer_ids[line % len(streamer_ids)]
            commission = (net * 1000 + 5000) // 10_000
            batch.append(("streamer_commission", commission, at, order, line, ws, streamer, line % 400 + 1, 1000, ""))
        else:
            commission = 0
        batch.append(("service_fee", fee, at, order, line, ws, None, None, 500, ""))
        batch.append(("workshop_revenue", net - fee - commission, at, order, line, ws, None, None, None, ""))
        if line % 100 == 0:  # a refund of this line later in the month
            batch.append(
                (
                    "workshop_revenue",
                    -(net - fee - commission),
                    at + dt.timedelta(hours=2),
                    order,
                    line,
                    ws,
                    None,
                    None,
                    None,
                    "refund",
                )
            )
        if len(batch) >= chunk:
            await conn.copy_records_to_table("ledger_entry", columns=cols, records=batch)
            total += len(batch)
            batch = []
    if batch:
        await conn.copy_records_to_table("ledger_entry", columns=cols, records=batch)
        total += len(batch)
    return total


async def close_month(url: str) -> tuple[float, Any]:
    from shop.benefits.services.close import CloseService
    from shop.db import create_engine, create_session_factory
    from shop.settings import DatabaseSettings

    engine = create_engine(DatabaseSettings.model_validate({"DATABASE_URL": url}), null_pool=True)
    try:
        async with create_session_factory(engine)() as session:
            started = time.perf_counter()
            out = await CloseService(session).close(MONTH, None)
            return time.perf_counter() - started, out
    finally:
        await engine.dispose()


def _warm(_: int) -> int:
    """Load the CJK font in a worker, as a long-running app process has it loaded already."""
    from shop.benefits.services.pdf import cjk_font

    return len(cjk_font().cmap)


def _render(statement: object) -> int:
    from shop.benefits.services.pdf import render_pdf

    return len(render_pdf(statement))  # type: ignore[arg-type]


async def render_statements(url: str, count: int, workers: int) -> tuple[float, float, int]:
    from shop.benefits.services.statements import StatementService
    from shop.db import create_engine, create_session_factory
    from shop.settings import DatabaseSettings

    engine = create_engine(DatabaseSettings.model_validate({"DATABASE_URL": url}), null_pool=True)
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_warm, range(workers), chunksize=1))
        started = time.perf_counter()
        async with create_session_factory(engine)() as session:
            service = StatementService(session)
            ids = await service.member_ids(MONTH, count)
            statements = []
            for at in range(0, len(ids), 200):
                statements += await service.statements(MONTH, ids[at : at + 200])
        fetched = time.perf_counter() - started
        sizes = list(pool.map(_render, statements, chunksize=8))
        elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed, fetched, sum(sizes)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workshops", type=int, default=200)
    parser.add_argument("--holders", type=int, default=5_000)
    parser.add_argument("--logs", type=int, default=20_000)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--pdfs", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2, help="PDF rendering processes")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database afterwards")
    args = parser.parse_args()
    url = await recreate_database()
    started = time.perf_counter()
    loaded = await load(args.lines, args.workshops, args.holders, args.logs, args.deliveries, seed=42)
    load_s = time.perf_counter() - started
    close_s, out = await close_month(url)
    again_s, again = await close_month(url)
    pdf_s, fetch_s, pdf_bytes = await render_statements(url, args.pdfs, args.workers)
    rate = args.pdfs / pdf_s
    result = {
        "bench": "benefits",
        "order_lines": args.lines,
        "ledger_rows": loaded["ledger_rows"],
        "workshops": args.workshops,
        "shareholders": args.holders,
        "work_logs": args.logs,
        "deliveries": args.deliveries,
        "load_s": round(load_s, 1),
        "close_s": round(close_s, 2),
        "close_again_s": round(again_s, 3),
        "already_closed": again.already_closed,  # type: ignore[attr-defined]
        "statements": out.statements,
        "paid_out_fen": out.paid_out_fen,  # type: ignore[attr-defined]
        "pdfs": args.pdfs,
        "pdf_s": round(pdf_s, 1),
        "pdf_fetch_s": round(fetch_s, 1),
        "pdf_per_s": round(rate, 1),
        "pdf_workers": args.workers,
        "avg_pdf_kb": round(pdf_bytes / args.pdfs / 1024, 1),
        "close_target_met": close_s <= 60,
        "pdf_target_met": rate >= 10,
        "cores": os.cpu_count(),
    }
    rows = [
        ("load (COPY)", f"{load_s:.1f} s"),
        ("close 2026-10", f"{close_s:.2f} s (target ≤ 60 s)"),
        ("close again (idempotent)", f"{again_s:.3f} s"),
        ("statements", str(result["statements"])),
        (f"{args.pdfs} PDFs", f"{pdf_s:.1f} s = {rate:.1f}/s (target ≥ 10/s, {args.workers} processes)"),
    ]
    print("| step | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(json.dumps(result, ensure_ascii=False))
    if not args.keep:
        admin = await asyncpg.connect(server_dsn("postgres"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
