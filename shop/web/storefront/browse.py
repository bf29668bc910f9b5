"""Browsing pages: home (brand families, featured workshops), search with facets and suggestions, product, workshop."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.schemas import ProductSummary
from catalog.services import BrandService, ProductService, WorkshopService
from search.schemas import MAX_QUERY_CHARS, SearchParams, SearchResponse
from search.services import SearchService
from shop.auth import PUBLIC
from shop.errors import NotFound, ServiceUnavailable
from shop.ratelimit import SEARCH, limited
from shop.web.storefront.views import PRICE_BANDS, money_split, page_filters, pages
from shop.web.templating import render

PER_PAGE = 12
HOME_PRODUCTS_PER_FAMILY = 6
SORTS = ("relevance", "price_asc", "price_desc", "sales", "rating", "newest")
SORT_LABELS = {
    "relevance": "综合",
    "sales": "销量",
    "price_asc": "价格从低到高",
    "price_desc": "价格从高到低",
    "rating": "工坊星级",
    "newest": "新品",
}
# Facets shown as checkboxes on the search page, in this order (the search service's names).
FACET_ORDER = ("family", "county", "workshop_type", "price_band")
FACET_TITLES = {"family": "品牌家族", "county": "县（市、区）", "workshop_type": "工坊类型", "price_band": "价格"}


def _search(request: Request[Any, Any, Any]) -> SearchService:
    service = getattr(request.app.state, "search", None)
    if service is None:
        raise ServiceUnavailable("Search is starting; please retry in a moment.")
    return service  # type: ignore[no-any-return]


def _ints(request: Request[Any, Any, Any], name: str) -> list[int]:
    out = []
    for raw in request.query_params.getall(name, []):
        if raw.isdigit() and 0 < int(raw) < 2**62:
            out.append(int(raw))
    return out


def _strings(request: Request[Any, Any, Any], name: str, allowed: set[str] | None = None) -> list[str]:
    values = [v.strip()[:40] for v in request.query_params.getall(name, []) if v.strip()]
    return [v for v in values if allowed is None or v in allowed]


@get("/", opt=PUBLIC, include_in_schema=False)
async def home(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    families = await BrandService(db_session).tree()
    products = ProductService(db_session)
    shelves: list[tuple[Any, list[ProductSummary], int]] = []
    for family in families:
        items, total = await products.list_products(
            family=str(family.id), sort="sales", in_stock=None, limit=HOME_PRODUCTS_PER_FAMILY
        )
        if items:
            shelves.append((family, items, total))
    workshops, _total = await WorkshopService(db_session).list_workshops(
        county_id=None, workshop_type=None, stars_min=4, limit=6, offset=0
    )
    return render(request, "storefront/home.html", shelves=shelves, workshops=workshops, q="", **page_filters())


def _search_params(request: Request[Any, Any, Any]) -> SearchParams:
    sort = request.query_params.get("sort") or "relevance"
    page = request.query_params.get("page") or "1"
    return SearchParams(
        q=(request.query_params.get("q") or "").strip()[:MAX_QUERY_CHARS],
        family=_ints(request, "family"),
        brand=_ints(request, "brand"),
        county=_ints(request, "county"),
        workshop_type=_strings(request, "workshop_type"),
        price_band=_strings(request, "price_band", set(PRICE_BANDS)),
        in_stock=True if request.query_params.get("in_stock") == "1" else None,
        sort=sort if sort in SORTS else "relevance",  # type: ignore[arg-type]
        page=min(int(page), 1000) if page.isdigit() and int(page) >= 1 else 1,
        per_page=PER_PAGE,
    )


def _facet_groups(result: SearchResponse, params: SearchParams) -> list[dict[str, Any]]:
    chosen = {
        "family": {str(v) for v in params.family},
        "county": {str(v) for v in params.county},
        "workshop_type": set(params.workshop_type),
        "price_band": set(params.price_band),
    }
    groups = []
    for name in FACET_ORDER:
        counts = result.facets.get(name, {})
        labels = result.facet_labels.get(name, {})
        options: list[dict[str, Any]] = [
            {"value": value, "label": labels.get(value, value), "count": count, "checked": value in chosen[name]}
            for value, count in counts.items()
            if count > 0 or value in chosen[name]
        ]
        if name == "price_band":
            options.sort(key=lambda o: list(PRICE_BANDS).index(o["value"]) if o["value"] in PRICE_BANDS else 99)
        else:
            options.sort(key=lambda o: (-o["count"], o["label"]))
        if options:
            groups.append({"name": name, "title": FACET_TITLES[name], "options": options})
    return groups


@get("/search", opt={**PUBLIC, **limited(SEARCH)}, include_in_schema=False)
async def search_page(request: Request[Any, Any, Any]) -> Template:
    params = _search_params(request)
    result = await _search(request).search(params)
    if params.page > 1 and not result.hits and result.total:
        params.page = pages(result.total, PER_PAGE)
        result = await _search(request).search(params)
    # The current filters as query pairs, so pagination and sorting links keep them.
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "lang") and v]
    return render(
        request,
        "storefront/search.html",
        q=params.q,
        params=params,
        result=result,
        facet_groups=_facet_groups(result, params),
        page_count=pages(result.total, PER_PAGE),
        kept=kept,
        sorts=SORT_LABELS,
        **page_filters(),
    )


@get("/search/suggest", opt={**PUBLIC, **limited(SEARCH)}, include_in_schema=False)
async def suggest_fragment(request: Request[Any, Any, Any]) -> Template:
    """An HTML fragment of suggestions for htmx as the buyer types (pinyin and initials find Chinese words)."""
    q = (request.query_params.get("q") or "").strip()[:50]
    found = await _search(request).suggest(q, 8) if q else None
    return render(request, "storefront/_suggestions.html", q=q, suggestions=found.suggestions if found else [])


@get("/products/{product_id:int}", opt=PUBLIC, include_in_schema=False)
async def product_page(request: Request[Any, Any, Any], db_session: AsyncSession, product_id: int) -> Template:
    product = await ProductService(db_session).detail(product_id)
    workshop = await WorkshopService(db_session).detail(product.workshop.id)
    variants = [v for v in product.variants if v.is_active]
    if not variants:
        raise NotFound(f"Product {product_id} not found.")
    related, _total = await ProductService(db_session).list_products(workshop_id=workshop.id, limit=7)
    return render(
        request,
        "storefront/product.html",
        product=product,
        workshop=workshop,
        variants=variants,
        split=money_split(min(v.price_fen for v in variants), workshop.service_fee_bp),
        related=[p for p in related if p.id != product.id][:6],
        added=request.query_params.get("added") == "1",
        **page_filters(),
    )


@get("/workshops/{workshop_id:int}", opt=PUBLIC, include_in_schema=False)
async def workshop_page(request: Request[Any, Any, Any], db_session: AsyncSession, workshop_id: int) -> Template:
    workshop = await WorkshopService(db_session).detail(workshop_id)
    if not workshop.is_active:
        raise NotFound(f"Workshop {workshop_id} not found.")
    products, total = await ProductService(db_session).list_products(workshop_id=workshop.id, sort="sales", limit=24)
    return render(
        request,
        "storefront/workshop.html",
        workshop=workshop,
        products=products,
        product_total=total,
        split=money_split(10000, workshop.service_fee_bp),
        **page_filters(),
    )


route_handlers = [home, search_page, suggest_fragment, product_page, workshop_page]
