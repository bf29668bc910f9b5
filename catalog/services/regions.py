"""Regions: county (县/区) → township (乡镇/街道) → village (村/社区)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Region, RegionLevel
from catalog.schemas import RegionCreate, RegionOut, RegionPath
from shop import audit
from shop.auth import Caller
from shop.errors import Conflict, InvalidInput, NotFound

_PARENT_LEVEL = {RegionLevel.TOWNSHIP: RegionLevel.COUNTY, RegionLevel.VILLAGE: RegionLevel.TOWNSHIP}


def region_out(r: Region) -> RegionOut:
    return RegionOut(r.id, r.level, r.name, r.parent_id, r.county_id, r.township_id)


class RegionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_regions(self, level: RegionLevel | None, parent_id: int | None) -> list[RegionOut]:
        query = select(Region).order_by(Region.id)
        if level is not None:
            query = query.where(Region.level == level)
        if parent_id is not None:
            query = query.where(Region.parent_id == parent_id)
        return [region_out(r) for r in await self.session.scalars(query)]

    async def create(self, actor: Caller, data: RegionCreate) -> RegionOut:
        county_id = township_id = None
        if data.level is RegionLevel.COUNTY:
            if data.parent_id is not None:
                raise InvalidInput("A county has no parent region.", field="parent_id")
        else:
            if data.parent_id is None:
                raise InvalidInput(f"A {data.level.value} needs a parent region.", field="parent_id")
            parent = await self.session.get(Region, data.parent_id)
            if parent is None:
                raise InvalidInput(f"Parent region {data.parent_id} does not exist.", field="parent_id")
            if parent.level is not _PARENT_LEVEL[data.level]:
                raise InvalidInput(
                    f"A {data.level.value} must sit in a {_PARENT_LEVEL[data.level].value}.", field="parent_id"
                )
            county_id = parent.county_id or parent.id
            township_id = parent.id if data.level is RegionLevel.VILLAGE else None
        clash = await self.session.scalar(
            select(func.count()).where(
                Region.parent_id.is_(data.parent_id) if data.parent_id is None else Region.parent_id == data.parent_id,
                Region.name == data.name,
            )
        )
        if clash:
            raise Conflict(f"{data.name!r} already exists there.", field="name")
        region = Region(
            level=data.level,
            name=data.name,
            parent_id=data.parent_id,
            code=data.code,
            county_id=county_id,
            township_id=township_id,
        )
        self.session.add(region)
        await self.session.flush()
        if region.level is RegionLevel.COUNTY:
            region.county_id = region.id
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="region",
            entity_id=region.id,
            changes={"name": data.name, "level": data.level.value},
        )
        await self.session.commit()
        return region_out(region)

    async def village_path(self, village_id: int) -> RegionPath:
        paths = await self.paths([village_id])
        if village_id not in paths:
            raise NotFound(f"Village {village_id} not found.", field="village_id")
        return paths[village_id]

    async def paths(self, village_ids: list[int]) -> dict[int, RegionPath]:
        if not village_ids:
            return {}
        villages = list(await self.session.scalars(select(Region).where(Region.id.in_(set(village_ids)))))
        parent_ids = {v.township_id for v in villages if v.township_id} | {v.county_id for v in villages if v.county_id}
        parents = {r.id: r for r in await self.session.scalars(select(Region).where(Region.id.in_(parent_ids)))}
        out = {}
        for v in villages:
            if v.level is not RegionLevel.VILLAGE:
                continue
            township = parents.get(v.township_id or 0)
            county = parents.get(v.county_id or 0)
            out[v.id] = RegionPath(
                county=county.name if county else "",
                township=township.name if township else "",
                village=v.name,
                county_id=v.county_id or 0,
                village_id=v.id,
            )
        return out

    async def resolve_county(self, county: str) -> int:
        query = select(Region.id).where(Region.level == RegionLevel.COUNTY)
        query = query.where(Region.id == int(county)) if county.isdigit() else query.where(Region.name == county)
        county_id = await self.session.scalar(query)
        if county_id is None:
            raise NotFound(f"No county matches {county!r}.", field="county")
        return county_id
