"""Search benchmark: ``python -m bench.search [--docs N] [--queries N] [--no-http]``.

1. Generates N synthetic products (default 100,000) in memory from word lists (produce, places, brands), seeded.
2. Times the embedded index build and measures its memory (RSS delta and the engine's own estimate).
3. Runs a fixed mix of queries (Chinese, pinyin, initials, typos, traditional, prefixes, multi-word; with filters,
   sorts and all eight facets) in-process: p50/p95/p99.
4. Runs the same queries over HTTP against a minimal Litestar app (``SearchService`` → embedded engine) served by
   uvicorn in a child process: p50/p95/p99 end to end (client on one core, server on the other).
5. Runs the same queries as a plain SQL ``LIKE '%q%'`` baseline on SQLite with the same rows (match + count + one
   page; no facets, so the baseline does less work than the engine), on every 5th query to bound the run time.

Prints a table and ends with ONE JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from typing import Any

from search.documents import price_band
from search.engine.base import PRODUCT_SPEC, WORKSHOP_SPEC, SearchQuery
from search.engine.embedded import EmbeddedEngine
from search.schemas import SearchParams, SearchResponse
from search.services import SearchService
from search.text import Analyzer, word_pinyin

SEED = 20240611
BUILD_CPU_S = 0.0
FACETS = list(PRODUCT_SPEC.facets)

PRODUCE = [
    "红糖",
    "黑糖",
    "番薯",
    "红薯",
    "地瓜",
    "番薯干",
    "番薯粉丝",
    "香菇",
    "花菇",
    "黑木耳",
    "笋干",
    "冬笋",
    "杨梅",
    "猕猴桃",
    "黄桃",
    "水蜜桃",
    "蜜梨",
    "茭白",
    "山核桃",
    "香榧",
    "蜂蜜",
    "土蜂蜜",
    "菊米",
    "白茶",
    "红茶",
    "绿茶",
    "高山茶",
    "银猴茶",
    "惠明茶",
    "土鸡蛋",
    "草鸡蛋",
    "土鸡",
    "田鱼",
    "高山大米",
    "糯米",
    "年糕",
    "麻糍",
    "米酒",
    "黄酒",
    "烧饼",
    "青瓷",
    "宝剑",
    "竹编",
    "木玩",
    "石雕",
    "剪纸",
    "腊肉",
    "火腿",
    "豆腐干",
    "辣椒酱",
    "菜籽油",
    "茶油",
    "板栗",
    "葛根粉",
    "灵芝",
    "铁皮石斛",
    "金银花",
    "番茄",
    "土豆",
    "玉米",
    "花生",
    "柿饼",
    "梅干菜",
    "粽子",
    "月饼",
    "酥饼",
    "藕粉",
    "葡萄",
    "草莓",
    "橘子",
    "柚子",
    "杨桃",
    "民宿",
    "农家乐",
    "采摘",
    "研学",
]
QUALIFIERS = [
    "古法",
    "手工",
    "高山",
    "有机",
    "农家",
    "野生",
    "新鲜",
    "特级",
    "精选",
    "生态",
    "原味",
    "传统",
    "老字号",
    "头茬",
    "冷冻",
    "即食",
    "散装",
]
PACKS = ["500g", "250g", "1kg", "2斤", "5斤", "礼盒装", "家庭装", "袋装", "罐装", "12枚", "30枚", "两晚", "一日游"]
BRANDS = (
    ("丽水山坊", ("山耕", "山景", "山居", "山播")),
    ("侨乡优品", ("青田侨品", "侨乡味道")),
    ("台州好产品", ("台州山海", "黄岩蜜橘")),
    ("嵊州共富", ("越乡好物",)),
    ("莫干山农品", ("德清嫩笋",)),
)
COUNTIES = [
    "莲都区",
    "龙泉市",
    "青田县",
    "缙云县",
    "遂昌县",
    "松阳县",
    "云和县",
    "庆元县",
    "景宁县",
    "黄岩区",
    "路桥区",
    "嵊州市",
    "德清县",
    "海宁市",
    "仙居县",
]
TOWNS = [
    "壶镇",
    "新建",
    "大洋",
    "船寮",
    "石门",
    "温溪",
    "湖山",
    "妙高",
    "大东坝",
    "安仁",
    "竹口",
    "东坑",
    "宁溪",
    "院桥",
    "甘霖",
]
WORKSHOP_TYPES = [
    "material_processing",
    "directed_hiring",
    "ecommerce_livestream",
    "agri_tourism",
    "brand_led",
    "industry_empowerment",
    "mobile_supply",
    "overseas_chinese_aided",
    "mountain_sea_cooperation",
]
SENTENCES = (
    "产自{county}{town}的{q}{p}，由共富工坊组织农户{verb}。",
    "选用当地{p}，{q}工艺，口感醇厚，送礼自用皆宜。",
    "每一份收入都有农户的分红，保底收购让种植户安心。",
    "冷链发货，村级服务点可自提，支持直播间下单。",
)
VERBS = ["手工熬制", "精心挑选", "采摘晾晒", "传统制作", "分拣包装"]
TRADITIONAL = {
    "红糖": "紅糖",
    "番薯": "番薯",
    "杨梅": "楊梅",
    "猕猴桃": "獼猴桃",
    "蜂蜜": "蜂蜜",
    "香菇": "香菇",
    "黄酒": "黃酒",
    "绿茶": "綠茶",
    "红茶": "紅茶",
    "笋干": "筍乾",
    "烧饼": "燒餅",
    "剪纸": "剪紙",
}


def make_documents(n: int, seed: int = SEED) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    brand_rows: list[tuple[int, str, int, str]] = []  # (brand id, name, family id, family name)
    next_id = 1
    for family, subs in BRANDS:
        family_id = next_id
        brand_rows.append((family_id, family, family_id, family))
        next_id += 1
        for sub in subs:
            brand_rows.append((next_id, sub, family_id, family))
            next_id += 1
    workshops = [
        (
            1000 + i,
            f"{rng.choice(TOWNS)}{rng.choice(PRODUCE)}共富工坊{i}",
            rng.choice(WORKSHOP_TYPES),
            rng.randrange(len(COUNTIES)),
            rng.choice([0, 3, 4, 4, 5, 5]),
        )
        for i in range(400)
    ]
    docs = []
    for i in range(1, n + 1):
        produce = rng.choice(PRODUCE)
        qualifier = rng.choice(QUALIFIERS)
        brand_id, brand, family_id, family = rng.choice(brand_rows)
        wid, wname, wtype, county_no, stars = rng.choice(workshops)
        county, town = COUNTIES[county_no], rng.choice(TOWNS)
        place = rng.choice(["", county[:2], town])
        title = f"{brand if rng.random() < 0.3 else ''}{place}{qualifier}{produce} {rng.choice(PACKS)}".strip()
        price = rng.choice([990, 1500, 1990, 2800, 3800, 4990, 6800, 8800, 12800, 16800, 25800, 68000])
        description = "".join(
            s.format(county=county, town=town, q=qualifier, p=produce, verb=rng.choice(VERBS))
            for s in rng.sample(SENTENCES, 2)
        )
        docs.append(
            {
                "id": i,
                "title": title,
                "subtitle": f"{qualifier}{produce}，{rng.choice(VERBS)}",
                "description": description,
                "brand_id": brand_id,
                "brand_name": brand,
                "family_id": family_id,
                "family_name": family,
                "brand_path": [family, brand] if brand != family else [family],
                "workshop_id": wid,
                "workshop_name": wname,
                "workshop_type": wtype,
                "workshop_type_label": "",
                "county_id": 100 + county_no,
                "county_name": county,
                "township_name": town + "镇",
                "village_name": "",
                "tags": [produce, qualifier],
                "price_fen": price,
                "price_band": price_band(price),
                "in_stock": rng.random() < 0.85,
                "stars": stars,
                "sales_count": int(rng.paretovariate(1.2) * 10),
                "live_now": rng.random() < 0.02,
                "created_at": 1_700_000_000 + i * 60,
                "version": f"v{i}",
            }
        )
    return docs


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :] if rng.random() < 0.5 else word[:i] + word[i + 1 :]


def make_queries(n: int, seed: int = SEED + 1) -> list[dict[str, Any]]:
    """A fixed mix: what buyers type on a phone and at the kiosk, with filters and sorts on a share of them."""
    rng = random.Random(seed)
    queries = []
    for i in range(n):
        produce = rng.choice(PRODUCE)
        full, initials = word_pinyin(produce)
        kind = i % 10
        if kind in (0, 1, 2):
            q = produce
        elif kind == 3:
            q = full
        elif kind == 4:
            q = initials if len(initials) > 1 else full
        elif kind == 5:
            long = [p for p in PRODUCE if len(word_pinyin(p)[0]) >= 6]
            q = _typo(word_pinyin(rng.choice(long))[0], rng)
        elif kind == 6:
            q = TRADITIONAL.get(produce, produce)
        elif kind == 7:
            q = f"{rng.choice(QUALIFIERS)} {produce}"
        elif kind == 8:
            q = full[: rng.randint(2, 4)]  # as you type
        else:
            q = f"{rng.choice(COUNTIES)[:2]}{produce}"
        filters: dict[str, list[Any]] = {}
        minimums: dict[str, int] = {}
        if rng.random() < 0.4:
            choice = rng.randrange(5)
            if choice == 0:
                filters["family_id"] = [rng.choice([1, 6, 9])]
            elif choice == 1:
                filters["county_id"] = [100 + rng.randrange(len(COUNTIES))]
            elif choice == 2:
                minimums["stars"] = rng.choice([4, 5])
            elif choice == 3:
                filters["in_stock"] = [True]
            else:
                filters["price_band"] = [rng.choice(["lt20", "20_50", "50_100"])]
        sort = rng.choice(["relevance"] * 6 + ["price_asc", "price_desc", "sales", "newest"])
        queries.append({"q": q, "filters": filters, "minimums": minimums, "sort": sort})
    return queries


def _rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))], 3)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": round(statistics.fmean(ordered), 3)}


async def build_engine(docs: list[dict[str, Any]]) -> tuple[EmbeddedEngine, float]:
    engine = EmbeddedEngine(PRODUCT_SPEC, Analyzer())
    started, cpu = time.perf_counter(), time.process_time()
    await engine.rebuild(docs)
    global BUILD_CPU_S
    BUILD_CPU_S = time.process_time() - cpu
    return engine, time.perf_counter() - started


def run_inprocess(engine: EmbeddedEngine, queries: list[dict[str, Any]]) -> tuple[list[float], list[float], list[int]]:
    """Wall-clock and CPU (this thread) milliseconds per query: CPU time is what an idle machine would show when
    other processes compete for the cores."""
    timings, cpu_timings, totals = [], [], []
    for spec in queries[:50]:  # warm-up: caches of the segmenter and pinyin, as in a running server
        engine.search_sync(SearchQuery(facets=FACETS, **spec))
    for spec in queries:
        started, cpu = time.perf_counter(), time.thread_time()
        result = engine.search_sync(SearchQuery(facets=FACETS, limit=20, **spec))
        cpu_timings.append((time.thread_time() - cpu) * 1000)
        timings.append((time.perf_counter() - started) * 1000)
        totals.append(result.total)
    return timings, cpu_timings, totals


LIKE_COLUMNS = ("title", "subtitle", "description", "brand_name", "family_name", "workshop_name", "county_name", "tags")


def like_baseline(docs: list[dict[str, Any]], queries: list[dict[str, Any]]) -> list[float]:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE product (id INTEGER PRIMARY KEY, title TEXT, subtitle TEXT, description TEXT, brand_name TEXT,"
        " family_name TEXT, workshop_name TEXT, county_name TEXT, tags TEXT, family_id INT, county_id INT, stars INT,"
        " in_stock INT, price_fen INT, price_band TEXT, sales_count INT, created_at INT)"
    )
    db.executemany(
        "INSERT INTO product VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                d["id"],
                d["title"],
                d["subtitle"],
                d["description"],
                d["brand_name"],
                d["family_name"],
                d["workshop_name"],
                d["county_name"],
                " ".join(d["tags"]),
                d["family_id"],
                d["county_id"],
                d["stars"],
                int(d["in_stock"]),
                d["price_fen"],
                d["price_band"],
                d["sales_count"],
                d["created_at"],
            )
            for d in docs
        ],
    )
    for column in ("family_id", "county_id", "stars", "in_stock", "price_band", "price_fen", "sales_count"):
        db.execute(f"CREATE INDEX ix_{column} ON product ({column})")
    db.commit()
    order = {
        "relevance": "sales_count DESC",
        "price_asc": "price_fen",
        "price_desc": "price_fen DESC",
        "sales": "sales_count DESC",
        "newest": "created_at DESC",
    }
    timings = []
    for spec in queries:
        where: list[str] = []
        params: list[Any] = []
        for word in spec["q"].split():
            where.append("(" + " OR ".join(f"{c} LIKE ?" for c in LIKE_COLUMNS) + ")")
            params += [f"%{word}%"] * len(LIKE_COLUMNS)
        for name, values in spec["filters"].items():
            where.append(f"{name} IN ({', '.join('?' * len(values))})")
            params += [int(v) if isinstance(v, bool) else v for v in values]
        for name, minimum in spec["minimums"].items():
            where.append(f"{name} >= ?")
            params.append(minimum)
        clause = " AND ".join(where) or "1"
        started = time.perf_counter()
        db.execute(f"SELECT count(*) FROM product WHERE {clause}", params).fetchone()
        db.execute(
            f"SELECT id, title, price_fen FROM product WHERE {clause} ORDER BY {order[spec['sort']]} LIMIT 20",
            params,
        ).fetchall()
        timings.append((time.perf_counter() - started) * 1000)
    db.close()
    return timings


# ----------------------------------------------------------------- over HTTP


def serve(port: int, n_docs: int) -> None:
    """Child process: build the same index and serve it through SearchService under uvicorn."""
    import uvicorn
    from litestar import Litestar, get

    analyzer = Analyzer()
    products = EmbeddedEngine(PRODUCT_SPEC, analyzer)
    service = SearchService(products, EmbeddedEngine(WORKSHOP_SPEC, analyzer), analyzer)

    @get("/api/search", signature_namespace={"SearchResponse": SearchResponse})
    async def search_route(
        q: str = "",
        family: list[int] | None = None,
        county: list[int] | None = None,
        stars_min: int | None = None,
        price_band: list[str] | None = None,
        in_stock: bool | None = None,
        sort: str = "relevance",
        page: int = 1,
        per_page: int = 20,
    ) -> SearchResponse:
        params = SearchParams(
            q=q,
            family=family or [],
            county=county or [],
            stars_min=stars_min,
            price_band=price_band or [],
            in_stock=in_stock,
            sort=sort,  # type: ignore[arg-type]
            page=page,
            per_page=per_page,
        )
        return await service.search(params)

    @get("/ready")
    async def ready() -> dict[str, int]:
        return {"count": await products.count()}

    async def startup() -> None:
        await products.rebuild(make_documents(n_docs))

    app = Litestar([search_route, ready], on_startup=[startup])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _http_params(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    params: list[tuple[str, Any]] = [("q", spec["q"]), ("sort", spec["sort"])]
    names = {"family_id": "family", "county_id": "county", "price_band": "price_band", "in_stock": "in_stock"}
    for name, values in spec["filters"].items():
        params += [(names[name], str(v).lower() if isinstance(v, bool) else v) for v in values]
    if "stars" in spec["minimums"]:
        params.append(("stars_min", spec["minimums"]["stars"]))
    return params


def run_http(queries: list[dict[str, Any]], n_docs: int) -> dict[str, Any]:
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    child = subprocess.Popen([sys.executable, "-m", "bench.search", "--serve", str(port), "--docs", str(n_docs)])
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if client.get("/ready").json()["count"] == n_docs:
                        break
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError("search server did not start")
                time.sleep(0.5)
            for spec in queries[:50]:
                client.get("/api/search", params=_http_params(spec))
            timings, failures = [], 0
            for spec in queries:
                started = time.perf_counter()
                response = client.get("/api/search", params=_http_params(spec))
                timings.append((time.perf_counter() - started) * 1000)
                failures += response.status_code != 200
        return {"timings": timings, "failures": failures}
    finally:
        child.terminate()
        child.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--like-every", type=int, default=5, help="run the LIKE baseline on every Nth query")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.docs)
        return

    load_start = list(os.getloadavg())  # other work on the machine inflates wall-clock figures
    docs = make_documents(args.docs)
    queries = make_queries(args.queries)
    # Warm-up build on a few documents: loads the jieba and pinyin dictionaries, so the RSS delta is the index.
    asyncio.run(build_engine(docs[:200]))
    gc.collect()
    rss_before = _rss_bytes()
    engine, build_s = asyncio.run(build_engine(docs))
    gc.collect()
    rss_delta = _rss_bytes() - rss_before
    timings, cpu_timings, totals = run_inprocess(engine, queries)
    inproc = _percentiles(timings)
    inproc_cpu = _percentiles(cpu_timings)
    sampled = queries[:: args.like_every]
    like = _percentiles(like_baseline(docs, sampled))
    engine_sampled = _percentiles(timings[:: args.like_every])
    http: dict[str, Any] | None = None
    if not args.no_http:
        try:
            http = run_http(queries, args.docs)
        except RuntimeError as exc:
            print(f"over-HTTP run failed: {exc}", file=sys.stderr)
    http_p = _percentiles(http["timings"]) if http else None

    rows = [
        ("documents", f"{args.docs:,}"),
        ("queries (with 8 facets each)", f"{len(queries):,}; {sum(1 for t in totals if t)} with hits"),
        ("index build (wall / CPU)", f"{build_s:.1f} s / {BUILD_CPU_S:.1f} s"),
        ("index memory (RSS delta)", f"{rss_delta / 2**20:.0f} MiB"),
        ("index memory (engine estimate)", f"{engine.memory_bytes() / 2**20:.0f} MiB"),
        ("in-process p50 / p95 / p99", f"{inproc['p50']} / {inproc['p95']} / {inproc['p99']} ms"),
        ("in-process CPU p50 / p95 / p99", f"{inproc_cpu['p50']} / {inproc_cpu['p95']} / {inproc_cpu['p99']} ms"),
    ]
    if http_p and http:
        rows.append(
            (
                "over HTTP p50 / p95 / p99",
                f"{http_p['p50']} / {http_p['p95']} / {http_p['p99']} ms ({http['failures']} failures)",
            )
        )
    rows += [
        (f"SQL LIKE p50 / p95 (every {args.like_every}th query)", f"{like['p50']} / {like['p95']} ms"),
        ("engine p95 on the same queries", f"{engine_sampled['p95']} ms"),
        ("LIKE p95 / engine p95", f"{like['p95'] / max(engine_sampled['p95'], 1e-6):.1f}×"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\nSearch benchmark ({os.cpu_count()} CPUs, load average {load_start[0]:.1f} at start)")
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")
    figures = {
        "docs": args.docs,
        "queries": len(queries),
        "build_s": round(build_s, 2),
        "build_cpu_s": round(BUILD_CPU_S, 2),
        "loadavg_start": load_start,
        "loadavg_end": list(os.getloadavg()),
        "index_rss_mib": round(rss_delta / 2**20, 1),
        "index_estimate_mib": round(engine.memory_bytes() / 2**20, 1),
        "inprocess_ms": inproc,
        "inprocess_cpu_ms": inproc_cpu,
        "http_ms": http_p,
        "http_failures": http["failures"] if http else None,
        "like_ms": like,
        "engine_ms_on_like_sample": engine_sampled,
        "like_over_engine_p95": round(like["p95"] / max(engine_sampled["p95"], 1e-6), 1),
    }
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
