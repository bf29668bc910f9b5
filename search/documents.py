"""Search documents: what the index holds for a product or a workshop, and how they are loaded from the catalogue.

Loading is set-based: a fixed number of queries whatever the number of products (no N+1), chunked ``IN`` lists
for incremental updates. A document carries a content ``version`` so ``hub search check`` can find stale entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import (
    WORKSHOP_TYPE_LABELS,
    Brand,
    Product,
    ProductStatus,
    ProductVariant,
    Region,
    StockLevel,
    Workshop,
    WorkshopType,
)
from search.text import BRAND_ALIASES

# Price bands in fen, lower bound inclusive: the facet a buyer sees as "<20元, 20–50元 …".
PRICE_BANDS: tuple[tuple[str, int, int | None, str], ...] = (
    ("lt20", 0, 2_000, "20元以下"),
    ("20_50", 2_000, 5_000, "20–50元"),
    ("50_100", 5_000, 10_000, "50–100元"),
    ("100_200", 10_000, 20_000, "100–200元"),
    ("gte200", 20_000, None, "200元以上"),
)
PRICE_BAND_KEYS = tuple(b[0] for b in PRICE_BANDS)
PRICE_BAND_LABELS = {b[0]: b[3] for b in PRICE_BANDS}

_CHUNK = 500


def brand_aliases(path: Iterable[str]) -> list[str]:
    """The public names a buyer also types for the brands on a path: 山耕 is sold as 丽水山耕."""
    return [alias for name in path for alias in BRAND_ALIASES.get(name, ())]


def price_band(price_fen: int) -> str:
    for key, low, high, _label in PRICE_BANDS:
        if price_fen >= low and (high is None or price_fen < high):
            return key
    return PRICE_BANDS[0][0]


class ProductDocument(msgspec.Struct, kw_only=True):
    """One product as the search index sees it. Ids are ints; names are denormalised for display and matching."""

    id: int
    title: str
    subtitle: str = ""
    description: str = ""
    brand_id: int
    brand_name: str
    family_id: int
    family_name: str
    brand_path: list[str] = msgspec.field(default_factory=list)  # family → … → brand
    brand_aliases: list[str] = msgspec.field(default_factory=list)  # other names of the brands on the path
    workshop_id: int
    workshop_name: str
    workshop_type: str  # WorkshopType value
    workshop_type_label: str = ""
    county_id: int
    county_name: str = ""
    township_name: str = ""
    village_name: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    price_fen: int = 0
    price_band: str = "lt20"
    in_stock: bool = False
    stars: int = 0  # latest star rating of the workshop, 0 = not rated
    sales_count: int = 0
    live_now: bool = False
    created_at: int = 0  # unix seconds
    version: str = ""


class WorkshopDocument(msgspec.Struct, kw_only=True):
    id: int
    name: str
    story: str = ""
    operator_name: str = ""
    workshop_type: str
    workshop_type_label: str = ""
    county_id: int
    county_name: str = ""
    township_name: str = ""
    village_name: str = ""
    brand_names: list[str] = msgspec.field(default_factory=list)
    stars: int = 0
    product_count: int = 0
    created_at: int = 0
    version: str = ""


_encoder = msgspec.json.Encoder(order="deterministic")
D = TypeVar("D", ProductDocument, WorkshopDocument)


def with_version(doc: D) -> D:
    """Stamp the content hash (every field but ``version``): equal content, equal version, on any process."""
    payload = _encoder.encode(msgspec.structs.replace(doc, version=""))
    return msgspec.structs.replace(doc, version=hashlib.blake2b(payload, digest_size=8).hexdigest())


def to_dict(doc: ProductDocument | WorkshopDocument) -> dict[str, Any]:
    return msgspec.to_builtins(doc)  # type: ignore[no-any-return]


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


async def _rows(session: AsyncSession, stmt: Select[Any], column: Any, ids: Sequence[int] | None) -> list[Any]:
    if ids is None:
        return list((await session.execute(stmt)).all())
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows.extend((await session.execute(stmt.where(column.in_(chunk)))).all())
    return rows


class _BrandTree:
    def __init__(self, rows: Iterable[Any]) -> None:
        self.by_id = {r.id: r for r in rows}

    def path(self, brand_id: int) -> list[str]:
        names: list[str] = []
        seen: set[int] = set()
        current = self.by_id.get(brand_id)
        while current is not None and current.id not in seen:
            seen.add(current.id)
            names.append(current.name)
            current = self.by_id.get(current.parent_id) if current.parent_id is not None else None
        return names[::-1]

    def family(self, brand_id: int) -> tuple[int, str]:
        brand = self.by_id[brand_id]
        family_id = brand.family_id or brand_id
        family = self.by_id.get(family_id, brand)
        return family.id, family.name


async def _regions(session: AsyncSession, village_ids: Collection[int]) -> dict[int, tuple[str, str, str]]:
    """village id → (county name, township name, village name), in two queries."""
    villages = await _rows(
        session,
        select(Region.id, Region.name, Region.county_id, Region.township_id, Region.parent_id),
        Region.id,
        sorted(village_ids),
    )
    ancestor_ids = sorted({i for v in villages for i in (v.county_id, v.township_id, v.parent_id) if i is not None})
    names = {r.id: r.name for r in await _rows(session, select(Region.id, Region.name), Region.id, ancestor_ids)}
    out: dict[int, tuple[str, str, str]] = {}
    for v in villages:
        township_id = v.township_id or v.parent_id
        out[v.id] = (names.get(v.county_id, ""), names.get(township_id, "") if township_id else "", v.name)
    return out


async def build_product_documents(
    session: AsyncSession, product_ids: Collection[int] | None = None, *, live_product_ids: Collection[int] = ()
) -> list[ProductDocument]:
    """Documents of the searchable products (active, of an active workshop), optionally only ``product_ids``.

    A requested id that comes back without a document is not searchable and must be deleted from the index.
    ``live_product_ids`` are the products on the line-up of a session that is live now (livestream context).
    """
    ids = sorted(set(product_ids)) if product_ids is not None else None
    if ids is not None and not ids:
        return []
    live = set(live_product_ids)
    product_stmt = (
        select(
            Product.id,
            Product.title,
            Product.subtitle,
            Product.description,
            Product.tags,
            Product.brand_id,
            Product.workshop_id,
            Product.sales_count,
            Product.min_price_fen,
            Product.created_at,
            Workshop.name.label("workshop_name"),
            Workshop.workshop_type,
            Workshop.county_id,
            Workshop.village_id,
            Workshop.latest_stars,
        )
        .join(Workshop, Workshop.id == Product.workshop_id)
        .where(Product.status == ProductStatus.ACTIVE, Workshop.is_active.is_(True))
        .order_by(Product.id)
    )
    products = await _rows(session, product_stmt, Product.id, ids)
    if not products:
        return []
    found = [p.id for p in products]
    # The cheapest active variant is the price a buyer sees; stock counts only active variants.
    price_stmt = (
        select(ProductVariant.product_id, func.min(ProductVariant.price_fen))
        .where(ProductVariant.is_active.is_(True))
        .group_by(ProductVariant.product_id)
    )
    prices = dict(await _rows(session, price_stmt, ProductVariant.product_id, found))
    stock_stmt = (
        select(ProductVariant.product_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .join(StockLevel, StockLevel.variant_id == ProductVariant.id)
        .where(ProductVariant.is_active.is_(True))
        .group_by(ProductVariant.product_id)
    )
    stock = dict(await _rows(session, stock_stmt, ProductVariant.product_id, found))
    brands = _BrandTree((await session.execute(select(Brand.id, Brand.name, Brand.parent_id, Brand.family_id))).all())
    regions = await _regions(session, {p.village_id for p in products})
    county_ids = sorted({p.county_id for p in products})
    county_names = {r.id: r.name for r in await _rows(session, select(Region.id, Region.name), Region.id, county_ids)}

    docs: list[ProductDocument] = []
    for p in products:
        family_id, family_name = brands.family(p.brand_id)
        price = prices.get(p.id, p.min_price_fen) or 0
        county_name, township_name, village_name = regions.get(p.village_id, ("", "", ""))
        wtype = WorkshopType(p.workshop_type)
        docs.append(
            with_version(
                ProductDocument(
                    id=p.id,
                    title=p.title,
                    subtitle=p.subtitle or "",
                    description=p.description or "",
                    brand_id=p.brand_id,
                    brand_name=brands.by_id[p.brand_id].name,
                    family_id=family_id,
                    family_name=family_name,
                    brand_path=brands.path(p.brand_id),
                    brand_aliases=brand_aliases(brands.path(p.brand_id)),
                    workshop_id=p.workshop_id,
                    workshop_name=p.workshop_name,
                    workshop_type=wtype.value,
                    workshop_type_label=WORKSHOP_TYPE_LABELS[wtype],
                    county_id=p.county_id,
                    county_name=county_names.get(p.county_id, county_name),
                    township_name=township_name,
                    village_name=village_name,
                    tags=[str(t) for t in (p.tags or [])],
                    price_fen=int(price),
                    price_band=price_band(int(price)),
                    in_stock=bool((stock.get(p.id) or 0) > 0),
                    stars=int(p.latest_stars or 0),
                    sales_count=int(p.sales_count or 0),
                    live_now=p.id in live,
                    created_at=int(p.created_at.timestamp()) if p.created_at else 0,
                )
            )
        )
    return docs


async def build_workshop_documents(
    session: AsyncSession, workshop_ids: Collection[int] | None = None
) -> list[WorkshopDocument]:
    """Documents of active workshops, optionally only ``workshop_ids``, with their brands and product counts."""
    ids = sorted(set(workshop_ids)) if workshop_ids is not None else None
    if ids is not None and not ids:
        return []
    stmt = (
        select(
            Workshop.id,
            Workshop.name,
            Workshop.story,
            Workshop.operator_name,
            Workshop.workshop_type,
            Workshop.county_id,
            Workshop.village_id,
            Workshop.latest_stars,
            Workshop.created_at,
        )
        .where(Workshop.is_active.is_(True))
        .order_by(Workshop.id)
    )
    workshops = await _rows(session, stmt, Workshop.id, ids)
    if not workshops:
        return []
    found = [w.id for w in workshops]
    active = Product.status == ProductStatus.ACTIVE
    counts = dict(
        await _rows(
            session,
            select(Product.workshop_id, func.count(Product.id)).where(active).group_by(Product.workshop_id),
            Product.workshop_id,
            found,
        )
    )
    brand_rows = await _rows(
        session,
        select(Product.workshop_id, Brand.name).join(Brand, Brand.id == Product.brand_id).where(active).distinct(),
        Product.workshop_id,
        found,
    )
    brand_names: dict[int, set[str]] = {}
    for row in brand_rows:
        brand_names.setdefault(row.workshop_id, set()).add(row.name)
    regions = await _regions(session, {w.village_id for w in workshops})
    docs: list[WorkshopDocument] = []
    for w in workshops:
        county_name, township_name, village_name = regions.get(w.village_id, ("", "", ""))
        wtype = WorkshopType(w.workshop_type)
        docs.append(
            with_version(
                WorkshopDocument(
                    id=w.id,
                    name=w.name,
                    story=w.story or "",
                    operator_name=w.operator_name,
                    workshop_type=wtype.value,
                    workshop_type_label=WORKSHOP_TYPE_LABELS[wtype],
                    county_id=w.county_id,
                    county_name=county_name,
                    township_name=township_name,
                    village_name=village_name,
                    brand_names=sorted(brand_names.get(w.id, ())),
                    stars=int(w.latest_stars or 0),
                    product_count=int(counts.get(w.id, 0)),
                    created_at=int(w.created_at.timestamp()) if w.created_at else 0,
                )
            )
        )
    return docs
