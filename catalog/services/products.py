"""Products, variants (SKU) and stock per location."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload, selectinload

from catalog.models import (
    WORKSHOP_TYPE_LABELS,
    Brand,
    LocationKind,
    Product,
    ProductStatus,
    ProductVariant,
    StockLevel,
    StockLocation,
    Workshop,
    WorkshopType,
)
from catalog.schemas import (
    BrandRef,
    ImageOut,
    LocationCreate,
    LocationOut,
    ProductCreate,
    ProductDetail,
    ProductSummary,
    ProductUpdate,
    StockOut,
    StockSet,
    VariantIn,
    VariantOut,
    VariantUpdate,
    WorkshopRef,
)
from catalog.services.brands import BrandService
from catalog.services.regions import RegionService
from shop import audit
from shop.auth import Caller, ensure_workshop_scope
from shop.errors import Conflict, InvalidInput, NotFound
from shop.outbox import emit_search

ProductSort = Literal["newest", "price_asc", "price_desc", "sales", "rating", "title"]


def image_url(filename: str) -> str:
    return f"/media/products/{filename}"


def _available_subquery() -> ColumnElement[int]:
    return (
        select(func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
        .join(ProductVariant, ProductVariant.id == StockLevel.variant_id)
        .where(ProductVariant.product_id == Product.id, ProductVariant.is_active.is_(True))
        .correlate(Product)
        .scalar_subquery()
    )


def _in_stock_clause() -> ColumnElement[bool]:
    return exists(
        select(StockLevel.id)
        .join(ProductVariant, ProductVariant.id == StockLevel.variant_id)
        .where(
            ProductVariant.product_id == Product.id,
            ProductVariant.is_active.is_(True),
            StockLevel.on_hand > StockLevel.reserved,
        )
    )


class ProductService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.brands = BrandService(session)
        self.regions = RegionService(session)

    # ---- reads ---------------------------------------------------------------------------------------------
    async def list_products(
        self,
        *,
        family: str | None = None,
        brand: str | None = None,
        workshop_id: int | None = None,
        county: str | None = None,
        workshop_type: WorkshopType | None = None,
        in_stock: bool | None = None,
        status: ProductStatus | None = ProductStatus.ACTIVE,
        sort: ProductSort = "newest",
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[ProductSummary], int]:
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(Product.status == status)
        if family is not None:
            conditions.append(Product.brand_id.in_(await self.brands.resolve_family(family)))
        if brand is not None:
            conditions.append(Product.brand_id == await self.brands.resolve_brand(brand))
        if workshop_id is not None:
            conditions.append(Product.workshop_id == workshop_id)
        if county is not None or workshop_type is not None:
            ws = select(Workshop.id)
            if county is not None:
                ws = ws.where(Workshop.county_id == await self.regions.resolve_county(county))
            if workshop_type is not None:
                ws = ws.where(Workshop.workshop_type == workshop_type)
            conditions.append(Product.workshop_id.in_(ws))
        if in_stock is True:
            conditions.append(_in_stock_clause())
        elif in_stock is False:
            conditions.append(~_in_stock_clause())
        total = int(await self.session.scalar(select(func.count()).select_from(Product).where(*conditions)) or 0)
        orders: dict[str, list[Any]] = {
            "newest": [Product.created_at.desc(), Product.id.desc()],
            "price_asc": [Product.min_price_fen.asc(), Product.id.asc()],
            "price_desc": [Product.min_price_fen.desc(), Product.id.asc()],
            "sales": [Product.sales_count.desc(), Product.id.asc()],
            "title": [Product.title.asc(), Product.id.asc()],
            "rating": [Workshop.latest_stars.desc().nulls_last(), Product.sales_count.desc(), Product.id.asc()],
        }
        order = orders[sort]
        query = select(Product.id).where(*conditions)
        if sort == "rating":
            query = query.join(Workshop, Workshop.id == Product.workshop_id)
        ids = list(await self.session.scalars(query.order_by(*order).limit(limit).offset(offset)))
        return await self.summaries(ids), total

    async def summaries(self, ids: list[int]) -> list[ProductSummary]:
        if not ids:
            return []
        rows = (
            await self.session.execute(
                select(Product, _available_subquery().label("available"))
                .where(Product.id.in_(ids))
                # A summary shows the first image, not the variants (and their stock rows) a product loads by default.
                .options(raiseload(Product.variants))
            )
        ).all()
        by_id = {p.id: (p, int(avail or 0)) for p, avail in rows}
        brand_refs = await self._brand_refs({p.brand_id for p, _ in by_id.values()})
        workshop_refs = await self._workshop_refs({p.workshop_id for p, _ in by_id.values()})
        out = []
        for pid in ids:
            if pid not in by_id:
                continue
            p, available = by_id[pid]
            out.append(
                ProductSummary(
                    p.id,
                    p.title,
                    p.subtitle,
                    p.min_price_fen,
                    brand_refs[p.brand_id],
                    workshop_refs[p.workshop_id],
                    available > 0,
                    available,
                    p.status,
                    p.sales_count,
                    p.is_experience,
                    p.shelf_life_days,
                    image_url(p.images[0].filename) if p.images else None,
                    list(p.tags),
                    p.created_at,
                )
            )
        return out

    async def _brand_refs(self, ids: set[int]) -> dict[int, BrandRef]:
        brands = {b.id: b for b in await self.brands.all()}
        refs = {}
        for bid in ids:
            b = brands[bid]
            fam = brands.get(b.family_id or b.id)
            refs[bid] = BrandRef(b.id, b.name, b.family_id, fam.name if fam else None)
        return refs

    async def _workshop_refs(self, ids: set[int]) -> dict[int, WorkshopRef]:
        workshops = list(
            await self.session.scalars(
                select(Workshop)
                .where(Workshop.id.in_(ids))
                .options(raiseload(Workshop.stewards), raiseload(Workshop.ratings))
            )
        )
        paths = await self.regions.paths([w.village_id for w in workshops])
        return {
            w.id: WorkshopRef(
                w.id,
                w.name,
                w.workshop_type,
                WORKSHOP_TYPE_LABELS[w.workshop_type],
                w.latest_stars,
                list(w.benefit_models),
                paths[w.village_id],
            )
            for w in workshops
        }

    async def get(self, product_id: int) -> Product:
        product = await self.session.get(Product, product_id)
        if product is None:
            raise NotFound(f"Product {product_id} not found.")
        return product

    async def detail(self, product_id: int, *, include_hidden: bool = False) -> ProductDetail:
        # A fresh load: after a write in this session, relationships of new rows are not loaded yet.
        p = await self.session.scalar(
            select(Product)
            .where(Product.id == product_id)
            .options(selectinload(Product.variants).selectinload(ProductVariant.stock), selectinload(Product.images))
            .execution_options(populate_existing=True)
        )
        if p is None:
            raise NotFound(f"Product {product_id} not found.")
        if p.status is not ProductStatus.ACTIVE and not include_hidden:
            raise NotFound(f"Product {product_id} not found.")
        locations = {loc.id: loc for loc in await self.session.scalars(select(StockLocation))}
        variants = []
        for v in p.variants:
            stock = [
                StockOut(
                    s.location_id,
                    locations[s.location_id].name,
                    locations[s.location_id].kind,
                    s.on_hand,
                    s.reserved,
                    s.available,
                )
                for s in v.stock
            ]
            available = sum(s.available for s in stock) if v.is_active else 0
            variants.append(
                VariantOut(v.id, v.sku, v.name, v.price_fen, v.weight_g, v.is_active, v.available_on, available, stock)
            )
        total_available = sum(v.available for v in variants)
        brand_ref = (await self._brand_refs({p.brand_id}))[p.brand_id]
        workshop_ref = (await self._workshop_refs({p.workshop_id}))[p.workshop_id]
        images = [
            ImageOut(i.id, image_url(i.filename), i.content_type, i.size_bytes, i.width, i.height, i.alt)
            for i in p.images
        ]
        return ProductDetail(
            p.id,
            p.title,
            p.subtitle,
            p.description,
            p.min_price_fen,
            brand_ref,
            workshop_ref,
            total_available > 0,
            total_available,
            p.status,
            p.sales_count,
            p.is_experience,
            p.shelf_life_days,
            list(p.tags),
            variants,
            images,
            p.created_at,
            p.updated_at,
        )

    # ---- writes --------------------------------------------------------------------------------------------
    async def _check_brand(self, brand_id: int) -> None:
        if await self.session.get(Brand, brand_id) is None:
            raise InvalidInput(f"Brand {brand_id} does not exist.", field="brand_id")

    async def _check_skus_free(self, skus: list[str]) -> None:
        if len(set(skus)) != len(skus):
            raise InvalidInput("Each variant needs its own SKU.", field="variants")
        taken = list(await self.session.scalars(select(ProductVariant.sku).where(ProductVariant.sku.in_(skus))))
        if taken:
            raise Conflict(f"SKU already in use: {', '.join(sorted(taken))}", field="sku")

    @staticmethod
    def _refresh_min_price(product: Product) -> None:
        prices = [v.price_fen for v in product.variants if v.is_active]
        product.min_price_fen = min(prices) if prices else 0

    async def create(self, actor: Caller, data: ProductCreate) -> ProductDetail:
        ensure_workshop_scope(actor, data.workshop_id)
        if await self.session.get(Workshop, data.workshop_id) is None:
            raise InvalidInput(f"Workshop {data.workshop_id} does not exist.", field="workshop_id")
        await self._check_brand(data.brand_id)
        await self._check_skus_free([v.sku for v in data.variants])
        product = Product(
            workshop_id=data.workshop_id,
            brand_id=data.brand_id,
            title=data.title,
            subtitle=data.subtitle,
            description=data.description,
            tags=list(data.tags),
            status=data.status,
            shelf_life_days=data.shelf_life_days,
            is_experience=data.is_experience,
            variants=[self._variant(v) for v in data.variants],
        )
        self._refresh_min_price(product)
        self.session.add(product)
        await self.session.flush()
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="product",
            entity_id=product.id,
            changes={"title": data.title, "workshop_id": data.workshop_id, "variants": [v.sku for v in data.variants]},
        )
        emit_search(self.session, "product", product.id, "created")
        await self.session.commit()
        return await self.detail(product.id, include_hidden=True)

    @staticmethod
    def _variant(v: VariantIn) -> ProductVariant:
        return ProductVariant(
            sku=v.sku,
            name=v.name,
            price_fen=v.price_fen,
            weight_g=v.weight_g,
            is_active=v.is_active,
            available_on=v.available_on,
        )

    async def _owned(self, actor: Caller, product_id: int) -> Product:
        product = await self.get(product_id)
        ensure_workshop_scope(actor, product.workshop_id)
        return product

    async def update(self, actor: Caller, product_id: int, data: ProductUpdate) -> ProductDetail:
        product = await self._owned(actor, product_id)
        if data.brand_id is not None:
            await self._check_brand(data.brand_id)
        fields = {
            "brand_id": data.brand_id,
            "title": data.title,
            "subtitle": data.subtitle,
            "description": data.description,
            "tags": list(data.tags) if data.tags is not None else None,
            "status": data.status,
            "shelf_life_days": data.shelf_life_days,
            "is_experience": data.is_experience,
        }
        after = {k: v for k, v in fields.items() if v is not None}
        before = {k: getattr(product, k) for k in after}
        for key, value in after.items():
            setattr(product, key, value)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="update",
            entity="product",
            entity_id=product.id,
            changes=audit.diff({k: str(v) for k, v in before.items()}, {k: str(v) for k, v in after.items()}),
        )
        reason = "archived" if data.status is ProductStatus.ARCHIVED else "updated"
        emit_search(self.session, "product", product.id, reason)
        await self.session.commit()
        return await self.detail(product.id, include_hidden=True)

    async def archive(self, actor: Caller, product_id: int) -> ProductDetail:
        return await self.update(actor, product_id, ProductUpdate(status=ProductStatus.ARCHIVED))

    async def add_variant(self, actor: Caller, product_id: int, data: VariantIn) -> ProductDetail:
        product = await self._owned(actor, product_id)
        await self._check_skus_free([data.sku])
        product.variants.append(self._variant(data))
        self._refresh_min_price(product)
        await self.session.flush()
        audit.record(
            self.session,
            actor_id=actor.id,
            action="add_variant",
            entity="product",
            entity_id=product.id,
            changes={"sku": data.sku, "price_fen": data.price_fen},
        )
        emit_search(self.session, "product", product.id, "price")
        await self.session.commit()
        return await self.detail(product.id, include_hidden=True)

    async def update_variant(self, actor: Caller, variant_id: int, data: VariantUpdate) -> ProductDetail:
        variant = await self.session.get(ProductVariant, variant_id)
        if variant is None:
            raise NotFound(f"Variant {variant_id} not found.")
        product = await self._owned(actor, variant.product_id)
        fields = {
            "name": data.name,
            "price_fen": data.price_fen,
            "weight_g": data.weight_g,
            "is_active": data.is_active,
            "available_on": data.available_on,
        }
        after = {k: v for k, v in fields.items() if v is not None}
        before = {k: getattr(variant, k) for k in after}
        for key, value in after.items():
            setattr(variant, key, value)
        self._refresh_min_price(product)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="update_variant",
            entity="product_variant",
            entity_id=variant.id,
            changes=audit.diff({k: str(v) for k, v in before.items()}, {k: str(v) for k, v in after.items()}),
        )
        emit_search(self.session, "product", product.id, "price" if "price_fen" in after else "updated")
        await self.session.commit()
        return await self.detail(product.id, include_hidden=True)

    async def set_stock(self, actor: Caller, variant_id: int, data: StockSet) -> ProductDetail:
        """A stocktake (`on_hand`) or an adjustment (`delta`); never below what is reserved for checkouts."""
        if (data.on_hand is None) == (data.delta is None):
            raise InvalidInput("Give exactly one of on_hand or delta.", field="on_hand")
        variant = await self.session.get(ProductVariant, variant_id)
        if variant is None:
            raise NotFound(f"Variant {variant_id} not found.")
        product = await self._owned(actor, variant.product_id)
        location = await self.session.get(StockLocation, data.location_id)
        if location is None:
            raise InvalidInput(f"Stock location {data.location_id} does not exist.", field="location_id")
        if location.workshop_id is not None and location.workshop_id != product.workshop_id:
            raise InvalidInput("That location belongs to another workshop.", field="location_id")
        was_in_stock = any(s.available > 0 for v in product.variants for s in v.stock if v.is_active)
        level = await self.session.scalar(
            select(StockLevel)
            .where(StockLevel.variant_id == variant.id, StockLevel.location_id == location.id)
            .with_for_update()
        )
        if level is None:
            level = StockLevel(variant_id=variant.id, location_id=location.id, on_hand=0, reserved=0)
            self.session.add(level)
        before = level.on_hand
        new = data.on_hand if data.on_hand is not None else before + (data.delta or 0)
        if new < level.reserved:
            raise Conflict(
                f"On hand cannot go below the {level.reserved} units reserved by open checkouts.",
                field="on_hand" if data.on_hand is not None else "delta",
            )
        level.on_hand = new
        await self.session.flush()
        await self.session.refresh(variant, ["stock"])
        is_in_stock = any(s.available > 0 for v in product.variants for s in v.stock if v.is_active)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="stock",
            entity="product_variant",
            entity_id=variant.id,
            changes={"location_id": location.id, "on_hand": [before, new], "reason": data.reason},
        )
        if was_in_stock != is_in_stock:
            emit_search(self.session, "product", product.id, "stock_zero" if not is_in_stock else "restocked")
        await self.session.commit()
        return await self.detail(product.id, include_hidden=True)

    async def locations(self) -> list[LocationOut]:
        rows = await self.session.scalars(select(StockLocation).order_by(StockLocation.id))
        return [LocationOut(r.id, r.name, r.kind, r.workshop_id) for r in rows]

    async def create_location(self, actor: Caller, data: LocationCreate) -> LocationOut:
        if data.kind is LocationKind.WORKSHOP_STORE and data.workshop_id is None:
            raise InvalidInput("A workshop store needs its workshop.", field="workshop_id")
        if data.workshop_id is not None and await self.session.get(Workshop, data.workshop_id) is None:
            raise InvalidInput(f"Workshop {data.workshop_id} does not exist.", field="workshop_id")
        if await self.session.scalar(select(func.count()).where(StockLocation.name == data.name)):
            raise Conflict(f"A location named {data.name!r} exists.", field="name")
        loc = StockLocation(name=data.name, kind=data.kind, workshop_id=data.workshop_id)
        self.session.add(loc)
        await self.session.flush()
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="stock_location",
            entity_id=loc.id,
            changes={"name": data.name},
        )
        await self.session.commit()
        return LocationOut(loc.id, loc.name, loc.kind, loc.workshop_id)


__all__ = ["ProductService", "ProductSort", "and_"]
