"""What the kiosk screens show, read through the contexts' own services (no rules are repeated here)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import structlog
from litestar import Litestar
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Brand
from catalog.schemas import ProductSummary
from catalog.services.brands import BrandService
from catalog.services.products import ProductService
from livestream.schemas import LeaderboardOut, SessionOut
from livestream.services.broadcast import BroadcastService
from livestream.services.common import local
from livestream.services.figures import LiveFigures
from livestream.services.leaderboards import LeaderboardService
from livestream.services.livestore import STORE_ERRORS
from livestream.services.presenters import SessionPresenter
from search.schemas import SearchParams, SearchResponse, WorkshopSearchParams, WorkshopSearchResponse
from search.services import SearchService
from shop.errors import NotFound

log = structlog.get_logger(__name__)

IDLE_SECONDS = 90  # privacy: the screen returns to its attract screen after this long untouched
MIN_IDLE_SECONDS, MAX_IDLE_SECONDS = 2, 3600
BENEFIT_LABELS = {"labour": "劳务", "guaranteed_purchase": "保底收购", "equity_dividend": "入股分红"}
_NOT_EM = re.compile(r"<(?!/?em>)")


def idle_seconds(raw: str | None) -> int:
    """`?idle=N` shortens (or lengthens) the idle timeout, e.g. for tests; anything unusable means the default."""
    if raw and raw.isdigit():
        return min(max(int(raw), MIN_IDLE_SECONDS), MAX_IDLE_SECONDS)
    return IDLE_SECONDS


def safe_highlight(text: str) -> Markup:
    """Search highlights are escaped text with <em> marks; keep only those marks, whatever else slipped in."""
    return Markup(_NOT_EM.sub("&lt;", text))


def local_time(value: dt.datetime | None) -> str:
    return local(value).strftime("%m-%d %H:%M") if value else ""


# ---- brands -------------------------------------------------------------------------------------------------


@dataclass
class BrandPage:
    brand: Brand
    trail: list[Brand]  # from the family down to this brand
    children: list[Brand]
    products: list[ProductSummary]
    total: int
    workshops: list[dict[str, Any]] = field(default_factory=list)


async def families(db: AsyncSession) -> list[dict[str, Any]]:
    brands = await BrandService(db).all()
    roots = [b for b in brands if b.parent_id is None]
    return [{"brand": b, "children": [c for c in brands if c.parent_id == b.id]} for b in roots]


async def brand_page(db: AsyncSession, brand_id: int, limit: int = 24) -> BrandPage:
    brands = await BrandService(db).all()
    by_id = {b.id: b for b in brands}
    brand = by_id.get(brand_id)
    if brand is None:
        raise NotFound(f"No brand {brand_id}.", field="brand_id")
    trail = [brand]
    while trail[0].parent_id is not None and trail[0].parent_id in by_id and len(trail) < 10:
        trail.insert(0, by_id[trail[0].parent_id])
    children = [b for b in brands if b.parent_id == brand.id]
    # `family` includes every sub-brand below this one, which is what a visitor browsing a brand expects.
    products, total = await ProductService(db).list_products(family=str(brand.id), sort="sales", limit=limit)
    seen: dict[int, dict[str, Any]] = {}
    for p in products:
        seen.setdefault(p.workshop.id, {"id": p.workshop.id, "name": p.workshop.name, "stars": p.workshop.latest_stars})
    return BrandPage(brand, trail, children, products, total, list(seen.values()))


# ---- live ---------------------------------------------------------------------------------------------------


@dataclass
class LiveBoard:
    live: list[SessionOut]
    upcoming: list[SessionOut]
    streamers: LeaderboardOut | None
    sessions: LeaderboardOut | None


async def live_now(db: AsyncSession, app: Litestar, base_url: str, limit: int = 6) -> list[SessionOut]:
    figures = LiveFigures.for_app(app)
    rows, _ = await BroadcastService(db, figures).listing("live", limit, 0)
    figs = await figures.figures([s.id for s in rows])
    return await SessionPresenter(db, base_url).many(rows, figs)


async def live_board(db: AsyncSession, app: Litestar, base_url: str) -> LiveBoard:
    figures = LiveFigures.for_app(app)
    live = await live_now(db, app, base_url)
    rows, _ = await BroadcastService(db, figures).listing("upcoming", 6, 0)
    upcoming = await SessionPresenter(db, base_url).many(rows)
    boards: dict[str, LeaderboardOut | None] = {}
    for board in ("streamer", "session"):
        try:
            boards[board] = await LeaderboardService(db, figures).read(board, "gmv", None, 5)  # type: ignore[arg-type]
        except STORE_ERRORS as exc:  # the leaderboard lives in Redis; the rest of the screen still works
            log.warning("kiosk_leaderboard_unavailable", error=str(exc)[:200])
            boards[board] = None
    return LiveBoard(live, upcoming, boards["streamer"], boards["session"])


# ---- search -------------------------------------------------------------------------------------------------


@dataclass
class SearchResults:
    q: str
    products: SearchResponse | None
    workshops: WorkshopSearchResponse | None
    unavailable: bool = False


async def search(app: Litestar, q: str) -> SearchResults:
    q = q.strip()[:50]
    if not q:
        return SearchResults(q, None, None)
    service: SearchService | None = getattr(app.state, "search", None)
    if service is None:
        return SearchResults(q, None, None, unavailable=True)
    products = await service.search(SearchParams(q=q, per_page=12))
    workshops = await service.search_workshops(WorkshopSearchParams(q=q, per_page=6))
    return SearchResults(q, products, workshops)
