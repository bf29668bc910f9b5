"""Brand families ("1+N"): a root brand and its sub-brands."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Brand, Product
from catalog.schemas import BrandCreate, BrandNode, BrandUpdate
from shop import audit
from shop.auth import Caller
from shop.errors import Conflict, InvalidInput, NotFound


def build_tree(brands: list[Brand]) -> list[BrandNode]:
    nodes = {b.id: BrandNode(b.id, b.name, b.slug, b.description, b.parent_id, b.family_id, []) for b in brands}
    roots: list[BrandNode] = []
    for b in sorted(brands, key=lambda x: (x.position, x.id)):
        node = nodes[b.id]
        if b.parent_id is not None and b.parent_id in nodes:
            nodes[b.parent_id].children.append(node)
        else:
            roots.append(node)
    return roots


def descendants(brands: list[Brand], root_id: int) -> set[int]:
    """The brand and every brand below it."""
    children: dict[int | None, list[int]] = {}
    for b in brands:
        children.setdefault(b.parent_id, []).append(b.id)
    found, stack = set(), [root_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


class BrandService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Brand]:
        return list(await self.session.scalars(select(Brand).order_by(Brand.position, Brand.id)))

    async def tree(self) -> list[BrandNode]:
        return build_tree(await self.all())

    async def resolve_family(self, family: str) -> set[int]:
        """`family` is a brand id or a brand name/slug; returns that brand and all its sub-brands' ids."""
        brands = await self.all()
        match = None
        if family.isdigit():
            match = next((b for b in brands if b.id == int(family)), None)
        if match is None:
            match = next((b for b in brands if family in (b.name, b.slug)), None)
        if match is None:
            raise NotFound(f"No brand family matches {family!r}.", field="family")
        return descendants(brands, match.id)

    async def resolve_brand(self, brand: str) -> int:
        query = select(Brand.id).where(or_(Brand.name == brand, Brand.slug == brand))
        if brand.isdigit():
            query = select(Brand.id).where(or_(Brand.id == int(brand), Brand.name == brand))
        brand_id = await self.session.scalar(query)
        if brand_id is None:
            raise NotFound(f"No brand matches {brand!r}.", field="brand")
        return brand_id

    async def create(self, actor: Caller, data: BrandCreate) -> BrandNode:
        family_id = None
        if data.parent_id is not None:
            parent = await self.session.get(Brand, data.parent_id)
            if parent is None:
                raise InvalidInput(f"Parent brand {data.parent_id} does not exist.", field="parent_id")
            family_id = parent.family_id or parent.id
        clash = await self.session.scalar(
            select(func.count()).where(or_(Brand.name == data.name, Brand.slug == data.slug))
        )
        if clash:
            raise Conflict(f"A brand named {data.name!r} or with slug {data.slug!r} exists.", field="name")
        brand = Brand(
            name=data.name,
            slug=data.slug,
            parent_id=data.parent_id,
            description=data.description,
            position=data.position,
            family_id=family_id,
        )
        self.session.add(brand)
        await self.session.flush()
        if brand.family_id is None:
            brand.family_id = brand.id
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="brand",
            entity_id=brand.id,
            changes={"name": data.name, "parent_id": data.parent_id},
        )
        await self.session.commit()
        return BrandNode(brand.id, brand.name, brand.slug, brand.description, brand.parent_id, brand.family_id, [])

    async def update(self, actor: Caller, brand_id: int, data: BrandUpdate) -> BrandNode:
        brand = await self.session.get(Brand, brand_id)
        if brand is None:
            raise NotFound(f"Brand {brand_id} not found.")
        before = {"name": brand.name, "description": brand.description, "position": brand.position}
        after = {
            k: v
            for k, v in {"name": data.name, "description": data.description, "position": data.position}.items()
            if v is not None
        }
        if "name" in after and after["name"] != brand.name:
            clash = await self.session.scalar(select(func.count()).where(Brand.name == after["name"]))
            if clash:
                raise Conflict(f"A brand named {after['name']!r} exists.", field="name")
        for key, value in after.items():
            setattr(brand, key, value)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="update",
            entity="brand",
            entity_id=brand.id,
            changes=audit.diff(before, after),
        )
        if "name" in after:
            from shop.outbox import emit_search

            product_ids = await self.session.scalars(select(Product.id).where(Product.brand_id == brand.id))
            for pid in product_ids:
                emit_search(self.session, "product", pid, "brand_renamed")
        await self.session.commit()
        return BrandNode(brand.id, brand.name, brand.slug, brand.description, brand.parent_id, brand.family_id, [])
