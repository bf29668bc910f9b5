"""The Meilisearch backend, through the official client, against the local stand-in (tests/search/meili_standin)."""

from __future__ import annotations

import json

import pytest
from meilisearch.errors import MeilisearchApiError

from search.engine.base import PRODUCT_SPEC, SearchQuery, SearchUnavailable
from search.engine.meili import MeiliEngine
from search.text import Analyzer
from tests.search.factories import catalogue_docs, product_doc
from tests.search.meili_standin import MeiliStandIn


@pytest.fixture
def meili(standin: MeiliStandIn, analyzer: Analyzer) -> MeiliEngine:
    return MeiliEngine(PRODUCT_SPEC, analyzer, url=standin.url, api_key="test-key", index_prefix="t_", timeout=2.0)


async def test_rebuild_creates_the_index_with_our_settings_and_swaps_it_in(
    meili: MeiliEngine, standin: MeiliStandIn
) -> None:
    # When the index is rebuilt from the catalogue
    await meili.rebuild(catalogue_docs())
    # Then the live index holds every document, and the staging index is gone
    assert sorted(standin.indexes) == ["t_products"]
    assert await meili.count() == 8
    settings = standin.indexes["t_products"]["settings"]
    assert settings["typoTolerance"] == {
        "enabled": True,
        "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
        "disableOnAttributes": ["search_initials"],
    }
    assert settings["searchableAttributes"][:7] == [
        "title",
        "search_words",
        "search_pinyin",
        "search_initials",
        "brand_name",
        "brand_aliases",
        "family_name",
    ]
    assert settings["searchableAttributes"][-1] == "description"
    assert settings["filterableAttributes"] == [
        "family_id",
        "brand_id",
        "workshop_type",
        "county_id",
        "stars",
        "price_band",
        "in_stock",
        "live_now",
        "id",
    ]
    assert settings["sortableAttributes"] == ["price_fen", "sales_count", "stars", "created_at"]
    assert settings["rankingRules"] == [
        "words",
        "typo",
        "proximity",
        "attribute",
        "sort",
        "exactness",
        "stars:desc",
        "sales_count:desc",
    ]
    assert settings["synonyms"]["番薯"] == ["红薯", "地瓜", "甘薯", "山芋", "白薯"]
    assert settings["synonyms"]["digua"] == ["fanshu", "hongshu", "ganshu", "shanyu", "baishu"]
    assert {"丽水山耕", "山耕", "红糖", "番薯"} <= set(settings["dictionary"])
    # And the documents carry our segmentation, pinyin and initials
    doc = standin.indexes["t_products"]["docs"]["1"]
    assert doc["search_pinyin"].split()[:3] == ["lishuishangeng", "gufa", "hongtang"]
    assert doc["search_initials"].split()[:3] == ["lssg", "gf", "ht"]
    assert doc["search_words"].startswith("丽水山耕 古法 红糖")
    # And the staging index was swapped with the live one
    assert standin.calls("POST", "/swap-indexes") == [[{"indexes": ["t_products", "t_products__rebuild"]}]]


async def test_search_sends_filters_sort_highlight_and_disjunctive_facet_queries(
    meili: MeiliEngine, standin: MeiliStandIn
) -> None:
    await meili.rebuild(catalogue_docs())
    # When searching pinyin with a family filter, a star minimum and a sort
    result = await meili.search(
        SearchQuery(
            q="hongtang",
            filters={"family_id": [1], "workshop_type": ["brand_led"]},
            minimums={"stars": 4},
            facets=["family_id", "price_band"],
            sort="price_asc",
            offset=0,
            limit=10,
        )
    )
    # Then one multi-search carries the main query and one facet query for the filtered facet
    (body,) = standin.calls("POST", "/multi-search")
    main, family_counts = body["queries"]
    assert main["q"] == "hongtang"
    assert main["filter"] == ["family_id IN [1]", 'workshop_type IN ["brand_led"]', "stars >= 4"]
    assert main["facets"] == ["price_band"]
    assert main["sort"] == ["price_fen:asc"]
    assert (main["page"], main["hitsPerPage"]) == (1, 10)
    assert main["attributesToHighlight"] == ["title"]
    assert family_counts == {
        "indexUid": "t_products",
        "q": "hongtang",
        "filter": ['workshop_type IN ["brand_led"]', "stars >= 4"],
        "facets": ["family_id"],
        "hitsPerPage": 0,
        "page": 1,
    }
    # And the response maps onto our result shape
    assert [h["id"] for h in result.hits] == [1]
    assert result.total == 1
    assert result.facets == {"family_id": {"1": 1}, "price_band": {"20_50": 1}}
    assert result.backend == "meilisearch"


async def test_query_is_normalised_and_highlight_is_escaped(meili: MeiliEngine, standin: MeiliStandIn) -> None:
    await meili.rebuild(catalogue_docs())
    result = await meili.search(SearchQuery(q="ＤＯ豪华间"))  # full-width letters fold to half-width
    assert standin.calls("POST", "/multi-search")[0]["queries"][0]["q"] == "do豪华间"
    result = await meili.search(SearchQuery(q="豪华间"))
    assert [h["highlight"] for h in result.hits] == ["山居民宿两晚 &lt;<em>豪华间</em>&gt;"]
    result = await meili.search(SearchQuery(q="紅糖"))
    assert standin.calls("POST", "/multi-search")[-1]["queries"][0]["q"] == "红糖"
    assert [h["id"] for h in result.hits] == [1]


async def test_upsert_delete_and_document_versions(meili: MeiliEngine, standin: MeiliStandIn) -> None:
    await meili.rebuild(catalogue_docs())
    await meili.upsert([product_doc(1, "古法黑糖", price_fen=4200), product_doc(9, "松阳红糖", county_id=13)])
    await meili.delete([2, 3])
    assert standin.calls("POST", "/documents/delete-batch") == [["2", "3"]]  # the client sends ids as strings
    versions = await meili.document_versions()
    assert sorted(versions) == [1, 4, 5, 6, 7, 8, 9]
    assert versions[1] == product_doc(1, "古法黑糖", price_fen=4200)["version"]
    assert await meili.count() == 7


async def test_a_down_server_raises_search_unavailable(meili: MeiliEngine, standin: MeiliStandIn) -> None:
    standin.down = True
    with pytest.raises(SearchUnavailable, match="meilisearch"):
        await meili.search(SearchQuery(q="红糖"))
    with pytest.raises(SearchUnavailable):
        await meili.health()


async def test_a_slow_server_times_out(standin: MeiliStandIn, analyzer: Analyzer) -> None:
    meili = MeiliEngine(PRODUCT_SPEC, analyzer, url=standin.url, timeout=0.2)
    await meili.ensure_index()
    standin.delay = 1.0
    with pytest.raises(SearchUnavailable, match="Timeout"):
        await meili.search(SearchQuery(q="红糖"))


async def test_an_index_another_process_created_first_counts_as_created(
    meili: MeiliEngine, standin: MeiliStandIn, analyzer: Analyzer
) -> None:
    # given another process (the app beside its worker) that created the index between our look-up and our create
    other = MeiliEngine(PRODUCT_SPEC, analyzer, url=standin.url, api_key="test-key", index_prefix="t_", timeout=2.0)
    await other.ensure_index()
    creates_before = len(standin.calls("POST", "/indexes"))
    meili.client.get_index = _not_found  # type: ignore[method-assign]  # the look-up raced: it saw no index
    # when this one ensures the index, its create fails with index_already_exists
    await meili.ensure_index()
    # then that is success: the documents go in and nothing is reported unavailable
    assert len(standin.calls("POST", "/indexes")) == creates_before + 1
    await meili.upsert([product_doc(7, "青田红糖")])
    assert "7" in standin.indexes["t_products"]["docs"]


def _not_found(uid: str) -> None:
    raise MeilisearchApiError("index not found", _Response(uid))


class _Response:
    """What the client's error reads from a 404 response."""

    def __init__(self, uid: str) -> None:
        self.status_code = 404
        self.text = json.dumps({"message": f"Index `{uid}` not found.", "code": "index_not_found"})

    def json(self) -> dict[str, str]:
        return dict(json.loads(self.text))
