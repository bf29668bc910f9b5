"""The one interface every search backend implements, and the shapes it speaks.

A backend serves one index (products or workshops) described by an :class:`IndexSpec`: which fields are searched
and how heavily, which are facets, which sorts exist and what a hit shows. The embedded engine and Meilisearch
read the same spec, so a result has the same shape whichever answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

FacetKind = Literal["int", "str", "bool"]


@dataclass(frozen=True)
class TextField:
    """A searched field. ``weight`` orders fields (title > brand/workshop > tags > description); ``ngrams`` adds
    CJK character unigrams/bigrams (recall when the query segments differently); ``pinyin`` adds full pinyin and
    initials of every word."""

    name: str
    weight: int
    ngrams: bool = True
    pinyin: bool = True
    phrase: bool = False  # also index the whole value as one term (brand and workshop names: suggestions)


@dataclass(frozen=True)
class IndexSpec:
    uid: str
    text_fields: tuple[TextField, ...]
    facets: Mapping[str, FacetKind]
    # sort name → (numeric field, descending?); "relevance" is implicit.
    sorts: Mapping[str, tuple[str, bool]]
    numeric_fields: tuple[str, ...]  # kept as columns for sorts, ranges and boosts
    hit_fields: tuple[str, ...]  # what a hit carries besides ``highlight``
    highlight_field: str = "title"
    boost_stars_field: str | None = "stars"
    boost_sales_field: str | None = "sales_count"
    # Words whose runs should segment as one word (added to the user dictionary when documents arrive).
    dictionary_fields: tuple[str, ...] = ()


PRODUCT_SPEC = IndexSpec(
    uid="products",
    text_fields=(
        TextField("title", 10),
        TextField("brand_name", 6, phrase=True),
        TextField("brand_aliases", 6, phrase=True),
        TextField("family_name", 5, phrase=True),
        TextField("workshop_name", 5, phrase=True),
        TextField("tags", 4),
        TextField("subtitle", 3, pinyin=False),
        TextField("county_name", 3, ngrams=False),
        TextField("township_name", 2, ngrams=False),
        TextField("village_name", 2, ngrams=False),
        TextField("workshop_type_label", 2, ngrams=False, pinyin=False),
        TextField("description", 1, ngrams=False, pinyin=False),
    ),
    facets={
        "family_id": "int",
        "brand_id": "int",
        "workshop_type": "str",
        "county_id": "int",
        "stars": "int",
        "price_band": "str",
        "in_stock": "bool",
        "live_now": "bool",
    },
    sorts={
        "price_asc": ("price_fen", False),
        "price_desc": ("price_fen", True),
        "sales": ("sales_count", True),
        "rating": ("stars", True),
        "newest": ("created_at", True),
    },
    numeric_fields=("price_fen", "sales_count", "stars", "created_at"),
    hit_fields=(
        "id",
        "title",
        "subtitle",
        "price_fen",
        "brand_id",
        "brand_name",
        "family_id",
        "family_name",
        "workshop_id",
        "workshop_name",
        "workshop_type",
        "county_id",
        "county_name",
        "tags",
        "in_stock",
        "stars",
        "sales_count",
        "live_now",
    ),
    dictionary_fields=("brand_name", "family_name", "county_name", "township_name", "village_name"),
)

WORKSHOP_SPEC = IndexSpec(
    uid="workshops",
    text_fields=(
        TextField("name", 10, phrase=True),
        TextField("brand_names", 5),
        TextField("operator_name", 3),
        TextField("county_name", 3, ngrams=False),
        TextField("township_name", 2, ngrams=False),
        TextField("village_name", 2, ngrams=False),
        TextField("workshop_type_label", 3, ngrams=False),
        TextField("story", 1, ngrams=False, pinyin=False),
    ),
    facets={"workshop_type": "str", "county_id": "int", "stars": "int"},
    sorts={"rating": ("stars", True), "newest": ("created_at", True), "products": ("product_count", True)},
    numeric_fields=("stars", "product_count", "created_at"),
    hit_fields=(
        "id",
        "name",
        "workshop_type",
        "workshop_type_label",
        "county_id",
        "county_name",
        "township_name",
        "village_name",
        "brand_names",
        "stars",
        "product_count",
    ),
    highlight_field="name",
    boost_sales_field="product_count",
    dictionary_fields=("county_name", "township_name", "village_name"),
)

SORTS = ("relevance", "price_asc", "price_desc", "sales", "rating", "newest", "products")


class SearchQuery(msgspec.Struct, kw_only=True):
    """What a backend is asked: text, filters (OR within a field, AND across fields), minimums, facets, sort, page.

    ``filters`` values are compared as strings for ``str`` facets, ints for ``int``, bools for ``bool``.
    Facet counts are disjunctive: a facet's counts ignore that facet's own filter, so picking one brand still
    shows how many hits the other brands would give.
    """

    q: str = ""
    filters: dict[str, list[Any]] = msgspec.field(default_factory=dict)
    minimums: dict[str, int] = msgspec.field(default_factory=dict)
    facets: list[str] = msgspec.field(default_factory=list)
    sort: str = "relevance"
    offset: int = 0
    limit: int = 20


class SearchResult(msgspec.Struct, kw_only=True):
    hits: list[dict[str, Any]]
    total: int
    facets: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)
    took_ms: float = 0.0
    backend: str = ""
    degraded: bool = False


class Suggestion(msgspec.Struct, kw_only=True):
    text: str
    kind: str  # keyword | brand | workshop | product
    count: int = 0
    id: int | None = None  # the product, for kind == "product"


class SearchUnavailable(Exception):
    """The backend could not answer (down, timed out, refused the request)."""


@runtime_checkable
class SearchEngine(Protocol):
    """One index, one backend. All methods are coroutines; a failure raises :class:`SearchUnavailable`."""

    spec: IndexSpec
    name: str

    async def search(self, query: SearchQuery) -> SearchResult: ...

    async def suggest(self, prefix: str, limit: int = 8) -> list[Suggestion]: ...

    async def upsert(self, docs: Sequence[Mapping[str, Any]]) -> None: ...

    async def delete(self, ids: Sequence[int]) -> None: ...

    async def rebuild(self, docs: Sequence[Mapping[str, Any]]) -> None: ...

    async def health(self) -> str: ...

    async def count(self) -> int: ...

    async def document_versions(self) -> dict[int, str]: ...
