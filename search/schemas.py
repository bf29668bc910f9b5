"""Request and response shapes of the search API (``GET /api/search``, ``GET /api/search/suggest``)."""

from __future__ import annotations

from typing import Literal

import msgspec

ProductSort = Literal["relevance", "price_asc", "price_desc", "sales", "rating", "newest"]
WorkshopSort = Literal["relevance", "rating", "newest", "products"]
MAX_PER_PAGE = 100
MAX_QUERY_CHARS = 100


class SearchParams(msgspec.Struct, kw_only=True):
    """Product search. Lists are OR within a filter (``brand=3&brand=4``); filters AND together.

    ``family`` includes every sub-brand of the family; ``brand`` includes the brand's own sub-brands.
    ``price_band`` is one of ``lt20, 20_50, 50_100, 100_200, gte200`` (yuan bands).
    """

    q: str = ""
    family: list[int] = msgspec.field(default_factory=list)
    brand: list[int] = msgspec.field(default_factory=list)
    workshop_type: list[str] = msgspec.field(default_factory=list)
    county: list[int] = msgspec.field(default_factory=list)
    stars_min: int | None = None
    price_band: list[str] = msgspec.field(default_factory=list)
    in_stock: bool | None = None
    live_now: bool | None = None
    sort: ProductSort = "relevance"
    page: int = 1
    per_page: int = 20


class WorkshopSearchParams(msgspec.Struct, kw_only=True):
    q: str = ""
    workshop_type: list[str] = msgspec.field(default_factory=list)
    county: list[int] = msgspec.field(default_factory=list)
    stars_min: int | None = None
    sort: WorkshopSort = "relevance"
    page: int = 1
    per_page: int = 20


class ProductHit(msgspec.Struct, kw_only=True):
    id: int
    title: str
    highlight: str
    price_fen: int
    subtitle: str = ""
    brand_id: int | None = None
    brand_name: str = ""
    family_id: int | None = None
    family_name: str = ""
    workshop_id: int | None = None
    workshop_name: str = ""
    workshop_type: str = ""
    county_id: int | None = None
    county_name: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    in_stock: bool = False
    stars: int = 0
    sales_count: int = 0
    live_now: bool = False


class WorkshopHit(msgspec.Struct, kw_only=True):
    id: int
    name: str
    highlight: str
    workshop_type: str = ""
    workshop_type_label: str = ""
    county_id: int | None = None
    county_name: str = ""
    township_name: str = ""
    village_name: str = ""
    brand_names: list[str] = msgspec.field(default_factory=list)
    stars: int = 0
    product_count: int = 0


class SearchResponse(msgspec.Struct, kw_only=True):
    """``facets``: facet → value → count (values are ids or keys); ``facet_labels``: facet → value → display name.
    ``degraded`` is true when the configured backend was down and the embedded engine answered."""

    hits: list[ProductHit]
    total: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]]
    facet_labels: dict[str, dict[str, str]]
    took_ms: float
    degraded: bool = False


class WorkshopSearchResponse(msgspec.Struct, kw_only=True):
    hits: list[WorkshopHit]
    total: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]]
    facet_labels: dict[str, dict[str, str]]
    took_ms: float
    degraded: bool = False


class SuggestionOut(msgspec.Struct, kw_only=True):
    text: str
    kind: str
    id: int | None = None


class SuggestResponse(msgspec.Struct, kw_only=True):
    q: str
    suggestions: list[SuggestionOut]


class SynonymGroups(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The synonym groups an admin edits: each group lists words that mean the same thing."""

    groups: list[list[str]]


class DriftReport(msgspec.Struct, kw_only=True):
    """``hub search check``: ids in the catalogue but not the index, with a different version, or not searchable."""

    index: str
    expected: int
    indexed: int
    missing: list[int]
    stale: list[int]
    extra: list[int]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)
