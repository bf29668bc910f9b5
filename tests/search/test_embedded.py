"""Embedded engine behaviour over the hand-built catalogue in factories.catalogue_docs (ids 1–8)."""

from __future__ import annotations

import asyncio

import pytest

import search.engine.embedded as embedded_module
from search.engine.base import PRODUCT_SPEC, SearchQuery
from search.engine.embedded import EmbeddedEngine
from search.text import Analyzer
from tests.search.factories import catalogue_docs, product_doc

ALL_FACETS = ["family_id", "brand_id", "workshop_type", "county_id", "stars", "price_band", "in_stock", "live_now"]


async def ids(engine: EmbeddedEngine, q: str, **kwargs: object) -> list[int]:
    result = await engine.search(SearchQuery(q=q, **kwargs))  # type: ignore[arg-type]
    return [h["id"] for h in result.hits]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("红糖", [1]),  # Chinese word
        ("hongtang", [1]),  # full pinyin
        ("ht", [1]),  # initials
        ("紅糖", [1]),  # traditional characters
        ("lssg", [1]),  # initials of a brand word from the user dictionary
        ("ＨＯＮＧＴＡＮＧ", [1]),  # full-width capitals
        ("hongtnag", [1]),  # one typo (transposition) in an 8-letter word
        ("yangmie", [7]),  # one typo in a 7-letter word
        ("jinyunshaobing", [6]),  # run-together pinyin of two words
        ("qingtianyangmei", [7]),
        ("杨梅 鲜果", [7]),  # two words, both required
        ("洪糖", [1]),  # a homophone typed by a pinyin keyboard
        ("冬菇", [8]),  # synonym of 香菇/花菇
        ("xianggu", [8]),
        ("山居", [5]),  # a sub-brand name
    ],
)
async def test_query_forms_find_the_product(engine: EmbeddedEngine, q: str, expected: list[int]) -> None:
    assert await ids(engine, q) == expected


async def test_synonyms_find_every_member_of_the_group(engine: EmbeddedEngine) -> None:
    # Given 番薯干 (2) and 紅薯粉絲 (3), and a workshop named 遂昌番薯工坊 that also sells 香菇 (8)
    # When searching 地瓜, in Chinese or pinyin
    # Then titles match before the workshop name, in the same order for both (番薯 of 番薯干 has its pinyin too)
    assert await ids(engine, "地瓜") == [2, 3, 8]
    assert await ids(engine, "digua") == [2, 3, 8]


async def test_typo_budget_is_enforced(engine: EmbeddedEngine) -> None:
    # Two typos in a 7-letter word are too many; one typo in a 4-letter word is too many.
    assert await ids(engine, "yngmie") == []
    assert await ids(engine, "hngtnag") == []
    assert await ids(engine, "hont") == []


async def test_coverage_drops_unmatched_words_only_when_nothing_matches_all(engine: EmbeddedEngine) -> None:
    # 火星 matches nothing: the best coverage is one word, 红糖
    assert await ids(engine, "红糖 火星") == [1]
    assert await ids(engine, "火星") == []


async def test_highlight_wraps_matches_and_escapes_html(engine: EmbeddedEngine) -> None:
    result = await engine.search(SearchQuery(q="豪华间"))
    assert [h["highlight"] for h in result.hits] == ["山居民宿两晚 &lt;<em>豪华间</em>&gt;"]
    result = await engine.search(SearchQuery(q="lssg hongtang"))
    assert result.hits[0]["highlight"] == "<em>丽水山耕</em>古法<em>红糖</em>"
    result = await engine.search(SearchQuery(q="紅糖"))
    assert result.hits[0]["highlight"] == "丽水山耕古法<em>红糖</em>"


async def test_filters_and_disjunctive_facet_counts(engine: EmbeddedEngine) -> None:
    # Given the 丽水山坊 family (brands 山耕 and 山居) priced 20–50元
    result = await engine.search(SearchQuery(filters={"family_id": [1], "price_band": ["20_50"]}, facets=ALL_FACETS))
    # Then the hits are 1 (38元) and 6 (49元), and each facet counts as if its own filter were off
    assert sorted(h["id"] for h in result.hits) == [1, 6]
    assert result.total == 2
    assert result.facets == {
        "family_id": {"1": 2, "5": 1},
        "brand_id": {"2": 2},
        "workshop_type": {"brand_led": 1, "ecommerce_livestream": 1},
        "county_id": {"10": 2},
        "stars": {"0": 1, "5": 1},
        "price_band": {"100_200": 2, "20_50": 2, "gte200": 1, "lt20": 1},
        "in_stock": {"true": 2},
        "live_now": {"false": 2},
    }


@pytest.mark.parametrize(
    ("filters", "minimums", "expected"),
    [
        ({"brand_id": [3]}, {}, [5]),
        ({"workshop_type": ["overseas_chinese_aided"]}, {}, [3, 7]),
        ({"county_id": [11, 13]}, {}, [2, 4, 5, 8]),
        ({}, {"stars": 5}, [1, 4]),
        ({"in_stock": [False]}, {}, [3, 8]),
        ({"live_now": [True]}, {}, [2]),
        ({"price_band": ["gte200", "lt20"]}, {}, [2, 5]),
        ({"brand_id": [999]}, {}, []),
    ],
)
async def test_each_filter(
    engine: EmbeddedEngine, filters: dict[str, list[object]], minimums: dict[str, int], expected: list[int]
) -> None:
    result = await engine.search(SearchQuery(filters=filters, minimums=minimums))  # type: ignore[arg-type]
    assert sorted(h["id"] for h in result.hits) == expected
    assert result.total == len(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", [2, 3, 1, 6, 7, 4, 8, 5]),
        ("price_desc", [5, 8, 4, 7, 6, 1, 3, 2]),
        ("sales", [6, 2, 1, 7, 4, 8, 5, 3]),
        ("newest", [8, 7, 6, 5, 4, 3, 2, 1]),
        ("rating", [1, 4, 2, 7, 5, 3, 8, 6]),
    ],
)
async def test_sorts(engine: EmbeddedEngine, sort: str, expected: list[int]) -> None:
    assert await ids(engine, "", sort=sort) == expected


async def test_relevance_ranks_title_matches_above_other_fields(engine: EmbeddedEngine) -> None:
    # 缙云 is in the title of 6 and only the county of 1
    assert await ids(engine, "缙云") == [6, 1]


async def test_pagination(engine: EmbeddedEngine) -> None:
    first = await engine.search(SearchQuery(sort="price_asc", offset=0, limit=3))
    second = await engine.search(SearchQuery(sort="price_asc", offset=3, limit=3))
    last = await engine.search(SearchQuery(sort="price_asc", offset=6, limit=3))
    beyond = await engine.search(SearchQuery(sort="price_asc", offset=9, limit=3))
    assert [[h["id"] for h in r.hits] for r in (first, second, last, beyond)] == [[2, 3, 1], [6, 7, 4], [8, 5], []]
    assert {r.total for r in (first, second, last, beyond)} == {8}


async def test_hits_carry_the_display_fields(engine: EmbeddedEngine) -> None:
    hit = (await engine.search(SearchQuery(q="红糖"))).hits[0]
    assert hit == {
        "id": 1,
        "title": "丽水山耕古法红糖",
        "subtitle": "",
        "price_fen": 3800,
        "brand_id": 2,
        "brand_name": "山耕",
        "family_id": 1,
        "family_name": "丽水山坊",
        "workshop_id": 100,
        "workshop_name": "壶镇共富工坊",
        "workshop_type": "brand_led",
        "county_id": 10,
        "county_name": "缙云县",
        "tags": ["红糖"],
        "in_stock": True,
        "stars": 5,
        "sales_count": 120,
        "live_now": False,
        "highlight": "丽水山耕古法<em>红糖</em>",
    }


async def test_suggestions_complete_pinyin_prefixes_to_words_then_products(engine: EmbeddedEngine) -> None:
    found = await engine.suggest("hon", 6)
    assert [(s.text, s.kind) for s in found] == [
        ("红糖", "keyword"),
        ("红茶", "keyword"),
        ("红薯", "keyword"),
        ("丽水山耕古法红糖", "product"),
        ("高山红茶礼盒", "product"),
        ("紅薯粉絲", "product"),
    ]
    assert [(s.text, s.kind) for s in await engine.suggest("lssg", 2)] == [
        ("丽水山耕", "keyword"),
        ("丽水山耕古法红糖", "product"),
    ]
    assert await engine.suggest("  ", 5) == []


async def test_upsert_replaces_and_delete_removes(engine: EmbeddedEngine) -> None:
    # When product 1 is renamed and a new product is added
    await engine.upsert([product_doc(1, "古法黑糖块", price_fen=4200), product_doc(9, "松阳红糖", county_id=13)])
    # Then searches see the new content and not the old
    assert await ids(engine, "黑糖块") == [1]
    assert [(h["id"], h["title"]) for h in (await engine.search(SearchQuery(q="古法"))).hits] == [(1, "古法黑糖块")]
    assert await ids(engine, "红糖") == [9, 1]  # 黑糖 is a synonym of 红糖
    assert await engine.count() == 9
    # When 9 is deleted (twice: deleting is idempotent)
    await engine.delete([9])
    await engine.delete([9, 12345])
    assert await ids(engine, "松阳红糖") == [1, 4, 5]  # partial matches only: 9 is gone
    assert await engine.count() == 8
    versions = await engine.document_versions()
    assert sorted(versions) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert versions[1] == product_doc(1, "古法黑糖块", price_fen=4200)["version"]


async def test_delta_merges_into_main_without_losing_documents(
    analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a tiny merge threshold so the delta folds into the main segment during the test
    monkeypatch.setattr(embedded_module, "DELTA_MIN_DOCS", 3)
    engine = EmbeddedEngine(PRODUCT_SPEC, analyzer)
    await engine.rebuild(catalogue_docs())
    # When documents arrive one by one, some twice, and some are deleted
    for n in range(10, 20):
        await engine.upsert([product_doc(n, f"土蜂蜜 {n}号", price_fen=1000 + n)])
    await engine.upsert([product_doc(12, "土蜂蜜 特级", price_fen=5000)])
    await engine.delete([2, 15])
    # Then every live document is found exactly once with its latest content
    assert engine._state.delta.n < 5
    assert await engine.count() == 16
    result = await engine.search(SearchQuery(q="蜂蜜", sort="price_asc", limit=20, facets=["price_band"]))
    assert [h["id"] for h in result.hits] == [10, 11, 13, 14, 16, 17, 18, 19, 12]
    assert result.facets == {"price_band": {"lt20": 8, "50_100": 1}}
    assert await ids(engine, "番薯干") == []


async def test_searches_answer_while_a_rebuild_runs(analyzer: Analyzer) -> None:
    engine = EmbeddedEngine(PRODUCT_SPEC, analyzer)
    await engine.rebuild(catalogue_docs())
    many = [product_doc(100 + n, f"高山茶 {n}", price_fen=2000) for n in range(600)]
    rebuild = asyncio.create_task(engine.rebuild(catalogue_docs() + many))
    during = await engine.search(SearchQuery(q="红糖"))
    await rebuild
    assert [h["id"] for h in during.hits] == [1]
    assert await engine.count() == 608
