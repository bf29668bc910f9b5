"""SearchService: what the controllers, the outbox worker and the ``hub search`` CLI call.

It validates the API parameters, maps them onto the backend's :class:`SearchQuery`, labels facet values from the
catalogue, keeps the index in step with the catalogue (``apply_changes``, ``reindex``), reports drift (``check``)
and owns the synonym groups (stored in ``search_synonym``, applied without a reindex).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import msgspec
import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.models import WORKSHOP_TYPE_LABELS, Brand, Region, RegionLevel, WorkshopType
from search.documents import (
    PRICE_BAND_KEYS,
    PRICE_BAND_LABELS,
    build_product_documents,
    build_workshop_documents,
    to_dict,
)
from search.engine import build_engine
from search.engine.base import PRODUCT_SPEC, WORKSHOP_SPEC, SearchEngine, SearchQuery, SearchResult
from search.engine.meili import MeiliEngine
from search.models import SearchSynonym
from search.schemas import (
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    DriftReport,
    ProductHit,
    SearchParams,
    SearchResponse,
    SuggestionOut,
    SuggestResponse,
    WorkshopHit,
    WorkshopSearchParams,
    WorkshopSearchResponse,
)
from search.text import DEFAULT_SYNONYMS, Analyzer, normalise
from shop import metrics
from shop.errors import InvalidInput
from shop.settings import Settings

log = structlog.get_logger(__name__)

# API filter name → index field.
PRODUCT_FACETS = {
    "family": "family_id",
    "brand": "brand_id",
    "workshop_type": "workshop_type",
    "county": "county_id",
    "stars": "stars",
    "price_band": "price_band",
    "in_stock": "in_stock",
    "live_now": "live_now",
}
WORKSHOP_FACETS = {"workshop_type": "workshop_type", "county": "county_id", "stars": "stars"}
LABEL_TTL_SECONDS = 60.0
MAX_SYNONYM_GROUPS = 500
MAX_GROUP_WORDS = 20
LiveProducts = Callable[[AsyncSession], Awaitable[Collection[int]]]


class _Labels(msgspec.Struct):
    brands: dict[int, str]
    brand_children: dict[int, list[int]]
    counties: dict[int, str]
    loaded_at: float


class SearchService:
    def __init__(
        self,
        products: SearchEngine,
        workshops: SearchEngine,
        analyzer: Analyzer,
        session_factory: async_sessionmaker[AsyncSession] | None = None,
        *,
        live_products: LiveProducts | None = None,
    ) -> None:
        self.products = products
        self.workshops = workshops
        self.analyzer = analyzer
        self.session_factory = session_factory
        # The livestream context supplies the products on the line-up of a live session.
        self.live_products = live_products
        self._labels: _Labels | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, session_factory: async_sessionmaker[AsyncSession] | None = None
    ) -> SearchService:
        analyzer = Analyzer()
        return cls(
            build_engine(PRODUCT_SPEC, settings, analyzer),
            build_engine(WORKSHOP_SPEC, settings, analyzer),
            analyzer,
            session_factory,
        )

    # ----------------------------------------------------------------- queries

    @staticmethod
    def _page(page: int, per_page: int) -> tuple[int, int]:
        if page < 1:
            raise InvalidInput("page must be 1 or more", field="page")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}", field="per_page")
        if page * per_page > 10_000:
            raise InvalidInput("results beyond the first 10,000 are not paged; refine the search", field="page")
        return (page - 1) * per_page, per_page

    @staticmethod
    def _query_text(q: str) -> str:
        q = q.strip()
        if len(q) > MAX_QUERY_CHARS:
            raise InvalidInput(f"the search text is limited to {MAX_QUERY_CHARS} characters", field="q")
        return q

    @staticmethod
    def _check_choices(values: Sequence[str], allowed: Collection[str], field: str) -> list[str]:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise InvalidInput(f"unknown {field}: {', '.join(bad)}", field=field)
        return list(values)

    @staticmethod
    def _check_stars(stars_min: int | None) -> dict[str, int]:
        if stars_min is None:
            return {}
        if not 1 <= stars_min <= 5:
            raise InvalidInput("stars_min must be between 1 and 5", field="stars_min")
        return {"stars": stars_min}

    async def search(self, params: SearchParams) -> SearchResponse:
        offset, limit = self._page(params.page, params.per_page)
        labels = await self._get_labels()
        filters: dict[str, list[Any]] = {}
        if params.family:
            filters["family_id"] = list(params.family)
        if params.brand:
            filters["brand_id"] = self._with_sub_brands(params.brand, labels)
        if params.workshop_type:
            filters["workshop_type"] = self._check_choices(
                params.workshop_type, {t.value for t in WorkshopType}, "workshop_type"
            )
        if params.county:
            filters["county_id"] = list(params.county)
        if params.price_band:
            filters["price_band"] = self._check_choices(params.price_band, PRICE_BAND_KEYS, "price_band")
        if params.in_stock is not None:
            filters["in_stock"] = [params.in_stock]
        if params.live_now is not None:
            filters["live_now"] = [params.live_now]
        query = SearchQuery(
            q=self._query_text(params.q),
            filters=filters,
            minimums=self._check_stars(params.stars_min),
            facets=list(PRODUCT_FACETS.values()),
            sort=params.sort,
            offset=offset,
            limit=limit,
        )
        result = await self.products.search(query)
        metrics.search_observed(self.products.name, result.took_ms, result.degraded)
        facets = self._rename_facets(result, PRODUCT_FACETS)
        return SearchResponse(
            hits=[msgspec.convert(h, ProductHit) for h in result.hits],
            total=result.total,
            page=params.page,
            per_page=params.per_page,
            facets=facets,
            facet_labels=self._facet_labels(facets, labels),
            took_ms=result.took_ms,
            degraded=result.degraded,
        )

    async def search_workshops(self, params: WorkshopSearchParams) -> WorkshopSearchResponse:
        offset, limit = self._page(params.page, params.per_page)
        labels = await self._get_labels()
        filters: dict[str, list[Any]] = {}
        if params.workshop_type:
            filters["workshop_type"] = self._check_choices(
                params.workshop_type, {t.value for t in WorkshopType}, "workshop_type"
            )
        if params.county:
            filters["county_id"] = list(params.county)
        query = SearchQuery(
            q=self._query_text(params.q),
            filters=filters,
            minimums=self._check_stars(params.stars_min),
            facets=list(WORKSHOP_FACETS.values()),
            sort=params.sort,
            offset=offset,
            limit=limit,
        )
        result = await self.workshops.search(query)
        facets = self._rename_facets(result, WORKSHOP_FACETS)
        return WorkshopSearchResponse(
            hits=[msgspec.convert(h, WorkshopHit) for h in result.hits],
            total=result.total,
            page=params.page,
            per_page=params.per_page,
            facets=facets,
            facet_labels=self._facet_labels(facets, labels),
            took_ms=result.took_ms,
            degraded=result.degraded,
        )

    async def suggest(self, q: str, limit: int = 8) -> SuggestResponse:
        q = self._query_text(q)
        if not 1 <= limit <= 20:
            raise InvalidInput("limit must be between 1 and 20", field="limit")
        found = await self.products.suggest(q, limit) if q else []
        return SuggestResponse(q=q, suggestions=[SuggestionOut(text=s.text, kind=s.kind, id=s.id) for s in found])

    @staticmethod
    def _rename_facets(result: SearchResult, names: dict[str, str]) -> dict[str, dict[str, int]]:
        return {api: result.facets.get(field, {}) for api, field in names.items()}

    @staticmethod
    def _with_sub_brands(brand_ids: Sequence[int], labels: _Labels) -> list[int]:
        out: list[int] = []
        stack = list(brand_ids)
        while stack:
            brand_id = stack.pop()
            if brand_id not in out:
                out.append(brand_id)
                stack.extend(labels.brand_children.get(brand_id, ()))
        return out

    @staticmethod
    def _facet_labels(facets: dict[str, dict[str, int]], labels: _Labels) -> dict[str, dict[str, str]]:
        type_labels = {t.value: label for t, label in WORKSHOP_TYPE_LABELS.items()}
        fixed: dict[str, dict[str, str]] = {
            "workshop_type": type_labels,
            "price_band": dict(PRICE_BAND_LABELS),
            "stars": {str(n): f"{n}星" for n in range(1, 6)} | {"0": "未评星"},
            "in_stock": {"true": "有货", "false": "无货"},
            "live_now": {"true": "直播中", "false": "未直播"},
        }
        by_id = {"family": labels.brands, "brand": labels.brands, "county": labels.counties}
        out: dict[str, dict[str, str]] = {}
        for name, counts in facets.items():
            if name in by_id:
                names = by_id[name]
                out[name] = {v: names.get(int(v), v) for v in counts if v.lstrip("-").isdigit()}
            else:
                table = fixed.get(name, {})
                out[name] = {v: table.get(v, v) for v in counts}
        return out

    async def _get_labels(self) -> _Labels:
        labels = self._labels
        if labels is not None and time.monotonic() - labels.loaded_at < LABEL_TTL_SECONDS:
            return labels
        if self.session_factory is None:
            return labels or _Labels({}, {}, {}, time.monotonic())
        try:
            async with self.session_factory() as session:
                brands = (await session.execute(select(Brand.id, Brand.name, Brand.parent_id))).all()
                counties = (
                    await session.execute(select(Region.id, Region.name).where(Region.level == RegionLevel.COUNTY))
                ).all()
        except Exception as exc:
            log.warning("search.labels_unavailable", error=str(exc))
            return labels or _Labels({}, {}, {}, time.monotonic())
        children: dict[int, list[int]] = {}
        for b in brands:
            if b.parent_id is not None:
                children.setdefault(b.parent_id, []).append(b.id)
        self._labels = _Labels(
            {b.id: b.name for b in brands}, children, {c.id: c.name for c in counties}, time.monotonic()
        )
        return self._labels

    # ----------------------------------------------------------------- keeping the index in step

    async def _live(self, session: AsyncSession) -> Collection[int]:
        return await self.live_products(session) if self.live_products is not None else ()

    async def apply_changes(
        self, session: AsyncSession, product_ids: Collection[int] = (), workshop_ids: Collection[int] = ()
    ) -> tuple[int, int]:
        """Re-read the given products and workshops and upsert or delete them (the outbox worker calls this after
        the catalogue transaction committed). Returns (upserted, deleted). Raises ``SearchUnavailable`` when the
        backend did not take the change, so the outbox keeps the row and retries."""
        upserted = deleted = 0
        if product_ids:
            docs = await build_product_documents(session, product_ids, live_product_ids=await self._live(session))
            gone = sorted(set(product_ids) - {d.id for d in docs})
            await self.products.upsert([to_dict(d) for d in docs])
            await self.products.delete(gone)
            upserted, deleted = upserted + len(docs), deleted + len(gone)
        if workshop_ids:
            wdocs = await build_workshop_documents(session, workshop_ids)
            gone = sorted(set(workshop_ids) - {d.id for d in wdocs})
            await self.workshops.upsert([to_dict(d) for d in wdocs])
            await self.workshops.delete(gone)
            upserted, deleted = upserted + len(wdocs), deleted + len(gone)
        return upserted, deleted

    async def reindex(
        self, session: AsyncSession, progress: Callable[[str, int, int], None] | None = None
    ) -> dict[str, int]:
        """Rebuild both indexes from the catalogue (``hub search reindex``)."""
        await self.load_synonyms(session)
        docs = await build_product_documents(session, live_product_ids=await self._live(session))
        if progress:
            progress("products", 0, len(docs))
        await self.products.rebuild([to_dict(d) for d in docs])
        if progress:
            progress("products", len(docs), len(docs))
        wdocs = await build_workshop_documents(session)
        if progress:
            progress("workshops", 0, len(wdocs))
        await self.workshops.rebuild([to_dict(d) for d in wdocs])
        if progress:
            progress("workshops", len(wdocs), len(wdocs))
        log.info("search.reindexed", products=len(docs), workshops=len(wdocs))
        return {"products": len(docs), "workshops": len(wdocs)}

    async def reindex_fallback(self, session: AsyncSession) -> dict[str, int]:
        """Fill only the embedded fallback copies (a process start with Meilisearch configured)."""
        docs = await build_product_documents(session, live_product_ids=await self._live(session))
        wdocs = await build_workshop_documents(session)
        for engine, payload in ((self.products, docs), (self.workshops, wdocs)):
            embedded = getattr(engine, "embedded", None)
            if embedded is not None:
                await embedded.rebuild([to_dict(d) for d in payload])
        return {"products": len(docs), "workshops": len(wdocs)}

    async def check(self, session: AsyncSession) -> list[DriftReport]:
        """Compare the index with the catalogue (``hub search check``): missing, stale and extra documents."""
        expected_products = {
            d.id: d.version for d in await build_product_documents(session, live_product_ids=await self._live(session))
        }
        expected_workshops = {d.id: d.version for d in await build_workshop_documents(session)}
        reports = []
        for name, engine, expected in (
            ("products", self.products, expected_products),
            ("workshops", self.workshops, expected_workshops),
        ):
            indexed = await engine.document_versions()
            reports.append(
                DriftReport(
                    index=name,
                    expected=len(expected),
                    indexed=len(indexed),
                    missing=sorted(set(expected) - set(indexed)),
                    stale=sorted(i for i in set(expected) & set(indexed) if expected[i] != indexed[i]),
                    extra=sorted(set(indexed) - set(expected)),
                )
            )
        return reports

    async def health(self) -> str:
        return await self.products.health()

    # ----------------------------------------------------------------- synonyms

    async def load_synonyms(self, session: AsyncSession) -> list[list[str]]:
        """Apply the stored synonym groups (or the defaults when none are stored)."""
        rows = (await session.execute(select(SearchSynonym.terms).order_by(SearchSynonym.id))).scalars().all()
        groups = [list(map(str, r)) for r in rows] if rows else [list(g) for g in DEFAULT_SYNONYMS]
        self.analyzer.set_synonyms(groups)
        return [list(g) for g in self.analyzer.synonyms.groups]

    async def replace_synonyms(self, session: AsyncSession, groups: Sequence[Sequence[str]]) -> list[list[str]]:
        """Replace every synonym group (an empty list restores the defaults). Takes effect on the next query, on
        the embedded engine without a reindex; Meilisearch gets the new ``synonyms`` setting after the commit."""
        if len(groups) > MAX_SYNONYM_GROUPS:
            raise InvalidInput(f"at most {MAX_SYNONYM_GROUPS} synonym groups", field="groups")
        clean: list[list[str]] = []
        for i, group in enumerate(groups):
            words = list(dict.fromkeys(normalise(w).strip() for w in group if normalise(w).strip()))
            if len(words) < 2:
                raise InvalidInput("a synonym group needs at least two different words", field=f"groups[{i}]")
            if len(words) > MAX_GROUP_WORDS or any(len(w) > 20 for w in words):
                raise InvalidInput(
                    f"a group has at most {MAX_GROUP_WORDS} words of at most 20 characters", field=f"groups[{i}]"
                )
            clean.append(words)
        await session.execute(delete(SearchSynonym))
        session.add_all(SearchSynonym(terms=words) for words in clean)
        await session.commit()
        self.analyzer.set_synonyms(clean or [list(g) for g in DEFAULT_SYNONYMS])
        for engine in (self.products, self.workshops):
            meili = getattr(engine, "primary", engine)
            if isinstance(meili, MeiliEngine):
                try:
                    await meili.apply_settings()
                except Exception as exc:
                    log.warning("search.synonyms_not_pushed", error=str(exc))
        return [list(g) for g in self.analyzer.synonyms.groups]
