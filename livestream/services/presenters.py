"""Building response bodies for sessions (names of studios, streamers and products loaded in bulk)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Product, ProductStatus, ProductVariant, StockLevel
from livestream.models import LiveSession, Studio
from livestream.schemas import FiguresOut, LineupOut, SessionOut
from livestream.services.common import local
from shop.accounts.models import User
from shop.errors import InvalidInput


def share_url(base_url: str, code: str) -> str:
    """The link a streamer shares; the storefront page at this path keeps the code on the buyer's cart lines."""
    return f"{base_url.rstrip('/')}/live/s/{code}"


async def validate_lineup(session: AsyncSession, product_ids: Sequence[int]) -> list[int]:
    """Line-up products must exist, be active and have stock available somewhere; order kept, duplicates refused."""
    if len(set(product_ids)) != len(product_ids):
        raise InvalidInput("A product appears twice in the line-up.", field="product_ids")
    if not product_ids:
        return []
    rows = await session.execute(select(Product.id, Product.title, Product.status).where(Product.id.in_(product_ids)))
    found = {pid: (title, status) for pid, title, status in rows.tuples()}
    available = dict(
        (
            await session.execute(
                select(ProductVariant.product_id, func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
                .join(StockLevel, StockLevel.variant_id == ProductVariant.id)
                .where(ProductVariant.product_id.in_(product_ids), ProductVariant.is_active.is_(True))
                .group_by(ProductVariant.product_id)
            )
        )
        .tuples()
        .all()
    )
    for pid in product_ids:
        if pid not in found:
            raise InvalidInput(f"Product {pid} not found.", field="product_ids")
        title, status = found[pid]
        if status is not ProductStatus.ACTIVE:
            raise InvalidInput(f"Product {pid} «{title}» is not on sale ({status.value}).", field="product_ids")
        if int(available.get(pid, 0)) <= 0:
            raise InvalidInput(f"Product {pid} «{title}» is out of stock.", field="product_ids")
    return list(product_ids)


class SessionPresenter:
    def __init__(self, session: AsyncSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def many(
        self, sessions: Sequence[LiveSession], figures: dict[int, FiguresOut] | None = None
    ) -> list[SessionOut]:
        studio_ids = {s.studio_id for s in sessions}
        user_ids = {s.streamer_user_id for s in sessions}
        product_ids = {item.product_id for s in sessions for item in s.lineup}
        studios = (
            dict(
                (await self.session.execute(select(Studio.id, Studio.name).where(Studio.id.in_(studio_ids))))
                .tuples()
                .all()
            )
            if studio_ids
            else {}
        )
        users = (
            dict(
                (await self.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))))
                .tuples()
                .all()
            )
            if user_ids
            else {}
        )
        products = (
            {
                pid: (title, price)
                for pid, title, price in (
                    await self.session.execute(
                        select(Product.id, Product.title, Product.min_price_fen).where(Product.id.in_(product_ids))
                    )
                ).tuples()
            }
            if product_ids
            else {}
        )
        figures = figures or {}
        return [
            SessionOut(
                s.id,
                s.title,
                s.description,
                s.cover_image_url,
                s.status,
                s.studio_id,
                studios.get(s.studio_id, ""),
                s.streamer_user_id,
                users.get(s.streamer_user_id, ""),
                s.series_id,
                s.starts_at,
                s.ends_at,
                local(s.starts_at).isoformat(),
                local(s.ends_at).isoformat(),
                s.commission_bp,
                s.attribution_window_minutes,
                s.share_code,
                share_url(self.base_url, s.share_code),
                s.went_live_at,
                s.ended_at,
                s.pinned_product_id,
                [LineupOut(i.product_id, *products.get(i.product_id, ("", 0))) for i in s.lineup],
                figures.get(s.id),
            )
            for s in sessions
        ]

    async def one(self, live: LiveSession, figures: FiguresOut | None = None) -> SessionOut:
        return (await self.many([live], {live.id: figures} if figures else None))[0]
