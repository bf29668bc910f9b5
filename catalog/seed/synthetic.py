"""Large synthetic catalogues for benchmarks: `hub seed --synthetic 100000`.

`iter_synthetic_products` is pure (no database) so the search benchmark can index the same documents;
`load_synthetic` writes them with SQLAlchemy Core executemany in batches — no ORM object per row — plus the
regions, brands, workshops and stock locations they need. Output is deterministic for a given seed; SKUs are
`SYN<seed>-<index>-<n>` and a later run with the same seed continues the index instead of colliding.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Dialect, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from catalog.models import (
    Brand,
    LocationKind,
    Product,
    ProductVariant,
    RatingHalf,
    RedSteward,
    Region,
    StarRating,
    StockLevel,
    StockLocation,
    Workshop,
    WorkshopType,
)
from catalog.seed.brands import BRAND_FAMILIES
from catalog.seed.regions import COUNTIES
from catalog.seed.specs import stars_for
from catalog.seed.synthetic_words import CATEGORIES, COUNTY_FAMILY, TOWNSHIP_ROOTS, VILLAGE_ROOTS, brand_for

Progress = Callable[[int, int], None]
T = TypeVar("T")


# Synthetic workshops draw from all nine operating models.
_TYPES = tuple(WorkshopType)


@dataclass(frozen=True, slots=True)
class SyntheticWorkshop:
    index: int
    name: str
    county: str
    township: str
    village: str
    workshop_type: WorkshopType
    category: int
    stars: int
    brand: str
    family: str


def synthetic_workshops(seed: int = 42, count: int = 200) -> list[SyntheticWorkshop]:
    """The workshops synthetic products belong to, spread over the counties that have a brand family."""
    rng = random.Random(f"workshops:{seed}")
    counties = [c for c in COUNTIES if c.name in COUNTY_FAMILY]
    used: set[str] = set()
    result: list[SyntheticWorkshop] = []
    for index in range(count):
        county = counties[index % len(counties)]
        township = rng.choice(TOWNSHIP_ROOTS) + rng.choice(("镇", "乡", "街道"))
        village = rng.choice(VILLAGE_ROOTS) + "村"
        category = rng.randrange(len(CATEGORIES))
        theme = CATEGORIES[category].theme
        name = f"{county.name[:2]}{village}{theme}共富工坊"
        suffix = 2
        while name in used:
            name, suffix = f"{county.name[:2]}{village}{theme}共富工坊（{suffix}）", suffix + 1
        used.add(name)
        family = COUNTY_FAMILY[county.name]
        brand = brand_for(family, CATEGORIES[category], rng)
        stars = rng.choices((2, 3, 4, 5), weights=(1, 4, 5, 2))[0]
        result.append(
            SyntheticWorkshop(
                index, name, county.name, township, village, rng.choice(_TYPES), category, stars, brand, family
            )
        )
    return result


def iter_synthetic_products(
    count: int, seed: int = 42, *, start: int = 0, workshops: list[SyntheticWorkshop] | None = None
) -> Iterator[dict[str, Any]]:
    """Yield `count` product documents (indices start … start+count−1) with their variants and facets, no database."""
    workshops = workshops if workshops is not None else synthetic_workshops(seed)
    rand = random.Random(f"products:{seed}:{start}").random

    # rand()-based picks: several times cheaper than Random.choice/randint, and this loop runs 100,000 times.
    def choice(seq: Sequence[T]) -> T:
        return seq[int(rand() * len(seq))]

    def randint(low: int, high: int) -> int:
        return low + int(rand() * (high - low + 1))

    for index in range(start, start + count):
        ws = choice(workshops)
        cat = CATEGORIES[ws.category]
        noun = choice(cat.nouns)
        qualifier = choice(cat.qualifiers)
        place = ws.county[:2]
        title = f"{place}{qualifier}{noun}" if rand() < 0.7 else f"{ws.village}{qualifier}{noun}"
        base = randint(*cat.base_fen) // 10 * 10
        n_variants = 1 + (rand() < 0.6) + (rand() < 0.2)
        packs = cat.packs[:n_variants] if len(cat.packs) >= n_variants else cat.packs
        variants: list[dict[str, Any]] = []
        for n, (pack, grams, factor) in enumerate(packs, start=1):
            on_hand = 0 if rand() < 0.1 else randint(1, 500)
            variants.append(
                {
                    "sku": f"SYN{seed}-{index:07d}-{n}",
                    "name": pack,
                    "price_fen": max(100, base * factor // 100 // 10 * 10 - 20),
                    "weight_g": grams,
                    "on_hand": on_hand,
                }
            )
        yield {
            "index": index,
            "title": title,
            "subtitle": f"{ws.county}{ws.township}{ws.village}·{choice(cat.process)}",
            "description": (
                f"产自{ws.county}{ws.township}{ws.village}的{noun}，{choice(cat.process)}。"
                f"由{ws.name}统一品控、包装发货，每一单都有村民的工钱和村集体的分红。"
            ),
            "tags": [noun, cat.theme, place, qualifier],
            "shelf_life_days": cat.shelf_life_days,
            "sales_count": int(rand() ** 3 * 5000),
            "min_price_fen": min(v["price_fen"] for v in variants),
            "in_stock": any(v["on_hand"] > 0 for v in variants),
            "workshop": ws.name,
            "workshop_index": ws.index,
            "workshop_type": ws.workshop_type.value,
            "county": ws.county,
            "stars": ws.stars,
            "brand": ws.brand,
            "family": ws.family,
            "variants": variants,
        }


async def load_synthetic(
    engine_or_session_factory: AsyncEngine | async_sessionmaker[AsyncSession],
    count: int,
    *,
    seed: int = 42,
    batch: int = 5000,
    progress: Progress | None = None,
) -> int:
    """Insert `count` synthetic products (with variants and stock) in batches; returns the number inserted."""
    engine = (
        engine_or_session_factory
        if isinstance(engine_or_session_factory, AsyncEngine)
        else engine_or_session_factory.kw["bind"]
    )
    workshops = synthetic_workshops(seed)
    async with engine.connect() as conn:
        async with conn.begin():
            brand_ids = await _ensure_brands(conn)
            workshop_ids, location_ids = await _ensure_workshops(conn, workshops)
            start = await _next_index(conn, seed)
        products_t: Table = Product.__table__  # type: ignore[assignment]
        variants_t: Table = ProductVariant.__table__  # type: ignore[assignment]
        stock_t: Table = StockLevel.__table__  # type: ignore[assignment]
        docs = iter_synthetic_products(count, seed, start=start, workshops=workshops)
        done = 0
        while done < count:
            size = min(batch, count - done)
            chunk = [next(docs) for _ in range(size)]
            now = dt.datetime.now(dt.UTC)
            async with conn.begin():
                product_ids = await _reserve_ids(conn, products_t, size)
                product_rows = []
                variant_rows = []
                variant_stock = []
                for product_id, d in zip(product_ids, chunk, strict=True):
                    product_rows.append(
                        {
                            "id": product_id,
                            "workshop_id": workshop_ids[d["workshop"]],
                            "brand_id": brand_ids[d["brand"]],
                            "title": d["title"],
                            "subtitle": d["subtitle"],
                            "description": d["description"],
                            "tags": d["tags"],
                            "status": "active",
                            "shelf_life_days": d["shelf_life_days"],
                            "is_experience": False,
                            "sales_count": d["sales_count"],
                            "min_price_fen": d["min_price_fen"],
                        }
                    )
                    location_id = location_ids[d["workshop"]]
                    for v in d["variants"]:
                        variant_rows.append(
                            {
                                "product_id": product_id,
                                "sku": v["sku"],
                                "name": v["name"],
                                "price_fen": v["price_fen"],
                                "weight_g": v["weight_g"],
                                "is_active": True,
                                "available_on": None,
                            }
                        )
                        variant_stock.append((location_id, v["on_hand"]))
                variant_ids = await _reserve_ids(conn, variants_t, len(variant_rows))
                for row, variant_id in zip(variant_rows, variant_ids, strict=True):
                    row["id"] = variant_id
                stock_rows = [
                    {"variant_id": vid, "location_id": loc, "on_hand": on_hand, "reserved": 0}
                    for vid, (loc, on_hand) in zip(variant_ids, variant_stock, strict=True)
                ]
                await _BulkInsert.run(conn, products_t, product_rows, created_at=now, updated_at=now)
                await _BulkInsert.run(conn, variants_t, variant_rows, created_at=now, updated_at=now)
                await _BulkInsert.run(conn, stock_t, stock_rows)
            done += size
            if progress is not None:
                progress(done, count)
        if conn.dialect.name == "postgresql":
            # Fresh statistics for the planner: until autovacuum gets round to it, a bulk-loaded table looks
            # empty and list pages sort and scan every product (measured: 100+ ms instead of < 1 ms per page).
            async with conn.begin():
                for table in (products_t, variants_t, stock_t):
                    await conn.exec_driver_sql(f"ANALYZE {table.name}")
    return done


class _BulkInsert:
    """A Core `insert(table)` compiled once and run as one DBAPI executemany per batch (COPY on asyncpg).

    `conn.execute(insert(t), rows)` rebuilds every row's parameters through the compiler (`construct_params`),
    which costs more than SQLite itself at 100,000 rows; here each row is a tuple in the compiled order, with
    values passed through the column types' bind processors only where a type has one (JSON, datetimes).
    The batch runs inside the caller's transaction either way.
    """

    _cache: dict[tuple[str, str, tuple[str, ...]], _BulkInsert] = {}

    def __init__(self, table: Table, dialect: Dialect, columns: list[str]) -> None:
        compiled = insert(table).compile(dialect=dialect, column_keys=columns)
        names = compiled.positiontup
        if names is None or sorted(names) != sorted(columns):  # every supported dialect binds positionally
            raise RuntimeError(f"unexpected bulk insert parameters for {table.name}: {names}")
        self.sql = str(compiled)
        self.table = table
        self.names = list(names)
        self.row = itemgetter(*self.names)
        self.processors = {
            name: processor
            for name in self.names
            if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }

    @classmethod
    async def run(cls, conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], **constants: Any) -> None:
        """Insert `rows` (dicts with the same keys); `constants` are the same for every row, so bound once."""
        if not rows:
            return
        columns = [*rows[0], *constants]
        key = (conn.dialect.name, table.name, tuple(columns))
        if key not in cls._cache:
            cls._cache[key] = cls(table, conn.dialect, columns)
        await cls._cache[key].execute(conn, rows, constants)

    async def execute(self, conn: AsyncConnection, rows: list[dict[str, Any]], constants: dict[str, Any]) -> None:
        fixed = {k: self.processors[k](v) if k in self.processors else v for k, v in constants.items()}
        per_row = [(k, p) for k, p in self.processors.items() if k not in fixed]
        for row in rows:
            row.update(fixed)
            for name, process in per_row:
                row[name] = process(row[name])
        records = [self.row(row) for row in rows]
        if conn.dialect.driver == "asyncpg":
            # Measured on PostgreSQL: executemany (or multi-row VALUES) costs ~50 µs of server CPU per row, COPY a
            # third of that. The records are already bound by the column types, so asyncpg's codecs accept them.
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.copy_records_to_table(self.table.name, records=records, columns=self.names)
        else:
            await conn.exec_driver_sql(self.sql, records)


async def _reserve_ids(conn: AsyncConnection, table: Table, n: int) -> list[int]:
    """Take `n` primary keys up front so children can reference parents without RETURNING each row.

    PostgreSQL hands them out from the table's sequence (safe beside concurrent writers); on SQLite the batch's
    transaction already holds the write lock (BEGIN IMMEDIATE), so max(id) cannot move under us.
    """
    if conn.dialect.name == "postgresql":
        sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
        result = await conn.execute(text(f"SELECT nextval({sequence}) FROM generate_series(1, :n)"), {"n": n})
        return sorted(result.scalars().all())
    last: int = (await conn.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar_one()
    return list(range(last + 1, last + 1 + n))


async def _next_index(conn: AsyncConnection, seed: int) -> int:
    """Continue after the highest synthetic index of this seed, so repeated runs append instead of colliding."""
    prefix = f"SYN{seed}-"
    last = await conn.scalar(select(func.max(ProductVariant.sku)).where(ProductVariant.sku.startswith(prefix)))
    return int(last.removeprefix(prefix).split("-")[0]) + 1 if last else 0


async def _ensure_brands(conn: AsyncConnection) -> dict[str, int]:
    ids: dict[str, int] = dict((await conn.execute(select(Brand.name, Brand.id))).tuples().all())
    brand_t: Table = Brand.__table__  # type: ignore[assignment]
    now = dt.datetime.now(dt.UTC)
    for position, family in enumerate(BRAND_FAMILIES):
        if family.name not in ids:
            values = {"name": family.name, "slug": family.slug, "description": family.description, "position": position}
            root_id: int = (
                await conn.execute(
                    insert(brand_t)
                    .values(**values, parent_id=None, created_at=now, updated_at=now)
                    .returning(brand_t.c.id)
                )
            ).scalar_one()
            await conn.execute(brand_t.update().where(brand_t.c.id == root_id).values(family_id=root_id))
            ids[family.name] = root_id
        for child_position, child in enumerate(family.children):
            if child.name not in ids:
                ids[child.name] = (
                    await conn.execute(
                        insert(brand_t)
                        .values(
                            name=child.name,
                            slug=child.slug,
                            description=child.description,
                            position=child_position,
                            parent_id=ids[family.name],
                            family_id=ids[family.name],
                            created_at=now,
                            updated_at=now,
                        )
                        .returning(brand_t.c.id)
                    )
                ).scalar_one()
    return ids


async def _insert_missing(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk-insert rows with pre-reserved ids (one round trip per table, not per row); returns their ids."""
    if not rows:
        return []
    ids = await _reserve_ids(conn, table, len(rows))
    await conn.execute(insert(table), [{**row, "id": row_id} for row, row_id in zip(rows, ids, strict=True)])
    return ids


async def _ensure_workshops(
    conn: AsyncConnection, workshops: list[SyntheticWorkshop]
) -> tuple[dict[str, int], dict[str, int]]:
    """Regions, workshops (with a steward and a rating) and a store for each; existing rows are reused by name."""
    region_t: Table = Region.__table__  # type: ignore[assignment]
    rows = (await conn.execute(select(Region.parent_id, Region.name, Region.id, Region.level))).all()
    regions: dict[tuple[int | None, str], int] = {(r.parent_id, r.name): r.id for r in rows}
    codes = {c.name: c.code for c in COUNTIES}

    async def ensure_level(keys: list[tuple[int | None, str]], extra: Callable[[Any, str], dict[str, Any]]) -> None:
        missing = list(dict.fromkeys(k for k in keys if k not in regions))
        ids = await _insert_missing(conn, region_t, [{"parent_id": p, "name": n, **extra(p, n)} for p, n in missing])
        regions.update(zip(missing, ids, strict=True))

    await ensure_level(
        [(None, ws.county) for ws in workshops], lambda _, name: {"level": "county", "code": codes[name]}
    )
    county = {ws.county: regions[(None, ws.county)] for ws in workshops}
    await ensure_level(
        [(county[ws.county], ws.township) for ws in workshops], lambda p, _: {"level": "township", "county_id": p}
    )
    parent_county = {regions[(county[ws.county], ws.township)]: county[ws.county] for ws in workshops}
    await ensure_level(
        [(regions[(county[ws.county], ws.township)], ws.village) for ws in workshops],
        lambda p, _: {"level": "village", "county_id": parent_county[p], "township_id": p},
    )

    workshop_t: Table = Workshop.__table__  # type: ignore[assignment]
    workshop_ids: dict[str, int] = dict((await conn.execute(select(Workshop.name, Workshop.id))).tuples().all())
    now = dt.datetime.now(dt.UTC)
    new = [ws for ws in workshops if ws.name not in workshop_ids]
    new_rows = []
    for ws in new:
        township_id = regions[(county[ws.county], ws.township)]
        new_rows.append(
            {
                "name": ws.name,
                "village_id": regions[(township_id, ws.village)],
                "county_id": county[ws.county],
                "workshop_type": ws.workshop_type.value,
                "operator_kind": "cooperative",
                "operator_name": f"{ws.village}股份经济合作社",
                "story": f"{ws.village}的村民在家门口加工{CATEGORIES[ws.category].theme}，工坊统一收购、包装和销售。",
                "address": f"{ws.county}{ws.township}{ws.village}",
                "benefit_models": ["labour", "equity_dividend"],
                "service_fee_bp": 500,
                "is_active": True,
                "latest_stars": ws.stars,
                "created_at": now,
                "updated_at": now,
            }
        )
    new_ids = await _insert_missing(conn, workshop_t, new_rows)
    workshop_ids.update((ws.name, wid) for ws, wid in zip(new, new_ids, strict=True))
    if new:
        await conn.execute(
            insert(RedSteward.__table__),  # type: ignore[arg-type]
            [
                {
                    "workshop_id": wid,
                    "name": f"{ws.village[:1]}书记",
                    "work_unit": f"{ws.township}{ws.village}",
                    "phone": f"0578-{7000000 + ws.index}",
                    "role": "红色管家",
                }
                for wid, ws in zip(new_ids, new, strict=True)
            ],
        )
        await conn.execute(
            insert(StarRating.__table__),  # type: ignore[arg-type]
            [_rating_row(wid, ws.stars) for wid, ws in zip(new_ids, new, strict=True)],
        )

    location_t: Table = StockLocation.__table__  # type: ignore[assignment]
    store_ids: dict[int | None, int] = dict(
        (await conn.execute(select(StockLocation.workshop_id, StockLocation.id))).tuples().all()
    )
    missing_stores = [ws for ws in workshops if workshop_ids[ws.name] not in store_ids]
    store_rows = [
        {"name": f"{ws.name}·工坊仓", "kind": LocationKind.WORKSHOP_STORE.value, "workshop_id": workshop_ids[ws.name]}
        for ws in missing_stores
    ]
    for ws, location_id in zip(missing_stores, await _insert_missing(conn, location_t, store_rows), strict=True):
        store_ids[workshop_ids[ws.name]] = location_id
    return workshop_ids, {ws.name: store_ids[workshop_ids[ws.name]] for ws in workshops}


def _rating_row(workshop_id: int, stars: int) -> dict[str, Any]:
    """A 2026 H1 assessment whose four dimensions average to `stars`."""
    scores = (stars, stars, stars, stars)
    assert stars_for(scores) == stars
    return {
        "workshop_id": workshop_id,
        "year": 2026,
        "half": RatingHalf.H1.value,
        "party_leadership": stars,
        "organisation": stars,
        "service_support": stars,
        "prosperity_impact": stars,
        "stars": stars,
        "assessed_on": dt.date(2026, 7, 15),
    }
