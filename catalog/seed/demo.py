"""Demo data (演示数据) drawn from the seed documents: `hub seed --demo`, also loaded by `make run`.

Idempotent: every row is looked up by its natural key (region parent+name, brand name, workshop name, SKU,
location name, username …) and only missing rows are inserted, all in one transaction. Experience dates are
the coming weeks from `today`, so a later run adds the new dates and keeps the old ones.

Demo accounts (passwords are for local demos only):

| username           | password        | role             | scope                                         |
|--------------------|-----------------|------------------|-----------------------------------------------|
| admin              | admin12345      | centre_admin     | everything                                    |
| manager_hongtang   | manager12345    | workshop_manager | 知味红·红糖工坊, 方山稻鱼共富工坊              |
| manager_shuxiang   | manager12345    | workshop_manager | 薯香共富工坊, “慢时光”共富工坊, 嵊州小吃共富工坊 |
| manager_baihua     | manager12345    | workshop_manager | 百花共富工坊, 二嫂乡苑美食共富工坊, 阳光工坊     |
| streamer_xiaoli    | streamer12345   | streamer         |                                               |
| streamer_ahua      | streamer12345   | streamer         |                                               |
| streamer_dawei     | streamer12345   | streamer         |                                               |
| kiosk              | kiosk12345      | kiosk            | the showroom screen                           |
| buyer              | buyer12345      | buyer            |                                               |
| member             | member12345     | member           | 上坪村村民 (benefit statements)                 |
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import (
    Brand,
    LocationKind,
    Product,
    ProductStatus,
    ProductVariant,
    RatingHalf,
    RedSteward,
    Region,
    RegionLevel,
    StarRating,
    StockLevel,
    StockLocation,
    Workshop,
)
from catalog.seed.brands import BRAND_FAMILIES
from catalog.seed.products_jingning_qingyuan import JINGNING_QINGYUAN_PRODUCTS
from catalog.seed.products_lishui import LISHUI_PRODUCTS
from catalog.seed.products_other import OTHER_PRODUCTS
from catalog.seed.products_qingtian import QINGTIAN_PRODUCTS
from catalog.seed.regions import COUNTIES, SHOWROOM_NAME
from catalog.seed.specs import BrandSpec, ProductSpec, WorkshopSpec, stars_for
from catalog.seed.workshops_lishui import LISHUI_WORKSHOPS
from catalog.seed.workshops_other import OTHER_WORKSHOPS
from shop.accounts.models import Role, User, WorkshopManagerScope
from shop.auth import hash_password

WORKSHOPS: tuple[WorkshopSpec, ...] = LISHUI_WORKSHOPS + OTHER_WORKSHOPS
PRODUCTS: tuple[ProductSpec, ...] = QINGTIAN_PRODUCTS + JINGNING_QINGYUAN_PRODUCTS + LISHUI_PRODUCTS + OTHER_PRODUCTS

# The three assessed half-years of the demo ratings, oldest first, with the day each assessment was published.
RATING_PERIODS: tuple[tuple[int, RatingHalf, dt.date], ...] = (
    (2025, RatingHalf.H1, dt.date(2025, 7, 15)),
    (2025, RatingHalf.H2, dt.date(2026, 1, 15)),
    (2026, RatingHalf.H1, dt.date(2026, 7, 15)),
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
_WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    password: str
    role: Role
    display_name: str
    workshops: tuple[str, ...] = ()  # workshop codes a manager is scoped to


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "admin12345", Role.CENTRE_ADMIN, "综合服务中心管理员"),
    DemoUser("manager_hongtang", "manager12345", Role.WORKSHOP_MANAGER, "叶正荣（知味红·红糖工坊）", ("ZWH", "FSDY")),
    DemoUser(
        "manager_shuxiang", "manager12345", Role.WORKSHOP_MANAGER, "裘建锋（薯香共富工坊）", ("SX", "MSG", "SZXC")
    ),
    DemoUser("manager_baihua", "manager12345", Role.WORKSHOP_MANAGER, "蒋海峰（百花共富工坊）", ("BH", "ESXY", "YGGF")),
    DemoUser("streamer_xiaoli", "streamer12345", Role.STREAMER, "村播小李"),
    DemoUser("streamer_ahua", "streamer12345", Role.STREAMER, "村播阿华"),
    DemoUser("streamer_dawei", "streamer12345", Role.STREAMER, "村播大伟"),
    DemoUser("kiosk", "kiosk12345", Role.KIOSK, "综合服务中心展厅一号屏"),
    DemoUser("buyer", "buyer12345", Role.BUYER, "王女士"),
    DemoUser("member", "member12345", Role.MEMBER, "金存礼"),
)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo holds after loading (whether inserted now or found), and how many rows this run inserted."""

    counties: int
    regions: int
    families: int
    brands: int
    workshops: int
    workshop_types: int
    workshop_counties: int
    stewards: int
    ratings: int
    products: int
    experiences: int
    variants: int
    stock_locations: int
    stock_levels: int
    users: int
    inserted: int


class _Loader:
    def __init__(self, session: AsyncSession, today: dt.date) -> None:
        self.session = session
        self.today = today
        self.inserted = 0
        self.regions: dict[tuple[int | None, str], Region] = {}
        self.brands: dict[str, Brand] = {}
        self.workshops: dict[str, Workshop] = {}  # by code
        self.locations: dict[str, StockLocation] = {}  # by workshop code, "" for the showroom
        self.products: list[Product] = []
        self.variant_count = 0
        self.stock_count = 0
        self.users = 0

    def add(self, obj: object) -> None:
        self.session.add(obj)
        self.inserted += 1

    # Regions -----------------------------------------------------------------------------------------------

    async def load_regions(self) -> None:
        existing = (await self.session.scalars(select(Region))).all()
        self.regions = {(r.parent_id, r.name): r for r in existing}
        for county_spec in COUNTIES:
            county = await self._region(None, county_spec.name, RegionLevel.COUNTY, code=county_spec.code)
            for township_name, villages in county_spec.townships.items():
                township = await self._region(county.id, township_name, RegionLevel.TOWNSHIP, county_id=county.id)
                for village_name in villages:
                    await self._region(
                        township.id, village_name, RegionLevel.VILLAGE, county_id=county.id, township_id=township.id
                    )

    async def _region(self, parent_id: int | None, name: str, level: RegionLevel, **fields: object) -> Region:
        region = self.regions.get((parent_id, name))
        if region is None:
            region = Region(parent_id=parent_id, name=name, level=level, **fields)
            self.add(region)
            await self.session.flush()  # children need the id
            self.regions[(parent_id, name)] = region
        return region

    def village(self, spec: WorkshopSpec) -> tuple[Region, Region]:
        county = next(
            r for (p, n), r in self.regions.items() if p is None and n == spec.county and r.level is RegionLevel.COUNTY
        )
        township = self.regions[(county.id, spec.township)]
        return county, self.regions[(township.id, spec.village)]

    # Brands ------------------------------------------------------------------------------------------------

    async def load_brands(self) -> None:
        self.brands = {b.name: b for b in (await self.session.scalars(select(Brand))).all()}
        for position, family in enumerate(BRAND_FAMILIES):
            root = await self._brand(family, None, position)
            for child_position, child in enumerate(family.children):
                await self._brand(child, root, child_position)

    async def _brand(self, spec: BrandSpec, parent: Brand | None, position: int) -> Brand:
        brand = self.brands.get(spec.name)
        if brand is None:
            brand = Brand(
                name=spec.name,
                slug=spec.slug,
                description=spec.description,
                position=position,
                parent_id=parent.id if parent else None,
                family_id=parent.family_id if parent else None,
            )
            self.add(brand)
            await self.session.flush()
            if parent is None:
                brand.family_id = brand.id  # a root is its own family, so "family = X" is one equality
            self.brands[spec.name] = brand
        return brand

    # Workshops ---------------------------------------------------------------------------------------------

    async def load_workshops(self) -> None:
        by_name = {w.name: w for w in (await self.session.scalars(select(Workshop))).all()}
        area_codes = {c.name: c.area_code for c in COUNTIES}
        for index, spec in enumerate(WORKSHOPS, start=1):
            workshop = by_name.get(spec.name)
            if workshop is None:
                county, village = self.village(spec)
                workshop = Workshop(
                    name=spec.name,
                    village_id=village.id,
                    county_id=county.id,
                    workshop_type=spec.workshop_type,
                    operator_kind=spec.operator_kind,
                    operator_name=spec.operator_name,
                    story=spec.story,
                    address=spec.address,
                    benefit_models=[m.value for m in spec.benefit_models],
                    service_fee_bp=spec.service_fee_bp,
                    stewards=[],
                    ratings=[],
                )
                self.add(workshop)
            self._stewards(workshop, spec, area_codes[spec.county], index)
            self._ratings(workshop, spec)
            self.workshops[spec.code] = workshop
        await self.session.flush()

    def _stewards(self, workshop: Workshop, spec: WorkshopSpec, area_code: str, index: int) -> None:
        known = {s.name for s in workshop.stewards}
        for position, steward in enumerate(spec.stewards, start=1):
            if steward.name in known:
                continue
            # Made-up office numbers in the county's area code: public contact details must look real but be no one's.
            phone = f"{area_code}-{6100000 + index * 1000 + position * 11}"
            workshop.stewards.append(
                RedSteward(name=steward.name, work_unit=steward.work_unit, phone=phone, role=steward.role)
            )
            self.inserted += 1

    def _ratings(self, workshop: Workshop, spec: WorkshopSpec) -> None:
        known = {(r.year, r.half) for r in workshop.ratings}
        for (year, half, assessed_on), scores in zip(RATING_PERIODS, spec.ratings, strict=True):
            if (year, half) in known:
                continue
            workshop.ratings.append(
                StarRating(
                    year=year,
                    half=half,
                    party_leadership=scores[0],
                    organisation=scores[1],
                    service_support=scores[2],
                    prosperity_impact=scores[3],
                    stars=stars_for(scores),
                    assessed_on=assessed_on,
                )
            )
            self.inserted += 1
        workshop.latest_stars = stars_for(spec.ratings[-1])

    # Stock locations ---------------------------------------------------------------------------------------

    async def load_locations(self) -> None:
        by_name = {loc.name: loc for loc in (await self.session.scalars(select(StockLocation))).all()}
        wanted = [("", SHOWROOM_NAME, LocationKind.SHOWROOM, None)] + [
            (code, f"{w.name}·工坊仓", LocationKind.WORKSHOP_STORE, w.id) for code, w in self.workshops.items()
        ]
        for key, name, kind, workshop_id in wanted:
            location = by_name.get(name)
            if location is None:
                location = StockLocation(name=name, kind=kind, workshop_id=workshop_id)
                self.add(location)
            self.locations[key] = location
        await self.session.flush()

    # Products ----------------------------------------------------------------------------------------------

    async def load_products(self) -> None:
        existing = {(p.workshop_id, p.title): p for p in (await self.session.scalars(select(Product))).all()}
        known_skus = set((await self.session.scalars(select(ProductVariant.sku))).all())
        for spec in PRODUCTS:
            workshop = self.workshops[spec.workshop]
            product = existing.get((workshop.id, spec.title))
            if product is None:
                product = Product(
                    workshop_id=workshop.id,
                    brand_id=self.brands[spec.brand].id,
                    title=spec.title,
                    subtitle=spec.subtitle,
                    description=spec.description,
                    tags=list(spec.tags),
                    status=ProductStatus.ACTIVE,
                    shelf_life_days=spec.shelf_life_days,
                    is_experience=spec.experience is not None,
                    sales_count=spec.sales_count,
                    variants=[],
                    images=[],
                )
                self.add(product)
            for sku, variant, stock in self._variants(spec):
                if sku in known_skus:
                    continue
                variant.stock = [
                    StockLevel(location_id=self.locations[key].id, on_hand=on_hand, reserved=0)
                    for key, on_hand in stock
                ]
                product.variants.append(variant)
                known_skus.add(sku)
                self.inserted += 1 + len(variant.stock)
            active = [v.price_fen for v in product.variants if v.is_active]
            product.min_price_fen = min(active) if active else 0
            self.variant_count += len(product.variants)
            self.stock_count += sum(len(v.stock) for v in product.variants)
            self.products.append(product)
        await self.session.flush()

    def _variants(self, spec: ProductSpec) -> Iterable[tuple[str, ProductVariant, list[tuple[str, int]]]]:
        if spec.experience is not None:
            exp = spec.experience
            for day in _upcoming(self.today, exp.weekdays, exp.weeks):
                sku = f"{spec.code}-{day:%Y%m%d}"
                name = f"{day:%m月%d日}（{_WEEKDAY_LABELS[day.weekday()]}）{exp.label}"
                variant = ProductVariant(
                    sku=sku, name=name, price_fen=exp.price_fen, weight_g=0, is_active=True, available_on=day
                )
                yield sku, variant, [(spec.workshop, exp.capacity)]
            return
        for position, v in enumerate(spec.variants, start=1):
            sku = f"{spec.code}-{position}"
            variant = ProductVariant(
                sku=sku, name=v.name, price_fen=v.price_fen, weight_g=v.weight_g, is_active=v.active
            )
            stock = [(spec.workshop, v.stock)] + ([("", v.showroom)] if v.showroom else [])
            yield sku, variant, stock

    # Accounts ----------------------------------------------------------------------------------------------

    async def load_users(self) -> None:
        names = [u.username for u in DEMO_USERS]
        existing = {u.username: u for u in (await self.session.scalars(select(User).where(User.username.in_(names))))}
        for demo_user in DEMO_USERS:
            user = existing.get(demo_user.username)
            if user is None:
                # argon2 is deliberately slow; keep the event loop free while hashing.
                password_hash = await asyncio.to_thread(hash_password, demo_user.password)
                user = User(
                    username=demo_user.username,
                    display_name=demo_user.display_name,
                    password_hash=password_hash,
                    role=demo_user.role,
                    managed_workshops=[],
                )
                self.add(user)
            scoped = {scope.workshop_id for scope in user.managed_workshops}
            for code in demo_user.workshops:
                workshop_id = self.workshops[code].id
                if workshop_id not in scoped:
                    user.managed_workshops.append(WorkshopManagerScope(workshop_id=workshop_id))
                    self.inserted += 1
            self.users += 1
        await self.session.flush()

    def summary(self) -> DemoSummary:
        workshops = list(self.workshops.values())
        return DemoSummary(
            counties=len(COUNTIES),
            regions=sum(1 + len(c.townships) + sum(len(v) for v in c.townships.values()) for c in COUNTIES),
            families=len(BRAND_FAMILIES),
            brands=sum(1 + len(f.children) for f in BRAND_FAMILIES),
            workshops=len(workshops),
            workshop_types=len({w.workshop_type for w in workshops}),
            workshop_counties=len({w.county_id for w in workshops}),
            stewards=sum(len(w.stewards) for w in workshops),
            ratings=sum(len(w.ratings) for w in workshops),
            products=len(self.products),
            experiences=sum(1 for p in self.products if p.is_experience),
            variants=self.variant_count,
            stock_locations=len(self.locations),
            stock_levels=self.stock_count,
            users=self.users,
            inserted=self.inserted,
        )


def _upcoming(today: dt.date, weekdays: tuple[int, ...], weeks: int) -> list[dt.date]:
    """The dates on `weekdays` from tomorrow through the next `weeks` weeks."""
    days = (today + dt.timedelta(days=offset) for offset in range(1, weeks * 7 + 1))
    return [day for day in days if day.weekday() in weekdays]


async def load_demo(session: AsyncSession, *, today: dt.date | None = None) -> DemoSummary:
    """Insert whatever part of the demo catalogue and accounts is missing, and commit."""
    loader = _Loader(session, today or dt.datetime.now(SHANGHAI).date())
    await loader.load_regions()
    await loader.load_brands()
    await loader.load_workshops()
    await loader.load_locations()
    await loader.load_products()
    await loader.load_users()
    await session.commit()
    return loader.summary()
