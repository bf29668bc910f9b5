"""Catalogue tables.

Regions are one self-referencing table (县/区 → 乡镇/街道 → 村/社区); brands are a tree (“1+N” families).
Money is integer fen, weights integer grams.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, BigIntId, IdMixin, TimestampMixin


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(
        cls, native_enum=False, length=32, validate_strings=True, values_callable=lambda e: [m.value for m in e]
    )


class RegionLevel(enum.StrEnum):
    COUNTY = "county"  # 县/区
    TOWNSHIP = "township"  # 乡镇/街道
    VILLAGE = "village"  # 村/社区


class WorkshopType(enum.StrEnum):
    """The nine operating models of DB3311/T 244 §7."""

    MATERIAL_PROCESSING = "material_processing"  # 来料加工
    DIRECTED_HIRING = "directed_hiring"  # 定向招工
    ECOMMERCE_LIVESTREAM = "ecommerce_livestream"  # 电商直播
    AGRI_TOURISM = "agri_tourism"  # 农旅融合
    BRAND_LED = "brand_led"  # 品牌带动
    INDUSTRY_EMPOWERMENT = "industry_empowerment"  # 产业赋能
    MOBILE_SUPPLY = "mobile_supply"  # 流动供销
    OVERSEAS_CHINESE_AIDED = "overseas_chinese_aided"  # 侨助共富
    MOUNTAIN_SEA_COOPERATION = "mountain_sea_cooperation"  # 山海协作


WORKSHOP_TYPE_LABELS: dict[WorkshopType, str] = {
    WorkshopType.MATERIAL_PROCESSING: "来料加工",
    WorkshopType.DIRECTED_HIRING: "定向招工",
    WorkshopType.ECOMMERCE_LIVESTREAM: "电商直播",
    WorkshopType.AGRI_TOURISM: "农旅融合",
    WorkshopType.BRAND_LED: "品牌带动",
    WorkshopType.INDUSTRY_EMPOWERMENT: "产业赋能",
    WorkshopType.MOBILE_SUPPLY: "流动供销",
    WorkshopType.OVERSEAS_CHINESE_AIDED: "侨助共富",
    WorkshopType.MOUNTAIN_SEA_COOPERATION: "山海协作",
}


class OperatorKind(enum.StrEnum):
    """运营主体."""

    VILLAGE_COMPANY = "village_company"  # 强村公司
    COOPERATIVE = "cooperative"  # 村经济合作社
    ENTERPRISE = "enterprise"  # 企业
    STREAMER = "streamer"  # 主播
    BROKER = "broker"  # 经纪人
    OTHER = "other"


class BenefitModel(enum.StrEnum):
    """利益联结模式 (DB3311/T 244 §8.3)."""

    LABOUR = "labour"  # 劳务
    GUARANTEED_PURCHASE = "guaranteed_purchase"  # 保底收购
    EQUITY_DIVIDEND = "equity_dividend"  # 入股分红


class RatingHalf(enum.StrEnum):
    H1 = "H1"
    H2 = "H2"


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class LocationKind(enum.StrEnum):
    WORKSHOP_STORE = "workshop_store"  # 工坊仓
    SHOWROOM = "showroom"  # 服务中心展厅


class Region(IdMixin, Base):
    __tablename__ = "region"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    level: Mapped[RegionLevel] = mapped_column(_enum(RegionLevel), index=True)
    name: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    parent_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    # Denormalised ancestors so a village row answers "which county" without a recursive query.
    county_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("region.id"), index=True, default=None)
    township_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("region.id"), index=True, default=None)


class Brand(IdMixin, TimestampMixin, Base):
    """A brand in a "1+N" family; a root brand (no parent) is a family (e.g. 丽水山坊 → 山耕/山景/山居/山播)."""

    __tablename__ = "brand"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    parent_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("brand.id", ondelete="RESTRICT"), index=True)
    family_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("brand.id"), index=True, default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Workshop(IdMixin, TimestampMixin, Base):
    """共富工坊."""

    __tablename__ = "workshop"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    village_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    county_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("region.id"), index=True)
    workshop_type: Mapped[WorkshopType] = mapped_column(_enum(WorkshopType), index=True)
    operator_kind: Mapped[OperatorKind] = mapped_column(_enum(OperatorKind))
    operator_name: Mapped[str] = mapped_column(String(100))
    story: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    benefit_models: Mapped[list[Any]] = mapped_column(default=list)
    # Service-centre fee on each paid line, in basis points (per workshop agreement).
    service_fee_bp: Mapped[int] = mapped_column(Integer, default=500)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    latest_stars: Mapped[int | None] = mapped_column(SmallInteger, default=None, index=True)

    stewards: Mapped[list[RedSteward]] = relationship(
        back_populates="workshop", cascade="all, delete-orphan", lazy="selectin", order_by="RedSteward.id"
    )
    ratings: Mapped[list[StarRating]] = relationship(
        back_populates="workshop",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="(StarRating.year.desc(), StarRating.half.desc())",
    )


class RedSteward(IdMixin, Base):
    """红色管家: public contact people for a workshop (§5.2.1)."""

    __tablename__ = "red_steward"

    workshop_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    work_unit: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(50))

    workshop: Mapped[Workshop] = relationship(back_populates="stewards")


class StarRating(IdMixin, Base):
    """Half-yearly star assessment on four dimensions, 1–5 each (§9.3)."""

    __tablename__ = "star_rating"
    __table_args__ = (
        UniqueConstraint("workshop_id", "year", "half"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
    )

    workshop_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    half: Mapped[RatingHalf] = mapped_column(_enum(RatingHalf))
    party_leadership: Mapped[int] = mapped_column(SmallInteger)  # 党建引领力
    organisation: Mapped[int] = mapped_column(SmallInteger)  # 组织运行力
    service_support: Mapped[int] = mapped_column(SmallInteger)  # 服务支撑力
    prosperity_impact: Mapped[int] = mapped_column(SmallInteger)  # 共富带动力
    stars: Mapped[int] = mapped_column(SmallInteger)
    assessed_on: Mapped[dt.date | None] = mapped_column(default=None)

    workshop: Mapped[Workshop] = relationship(back_populates="ratings")


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "product"
    # The storefront's list pages: one index per sort, so a page is read in order instead of sorting every product.
    __table_args__ = (
        Index("ix_product_listing_newest", "status", "created_at", "id"),
        Index("ix_product_listing_sales", "status", "sales_count", "id"),
    )

    workshop_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workshop.id", ondelete="RESTRICT"), index=True)
    brand_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("brand.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    subtitle: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[ProductStatus] = mapped_column(_enum(ProductStatus), default=ProductStatus.ACTIVE, index=True)
    shelf_life_days: Mapped[int | None] = mapped_column(Integer, default=None)
    is_experience: Mapped[bool] = mapped_column(Boolean, default=False)
    sales_count: Mapped[int] = mapped_column(Integer, default=0)
    # Cheapest active variant, kept in step by the service for sorting and price filters.
    min_price_fen: Mapped[int] = mapped_column(Integer, default=0, index=True)

    variants: Mapped[list[ProductVariant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", lazy="selectin", order_by="ProductVariant.id"
    )
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", cascade="all, delete-orphan", lazy="selectin", order_by="ProductImage.position"
    )


class ProductVariant(IdMixin, TimestampMixin, Base):
    """A SKU: size/weight/pack, or for an experience a dated offering."""

    __tablename__ = "product_variant"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="price_nonneg"),
        CheckConstraint("weight_g >= 0", name="weight_nonneg"),
    )

    product_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("product.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    price_fen: Mapped[int] = mapped_column(Integer)
    weight_g: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    available_on: Mapped[dt.date | None] = mapped_column(default=None)  # experiences: the date offered

    product: Mapped[Product] = relationship(back_populates="variants")
    stock: Mapped[list[StockLevel]] = relationship(
        back_populates="variant", cascade="all, delete-orphan", lazy="selectin", order_by="StockLevel.location_id"
    )


class StockLocation(IdMixin, Base):
    __tablename__ = "stock_location"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[LocationKind] = mapped_column(_enum(LocationKind))
    workshop_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("workshop.id", ondelete="CASCADE"), index=True)


class StockLevel(IdMixin, Base):
    """On-hand and reserved units of one variant at one location; available = on_hand − reserved."""

    __tablename__ = "stock_level"
    __table_args__ = (
        UniqueConstraint("variant_id", "location_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_range"),
    )

    variant_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("product_variant.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("stock_location.id", ondelete="CASCADE"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)

    variant: Mapped[ProductVariant] = relationship(back_populates="stock")

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class ProductImage(IdMixin, TimestampMixin, Base):
    __tablename__ = "product_image"

    product_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("product.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(128), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    alt: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    product: Mapped[Product] = relationship(back_populates="images")
