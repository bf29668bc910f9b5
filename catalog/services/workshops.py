"""Workshops (共富工坊): profile, red stewards (红色管家) and half-yearly star ratings (星级评定)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.models import (
    WORKSHOP_TYPE_LABELS,
    LocationKind,
    Product,
    ProductStatus,
    RedSteward,
    Region,
    RegionLevel,
    StarRating,
    StockLocation,
    Workshop,
    WorkshopType,
)
from catalog.schemas import (
    RatingIn,
    RatingOut,
    RegionPath,
    StewardOut,
    WorkshopCreate,
    WorkshopDetail,
    WorkshopSummary,
    WorkshopUpdate,
)
from catalog.services.regions import RegionService
from shop import audit
from shop.auth import Caller, ensure_workshop_scope
from shop.errors import Conflict, InvalidInput, NotFound
from shop.money import round_half_up
from shop.outbox import emit_search


def rating_out(r: StarRating) -> RatingOut:
    return RatingOut(
        r.year,
        r.half,
        r.party_leadership,
        r.organisation,
        r.service_support,
        r.prosperity_impact,
        r.stars,
        r.assessed_on,
    )


def latest_rating(workshop: Workshop) -> StarRating | None:
    if not workshop.ratings:
        return None
    return max(workshop.ratings, key=lambda r: (r.year, r.half.value))


class WorkshopService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.regions = RegionService(session)

    async def get(self, workshop_id: int) -> Workshop:
        workshop = await self.session.get(Workshop, workshop_id)
        if workshop is None:
            raise NotFound(f"Workshop {workshop_id} not found.")
        return workshop

    async def _product_counts(self, ids: list[int]) -> dict[int, int]:
        rows = await self.session.execute(
            select(Product.workshop_id, func.count())
            .where(Product.workshop_id.in_(ids), Product.status == ProductStatus.ACTIVE)
            .group_by(Product.workshop_id)
        )
        return {wid: n for wid, n in rows.tuples()}

    def _summary(self, w: Workshop, path: RegionPath, count: int) -> WorkshopSummary:
        return WorkshopSummary(
            w.id,
            w.name,
            w.workshop_type,
            WORKSHOP_TYPE_LABELS[w.workshop_type],
            w.operator_kind,
            w.operator_name,
            path,
            w.latest_stars,
            list(w.benefit_models),
            count,
        )

    async def list_workshops(
        self,
        *,
        county_id: int | None,
        workshop_type: WorkshopType | None,
        stars_min: int | None,
        limit: int,
        offset: int,
    ) -> tuple[list[WorkshopSummary], int]:
        conditions: list[ColumnElement[bool]] = [Workshop.is_active.is_(True)]
        if county_id is not None:
            conditions.append(Workshop.county_id == county_id)
        if workshop_type is not None:
            conditions.append(Workshop.workshop_type == workshop_type)
        if stars_min is not None:
            conditions.append(Workshop.latest_stars >= stars_min)
        total = int(await self.session.scalar(select(func.count()).select_from(Workshop).where(*conditions)) or 0)
        workshops = list(
            await self.session.scalars(
                select(Workshop).where(*conditions).order_by(Workshop.id).limit(limit).offset(offset)
            )
        )
        paths = await self.regions.paths([w.village_id for w in workshops])
        counts = await self._product_counts([w.id for w in workshops])
        return [self._summary(w, paths[w.village_id], counts.get(w.id, 0)) for w in workshops], total

    async def detail(self, workshop_id: int) -> WorkshopDetail:
        w = await self.session.scalar(
            select(Workshop)
            .where(Workshop.id == workshop_id)
            .options(selectinload(Workshop.ratings), selectinload(Workshop.stewards))
            .execution_options(populate_existing=True)
        )
        if w is None:
            raise NotFound(f"Workshop {workshop_id} not found.")
        path = await self.regions.village_path(w.village_id)
        counts = await self._product_counts([w.id])
        latest = latest_rating(w)
        return WorkshopDetail(
            w.id,
            w.name,
            w.workshop_type,
            WORKSHOP_TYPE_LABELS[w.workshop_type],
            w.operator_kind,
            w.operator_name,
            path,
            w.story,
            w.address,
            list(w.benefit_models),
            w.service_fee_bp,
            w.is_active,
            w.latest_stars,
            rating_out(latest) if latest else None,
            [rating_out(r) for r in sorted(w.ratings, key=lambda r: (r.year, r.half.value), reverse=True)],
            [StewardOut(s.id, s.name, s.work_unit, s.phone, s.role) for s in w.stewards],
            counts.get(w.id, 0),
        )

    async def _village(self, village_id: int) -> Region:
        village = await self.session.get(Region, village_id)
        if village is None or village.level is not RegionLevel.VILLAGE:
            raise InvalidInput(f"Region {village_id} is not a village.", field="village_id")
        return village

    async def create(self, actor: Caller, data: WorkshopCreate) -> WorkshopDetail:
        village = await self._village(data.village_id)
        if await self.session.scalar(select(func.count()).where(Workshop.name == data.name)):
            raise Conflict(f"A workshop named {data.name!r} exists.", field="name")
        workshop = Workshop(
            name=data.name,
            village_id=village.id,
            county_id=village.county_id,
            workshop_type=data.workshop_type,
            operator_kind=data.operator_kind,
            operator_name=data.operator_name,
            story=data.story,
            address=data.address,
            benefit_models=[m.value for m in data.benefit_models],
            service_fee_bp=data.service_fee_bp,
            stewards=[
                RedSteward(name=s.name, work_unit=s.work_unit, phone=s.phone, role=s.role) for s in data.red_stewards
            ],
        )
        self.session.add(workshop)
        await self.session.flush()
        self.session.add(
            StockLocation(name=f"{data.name}仓", kind=LocationKind.WORKSHOP_STORE, workshop_id=workshop.id)
        )
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="workshop",
            entity_id=workshop.id,
            changes={"name": data.name, "workshop_type": data.workshop_type.value},
        )
        emit_search(self.session, "workshop", workshop.id, "created")
        await self.session.commit()
        return await self.detail(workshop.id)

    async def update(self, actor: Caller, workshop_id: int, data: WorkshopUpdate) -> WorkshopDetail:
        ensure_workshop_scope(actor, workshop_id)
        w = await self.get(workshop_id)
        fields = {
            "name": data.name,
            "workshop_type": data.workshop_type,
            "operator_kind": data.operator_kind,
            "operator_name": data.operator_name,
            "story": data.story,
            "address": data.address,
            "benefit_models": [m.value for m in data.benefit_models] if data.benefit_models is not None else None,
            "service_fee_bp": data.service_fee_bp,
            "is_active": data.is_active,
        }
        after = {k: v for k, v in fields.items() if v is not None}
        if not actor.is_admin and ({"service_fee_bp", "is_active", "workshop_type"} & after.keys()):
            raise InvalidInput(
                "Only centre admins change the fee rate, type or active flag.",
                field=sorted({"service_fee_bp", "is_active", "workshop_type"} & after.keys())[0],
            )
        if (
            "name" in after
            and after["name"] != w.name
            and await self.session.scalar(select(func.count()).where(Workshop.name == after["name"]))
        ):
            raise Conflict(f"A workshop named {after['name']!r} exists.", field="name")
        before = {k: getattr(w, k) for k in after}
        for key, value in after.items():
            setattr(w, key, value)
        changes = audit.diff({k: str(v) for k, v in before.items()}, {k: str(v) for k, v in after.items()})
        if data.red_stewards is not None:
            w.stewards = [
                RedSteward(name=s.name, work_unit=s.work_unit, phone=s.phone, role=s.role) for s in data.red_stewards
            ]
            changes["red_stewards"] = [s.name for s in data.red_stewards]
        audit.record(
            self.session, actor_id=actor.id, action="update", entity="workshop", entity_id=w.id, changes=changes
        )
        emit_search(self.session, "workshop", w.id, "updated")
        for pid in await self.session.scalars(select(Product.id).where(Product.workshop_id == w.id)):
            emit_search(self.session, "product", pid, "workshop_updated")
        await self.session.commit()
        return await self.detail(w.id)

    async def rate(self, actor: Caller, workshop_id: int, data: RatingIn) -> WorkshopDetail:
        """Record (or correct) the half-year assessment; the latest one becomes the workshop's stars."""
        w = await self.get(workshop_id)
        scores = [data.party_leadership, data.organisation, data.service_support, data.prosperity_impact]
        stars = data.stars if data.stars is not None else round_half_up(sum(scores), len(scores))
        existing = next((r for r in w.ratings if r.year == data.year and r.half is data.half), None)
        if existing is None:
            existing = StarRating(workshop_id=w.id, year=data.year, half=data.half)
            w.ratings.append(existing)
        existing.party_leadership, existing.organisation = data.party_leadership, data.organisation
        existing.service_support, existing.prosperity_impact = data.service_support, data.prosperity_impact
        existing.stars, existing.assessed_on = stars, data.assessed_on
        await self.session.flush()
        latest = latest_rating(w)
        w.latest_stars = latest.stars if latest else None
        audit.record(
            self.session,
            actor_id=actor.id,
            action="rate",
            entity="workshop",
            entity_id=w.id,
            changes={"year": data.year, "half": data.half.value, "stars": stars},
        )
        emit_search(self.session, "workshop", w.id, "rated")
        for pid in await self.session.scalars(select(Product.id).where(Product.workshop_id == w.id)):
            emit_search(self.session, "product", pid, "workshop_rated")
        await self.session.commit()
        return await self.detail(w.id)
