"""Catalogue request and response bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from catalog.models import (
    BenefitModel,
    LocationKind,
    OperatorKind,
    ProductStatus,
    RatingHalf,
    RegionLevel,
    WorkshopType,
)

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
Fen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]  # up to ¥1,000,000 per unit
Grams = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Quantity = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
Score = Annotated[int, msgspec.Meta(ge=1, le=5)]
BasisPoints = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9][0-9-]{4,19}$")]
Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=30)]


# ---- regions ---------------------------------------------------------------------------------------------------
class RegionOut(msgspec.Struct):
    id: int
    level: RegionLevel
    name: str
    parent_id: int | None
    county_id: int | None
    township_id: int | None


class RegionCreate(msgspec.Struct, forbid_unknown_fields=True):
    level: RegionLevel
    name: Name
    parent_id: Id | None = None
    code: Annotated[str, msgspec.Meta(max_length=32)] | None = None


# ---- brands ----------------------------------------------------------------------------------------------------
class BrandNode(msgspec.Struct):
    id: int
    name: str
    slug: str
    description: str
    parent_id: int | None
    family_id: int | None
    children: list[BrandNode]


class BrandCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    slug: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
    parent_id: Id | None = None
    description: Text = ""
    position: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0


class BrandUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    description: Text | None = None
    position: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None


# ---- workshops -------------------------------------------------------------------------------------------------
class StewardIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    work_unit: Name
    phone: Phone
    role: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]


class StewardOut(msgspec.Struct):
    id: int
    name: str
    work_unit: str
    phone: str
    role: str


class RatingIn(msgspec.Struct, forbid_unknown_fields=True):
    """A half-yearly assessment (§9.3): four dimensions 1–5; `stars` defaults to their rounded mean."""

    year: Annotated[int, msgspec.Meta(ge=2020, le=2100)]
    half: RatingHalf
    party_leadership: Score
    organisation: Score
    service_support: Score
    prosperity_impact: Score
    stars: Score | None = None
    assessed_on: dt.date | None = None


class RatingOut(msgspec.Struct):
    year: int
    half: RatingHalf
    party_leadership: int
    organisation: int
    service_support: int
    prosperity_impact: int
    stars: int
    assessed_on: dt.date | None


class RegionPath(msgspec.Struct):
    county: str
    township: str
    village: str
    county_id: int
    village_id: int


class WorkshopSummary(msgspec.Struct):
    id: int
    name: str
    workshop_type: WorkshopType
    workshop_type_label: str
    operator_kind: OperatorKind
    operator_name: str
    region: RegionPath
    latest_stars: int | None
    benefit_models: list[BenefitModel]
    product_count: int


class WorkshopDetail(msgspec.Struct):
    id: int
    name: str
    workshop_type: WorkshopType
    workshop_type_label: str
    operator_kind: OperatorKind
    operator_name: str
    region: RegionPath
    story: str
    address: str
    benefit_models: list[BenefitModel]
    service_fee_bp: int
    is_active: bool
    latest_stars: int | None
    latest_rating: RatingOut | None
    ratings: list[RatingOut]
    red_stewards: list[StewardOut]
    product_count: int


class WorkshopCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    village_id: Id
    workshop_type: WorkshopType
    operator_kind: OperatorKind
    operator_name: Name
    story: Text = ""
    address: Annotated[str, msgspec.Meta(max_length=200)] = ""
    benefit_models: list[BenefitModel] = []
    service_fee_bp: BasisPoints = 500
    red_stewards: list[StewardIn] = []


class WorkshopUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    workshop_type: WorkshopType | None = None
    operator_kind: OperatorKind | None = None
    operator_name: Name | None = None
    story: Text | None = None
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    benefit_models: list[BenefitModel] | None = None
    service_fee_bp: BasisPoints | None = None
    is_active: bool | None = None
    red_stewards: list[StewardIn] | None = None


class WorkshopPage(msgspec.Struct):
    items: list[WorkshopSummary]
    total: int
    page: int
    per_page: int


# ---- products --------------------------------------------------------------------------------------------------
class StockOut(msgspec.Struct):
    location_id: int
    location_name: str
    location_kind: LocationKind
    on_hand: int
    reserved: int
    available: int


class VariantOut(msgspec.Struct):
    id: int
    sku: str
    name: str
    price_fen: int
    weight_g: int
    is_active: bool
    available_on: dt.date | None
    available: int
    stock: list[StockOut]


class ImageOut(msgspec.Struct):
    id: int
    url: str
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    alt: str


class BrandRef(msgspec.Struct):
    id: int
    name: str
    family_id: int | None
    family_name: str | None


class WorkshopRef(msgspec.Struct):
    id: int
    name: str
    workshop_type: WorkshopType
    workshop_type_label: str
    latest_stars: int | None
    benefit_models: list[BenefitModel]
    region: RegionPath


class ProductSummary(msgspec.Struct):
    id: int
    title: str
    subtitle: str
    price_fen: int
    brand: BrandRef
    workshop: WorkshopRef
    in_stock: bool
    available: int
    status: ProductStatus
    sales_count: int
    is_experience: bool
    shelf_life_days: int | None
    image_url: str | None
    tags: list[str]
    created_at: dt.datetime


class ProductDetail(msgspec.Struct):
    id: int
    title: str
    subtitle: str
    description: str
    price_fen: int
    brand: BrandRef
    workshop: WorkshopRef
    in_stock: bool
    available: int
    status: ProductStatus
    sales_count: int
    is_experience: bool
    shelf_life_days: int | None
    tags: list[str]
    variants: list[VariantOut]
    images: list[ImageOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class ProductPage(msgspec.Struct):
    items: list[ProductSummary]
    total: int
    page: int
    per_page: int


class VariantIn(msgspec.Struct, forbid_unknown_fields=True):
    sku: Sku
    name: Name
    price_fen: Fen
    weight_g: Grams = 0
    is_active: bool = True
    available_on: dt.date | None = None


class VariantUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    price_fen: Fen | None = None
    weight_g: Grams | None = None
    is_active: bool | None = None
    available_on: dt.date | None = None


class ProductCreate(msgspec.Struct, forbid_unknown_fields=True):
    workshop_id: Id
    brand_id: Id
    title: Title
    variants: Annotated[list[VariantIn], msgspec.Meta(min_length=1, max_length=50)]
    subtitle: Annotated[str, msgspec.Meta(max_length=200)] = ""
    description: Text = ""
    tags: Annotated[list[Tag], msgspec.Meta(max_length=30)] = []
    status: ProductStatus = ProductStatus.ACTIVE
    shelf_life_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    is_experience: bool = False


class ProductUpdate(msgspec.Struct, forbid_unknown_fields=True):
    brand_id: Id | None = None
    title: Title | None = None
    subtitle: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    description: Text | None = None
    tags: Annotated[list[Tag], msgspec.Meta(max_length=30)] | None = None
    status: ProductStatus | None = None
    shelf_life_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    is_experience: bool | None = None


class StockSet(msgspec.Struct, forbid_unknown_fields=True):
    """Set the counted on-hand quantity of a variant at a location (a stocktake), or adjust it by a delta."""

    location_id: Id
    on_hand: Quantity | None = None
    delta: Annotated[int, msgspec.Meta(ge=-10_000_000, le=10_000_000)] | None = None
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class LocationOut(msgspec.Struct):
    id: int
    name: str
    kind: LocationKind
    workshop_id: int | None


class LocationCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    kind: LocationKind
    workshop_id: Id | None = None
