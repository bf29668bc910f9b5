"""Catalogue API: public reads for the storefront, kiosk and partners; staff writes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import File
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import ProductStatus, RegionLevel, WorkshopType
from catalog.schemas import (
    BrandCreate,
    BrandNode,
    BrandUpdate,
    ImageOut,
    LocationCreate,
    LocationOut,
    ProductCreate,
    ProductDetail,
    ProductPage,
    ProductUpdate,
    RatingIn,
    RegionCreate,
    RegionOut,
    StockSet,
    VariantIn,
    VariantUpdate,
    WorkshopCreate,
    WorkshopDetail,
    WorkshopPage,
    WorkshopUpdate,
)
from catalog.services import BrandService, ImageService, ProductService, RegionService, WorkshopService
from catalog.services.products import ProductSort
from shop.audit import AuditEntry
from shop.auth import PUBLIC, Caller, requires_admin, requires_staff
from shop.deps import Page
from shop.settings import Settings


class CatalogController(Controller):
    """Public catalogue reads (no login): the kiosk and partners depend on these paths."""

    tags = ["catalogue"]

    @get("/api/brands", opt=PUBLIC, summary="Brand families as a tree (1+N: parent brand and sub-brands)")
    async def brands(self, db_session: AsyncSession) -> list[BrandNode]:
        return await BrandService(db_session).tree()

    @get("/api/regions", opt=PUBLIC, summary="Regions: counties, townships, villages")
    async def regions(
        self,
        db_session: AsyncSession,
        level: RegionLevel | None = Parameter(query="level", default=None),
        parent_id: int | None = Parameter(query="parent_id", default=None, ge=1),
    ) -> list[RegionOut]:
        return await RegionService(db_session).list_regions(level, parent_id)

    @get("/api/workshops", opt=PUBLIC, summary="Workshops (共富工坊), filterable by county, type and stars")
    async def workshops(
        self,
        db_session: AsyncSession,
        paging: Page,
        county: str | None = Parameter(query="county", default=None, max_length=64, description="County id or name"),
        workshop_type: WorkshopType | None = Parameter(query="workshop_type", default=None),
        stars_min: int | None = Parameter(query="stars_min", default=None, ge=1, le=5),
    ) -> WorkshopPage:
        """404 when `county` names no county."""
        county_id = await RegionService(db_session).resolve_county(county) if county else None
        items, total = await WorkshopService(db_session).list_workshops(
            county_id=county_id,
            workshop_type=workshop_type,
            stars_min=stars_min,
            limit=paging.per_page,
            offset=paging.offset,
        )
        return WorkshopPage(items, total, paging.page, paging.per_page)

    @get("/api/workshops/{workshop_id:int}", opt=PUBLIC, summary="A workshop with red stewards and star ratings")
    async def workshop(self, db_session: AsyncSession, workshop_id: int) -> WorkshopDetail:
        """404 for an unknown id."""
        return await WorkshopService(db_session).detail(workshop_id)

    @get(
        "/api/products",
        opt=PUBLIC,
        summary="Products, filterable by family (incl. sub-brands), brand, workshop, county, workshop type and stock",
    )
    async def products(
        self,
        db_session: AsyncSession,
        paging: Page,
        family: str | None = Parameter(
            query="family", default=None, max_length=64, description="Brand id or name; includes all its sub-brands"
        ),
        brand: str | None = Parameter(query="brand", default=None, max_length=64, description="Brand id or name"),
        workshop: int | None = Parameter(query="workshop", default=None, ge=1, description="Workshop id"),
        county: str | None = Parameter(query="county", default=None, max_length=64, description="County id or name"),
        workshop_type: WorkshopType | None = Parameter(query="workshop_type", default=None),
        in_stock: bool | None = Parameter(query="in_stock", default=None),
        sort: ProductSort = Parameter(query="sort", default="newest"),
    ) -> ProductPage:
        """404 when `family`, `brand` or `county` names nothing; 400 for a bad value."""
        items, total = await ProductService(db_session).list_products(
            family=family,
            brand=brand,
            workshop_id=workshop,
            county=county,
            workshop_type=workshop_type,
            in_stock=in_stock,
            sort=sort,
            limit=paging.per_page,
            offset=paging.offset,
        )
        return ProductPage(items, total, paging.page, paging.per_page)

    @get("/api/products/{product_id:int}", opt=PUBLIC, summary="A product with variants, stock and images")
    async def product(self, db_session: AsyncSession, product_id: int) -> ProductDetail:
        """404 for an unknown, draft or archived product."""
        return await ProductService(db_session).detail(product_id)

    @get("/media/products/{filename:str}", opt=PUBLIC, summary="A product image", include_in_schema=True)
    async def image(self, db_session: AsyncSession, settings: Settings, filename: str) -> File:
        path, content_type = await ImageService(db_session, settings.app.upload_dir, 0).path_for(filename)
        return File(
            path=path,
            media_type=content_type,
            content_disposition_type="inline",
            headers={"Cache-Control": "public, max-age=86400, immutable"},
        )


class AuditPage(msgspec.Struct):
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


class CatalogAdminController(Controller):
    """Centre-admin writes: regions, brands, workshops, ratings, stock locations, and the audit trail."""

    path = "/api/admin"
    tags = ["catalogue admin"]
    guards = [requires_admin]

    @post("/regions", summary="Add a county, township or village", status_code=201)
    async def create_region(self, db_session: AsyncSession, caller: Caller, data: RegionCreate) -> RegionOut:
        return await RegionService(db_session).create(caller, data)

    @post("/brands", summary="Add a brand (a family when it has no parent)", status_code=201)
    async def create_brand(self, db_session: AsyncSession, caller: Caller, data: BrandCreate) -> BrandNode:
        return await BrandService(db_session).create(caller, data)

    @patch("/brands/{brand_id:int}", summary="Change a brand")
    async def update_brand(
        self, db_session: AsyncSession, caller: Caller, brand_id: int, data: BrandUpdate
    ) -> BrandNode:
        return await BrandService(db_session).update(caller, brand_id, data)

    @post("/workshops", summary="Register a workshop", status_code=201)
    async def create_workshop(self, db_session: AsyncSession, caller: Caller, data: WorkshopCreate) -> WorkshopDetail:
        return await WorkshopService(db_session).create(caller, data)

    @post("/workshops/{workshop_id:int}/ratings", summary="Record a half-yearly star rating", status_code=201)
    async def rate_workshop(
        self, db_session: AsyncSession, caller: Caller, workshop_id: int, data: RatingIn
    ) -> WorkshopDetail:
        return await WorkshopService(db_session).rate(caller, workshop_id, data)

    @get("/locations", summary="Stock locations")
    async def locations(self, db_session: AsyncSession) -> list[LocationOut]:
        return await ProductService(db_session).locations()

    @post("/locations", summary="Add a stock location", status_code=201)
    async def create_location(self, db_session: AsyncSession, caller: Caller, data: LocationCreate) -> LocationOut:
        return await ProductService(db_session).create_location(caller, data)

    @get("/audit", summary="The audit trail of writes (who, when, what)")
    async def audit_trail(
        self,
        db_session: AsyncSession,
        paging: Page,
        entity: str | None = Parameter(query="entity", default=None, max_length=64),
        entity_id: int | None = Parameter(query="entity_id", default=None, ge=1),
    ) -> AuditPage:
        conditions = []
        if entity:
            conditions.append(AuditEntry.entity == entity)
        if entity_id:
            conditions.append(AuditEntry.entity_id == entity_id)
        total = int(await db_session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0)
        rows = await db_session.scalars(
            select(AuditEntry)
            .where(*conditions)
            .order_by(AuditEntry.id.desc())
            .limit(paging.per_page)
            .offset(paging.offset)
        )
        items = [
            {
                "id": r.id,
                "at": r.at.isoformat(),
                "actor_id": r.actor_id,
                "action": r.action,
                "entity": r.entity,
                "entity_id": r.entity_id,
                "changes": r.changes,
            }
            for r in rows
        ]
        return AuditPage(items, total, paging.page, paging.per_page)


class ImageUpload(msgspec.Struct):
    file: UploadFile
    alt: str = ""


class StaffCatalogController(Controller):
    """Writes by centre admins and by workshop managers for their own workshops (403 otherwise)."""

    path = "/api/staff"
    tags = ["catalogue staff"]
    guards = [requires_staff]

    @get("/products", summary="Products including drafts and archived ones (own workshops for managers)")
    async def products(
        self,
        db_session: AsyncSession,
        caller: Caller,
        paging: Page,
        workshop: int | None = Parameter(query="workshop", default=None, ge=1),
        status: ProductStatus | None = Parameter(query="status", default=None),
    ) -> ProductPage:
        service = ProductService(db_session)
        if not caller.is_admin and workshop is None:
            items, total = [], 0
            for wid in sorted(caller.workshop_ids):  # managers usually run one or two workshops
                chunk, n = await service.list_products(
                    workshop_id=wid, status=status, limit=paging.per_page, offset=paging.offset
                )
                items.extend(chunk)
                total += n
            return ProductPage(items[: paging.per_page], total, paging.page, paging.per_page)
        if workshop is not None and not caller.can_manage_workshop(workshop):
            from shop.errors import Forbidden

            raise Forbidden(f"You do not manage workshop {workshop}.", field="workshop")
        items, total = await service.list_products(
            workshop_id=workshop, status=status, limit=paging.per_page, offset=paging.offset
        )
        return ProductPage(items, total, paging.page, paging.per_page)

    @patch("/workshops/{workshop_id:int}", summary="Change a workshop's profile and red stewards")
    async def update_workshop(
        self, db_session: AsyncSession, caller: Caller, workshop_id: int, data: WorkshopUpdate
    ) -> WorkshopDetail:
        return await WorkshopService(db_session).update(caller, workshop_id, data)

    @post("/products", summary="Add a product with its variants", status_code=201)
    async def create_product(self, db_session: AsyncSession, caller: Caller, data: ProductCreate) -> ProductDetail:
        return await ProductService(db_session).create(caller, data)

    @get("/products/{product_id:int}", summary="A product in any status")
    async def product(self, db_session: AsyncSession, caller: Caller, product_id: int) -> ProductDetail:
        product = await ProductService(db_session)._owned(caller, product_id)
        return await ProductService(db_session).detail(product.id, include_hidden=True)

    @patch("/products/{product_id:int}", summary="Change a product")
    async def update_product(
        self, db_session: AsyncSession, caller: Caller, product_id: int, data: ProductUpdate
    ) -> ProductDetail:
        return await ProductService(db_session).update(caller, product_id, data)

    @delete("/products/{product_id:int}", summary="Archive a product (kept for order history)", status_code=200)
    async def archive_product(self, db_session: AsyncSession, caller: Caller, product_id: int) -> ProductDetail:
        return await ProductService(db_session).archive(caller, product_id)

    @post("/products/{product_id:int}/variants", summary="Add a variant (SKU)", status_code=201)
    async def add_variant(
        self, db_session: AsyncSession, caller: Caller, product_id: int, data: VariantIn
    ) -> ProductDetail:
        return await ProductService(db_session).add_variant(caller, product_id, data)

    @patch("/variants/{variant_id:int}", summary="Change a variant's name, price, weight or availability")
    async def update_variant(
        self, db_session: AsyncSession, caller: Caller, variant_id: int, data: VariantUpdate
    ) -> ProductDetail:
        return await ProductService(db_session).update_variant(caller, variant_id, data)

    @put("/variants/{variant_id:int}/stock", summary="Count or adjust stock of a variant at a location")
    async def set_stock(
        self, db_session: AsyncSession, caller: Caller, variant_id: int, data: StockSet
    ) -> ProductDetail:
        """409 when the new on-hand would fall below units reserved by open checkouts."""
        return await ProductService(db_session).set_stock(caller, variant_id, data)

    @post("/products/{product_id:int}/images", summary="Upload a product image (JPEG, PNG or WebP)", status_code=201)
    async def upload_image(
        self,
        db_session: AsyncSession,
        caller: Caller,
        settings: Settings,
        product_id: int,
        data: Annotated[ImageUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImageOut:
        """422 when the file is empty, too large, not an image or of another type."""
        content = await data.file.read()
        service = ImageService(db_session, settings.app.upload_dir, settings.app.upload_max_bytes)
        return await service.upload(caller, product_id, content, data.alt)

    @delete("/images/{image_id:int}", summary="Remove a product image", status_code=204)
    async def delete_image(self, db_session: AsyncSession, caller: Caller, settings: Settings, image_id: int) -> None:
        await ImageService(db_session, settings.app.upload_dir, 0).delete(caller, image_id)


route_handlers = [CatalogController, CatalogAdminController, StaffCatalogController]
