"""Search API: products and workshops (Chinese, pinyin, initials, typos), suggestions, synonyms for admins."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from search.schemas import (
    ProductSort,
    SearchParams,
    SearchResponse,
    SuggestResponse,
    SynonymGroups,
    WorkshopSearchParams,
    WorkshopSearchResponse,
    WorkshopSort,
)
from search.services import SearchService
from shop.auth import PUBLIC, requires_admin
from shop.errors import ServiceUnavailable
from shop.ratelimit import SEARCH, limited


def _service(request: Request[Any, Any, Any]) -> SearchService:
    service = getattr(request.app.state, "search", None)
    if service is None:
        raise ServiceUnavailable("Search is starting; please retry in a moment.")
    return service  # type: ignore[no-any-return]


class SearchController(Controller):
    path = "/api/search"
    tags = ["search"]

    @get(
        "/",
        opt={**PUBLIC, **limited(SEARCH)},
        summary="Search products: Chinese, pinyin, initials, typos, synonyms, facets",
    )
    async def search(
        self,
        request: Request[Any, Any, Any],
        q: str = Parameter(query="q", default="", max_length=100, description="Words, pinyin or initials"),
        family: list[int] | None = Parameter(query="family", default=None, description="Brand family ids"),
        brand: list[int] | None = Parameter(query="brand", default=None, description="Brand ids"),
        workshop_type: list[str] | None = Parameter(query="workshop_type", default=None),
        county: list[int] | None = Parameter(query="county", default=None, description="County ids"),
        stars_min: int | None = Parameter(query="stars_min", default=None, ge=1, le=5),
        price_band: list[str] | None = Parameter(
            query="price_band", default=None, description="lt20, 20_50, 50_100, 100_200, gte200"
        ),
        in_stock: bool | None = Parameter(query="in_stock", default=None),
        live_now: bool | None = Parameter(query="live_now", default=None),
        sort: ProductSort = Parameter(query="sort", default="relevance"),
        page: int = Parameter(query="page", default=1, ge=1, le=1000),
        per_page: int = Parameter(query="per_page", default=20, ge=1, le=100),
    ) -> SearchResponse:
        """`{"hits", "total", "facets", "took_ms"}`; each hit has id, title, price_fen and highlight."""
        params = SearchParams(
            q=q, family=family or [], brand=brand or [], workshop_type=workshop_type or [], county=county or [],
            stars_min=stars_min, price_band=price_band or [], in_stock=in_stock, live_now=live_now, sort=sort,
            page=page, per_page=per_page,
        )  # fmt: skip
        return await _service(request).search(params)

    @get("/suggest", opt={**PUBLIC, **limited(SEARCH)}, summary="Suggestions as you type (pinyin and initials work)")
    async def suggest(
        self,
        request: Request[Any, Any, Any],
        q: str = Parameter(query="q", max_length=50, description="What has been typed so far"),
        limit: int = Parameter(query="limit", default=8, ge=1, le=20),
    ) -> SuggestResponse:
        return await _service(request).suggest(q, limit)

    @get("/workshops", opt={**PUBLIC, **limited(SEARCH)}, summary="Search workshops")
    async def workshops(
        self,
        request: Request[Any, Any, Any],
        q: str = Parameter(query="q", default="", max_length=100),
        workshop_type: list[str] | None = Parameter(query="workshop_type", default=None),
        county: list[int] | None = Parameter(query="county", default=None),
        stars_min: int | None = Parameter(query="stars_min", default=None, ge=1, le=5),
        sort: WorkshopSort = Parameter(query="sort", default="relevance"),
        page: int = Parameter(query="page", default=1, ge=1, le=1000),
        per_page: int = Parameter(query="per_page", default=20, ge=1, le=100),
    ) -> WorkshopSearchResponse:
        params = WorkshopSearchParams(
            q=q, workshop_type=workshop_type or [], county=county or [], stars_min=stars_min, sort=sort, page=page,
            per_page=per_page,
        )  # fmt: skip
        return await _service(request).search_workshops(params)


class SynonymController(Controller):
    path = "/api/admin/search/synonyms"
    tags = ["search"]
    guards = [requires_admin]

    @get("/", summary="The synonym groups (e.g. 番薯 = 红薯 = 地瓜)")
    async def list_groups(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> SynonymGroups:
        return SynonymGroups(groups=await _service(request).load_synonyms(db_session))

    @put("/", summary="Replace the synonym groups (an empty list restores the defaults)")
    async def replace(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: SynonymGroups
    ) -> SynonymGroups:
        return SynonymGroups(groups=await _service(request).replace_synonyms(db_session, data.groups))


route_handlers = [SearchController, SynonymController]
