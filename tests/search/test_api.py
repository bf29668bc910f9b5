"""The search API through the app: response shape, exact facets, pages, sorts, bad parameters, suggestions, and the
synonym admin routes with their guards. Runs on SQLite and PostgreSQL (the catalogue lives in the database; the
embedded index is warmed from it by the search lifespan)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from search.text import DEFAULT_SYNONYMS
from shop.accounts.models import Role
from tests import factories as f
from tests.search import api_catalogue
from tests.search.api_catalogue import SearchCatalogue

cat, api = api_catalogue.cat, api_catalogue.api  # fixtures: the catalogue, the app started once indexed

GUFA, LAOJIANG, LIHE = "知味红 古法手工红糖", "知味红 老姜红糖块", "红糖出海 侨乡礼盒"
DUANMU, HUAGU = "庆元椴木香菇", "庆元花菇 特级"


async def search(client: AsyncTestClient[Litestar], **params: Any) -> dict[str, Any]:
    response = await client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def titles(body: dict[str, Any]) -> list[str]:
    return [h["title"] for h in body["hits"]]


def error_fields(response: Any) -> list[str]:
    return [str(e["field"]) for e in response.json()["errors"]]


async def test_search_answers_hits_total_facets_and_time(api: AsyncTestClient[Litestar], cat: SearchCatalogue) -> None:
    # When a buyer searches 红糖
    body = await search(api, q="红糖")
    # Then the three red sugar products come back with the documented shape
    assert {"hits", "total", "facets", "took_ms"} <= set(body)
    assert body["total"] == 3
    assert sorted(titles(body)) == sorted([GUFA, LAOJIANG, LIHE])
    assert isinstance(body["took_ms"], float) and 0 <= body["took_ms"] < 1000
    by_title = {h["title"]: h for h in body["hits"]}
    gufa = by_title[GUFA]
    assert (gufa["id"], gufa["price_fen"], gufa["in_stock"]) == (cat.gufa.product.id, 3800, True)
    assert gufa["highlight"] == "知味红 古法手工<em>红糖</em>"
    assert by_title[LIHE]["highlight"] == "<em>红糖</em>出海 侨乡礼盒"
    # And the facet counts are exact
    qiaoxiang, qingtian = str(cat.qiaoxiang.id), str(cat.qingtian.id)
    assert body["facets"] == {
        "family": {qiaoxiang: 3},
        "brand": {qiaoxiang: 3},
        "workshop_type": {"overseas_chinese_aided": 3},
        "county": {qingtian: 3},
        "stars": {"5": 3},
        "price_band": {"20_50": 2, "100_200": 1},
        "in_stock": {"true": 2, "false": 1},
        "live_now": {"false": 3},
    }
    assert body["facet_labels"]["family"] == {qiaoxiang: "侨乡优品"}
    assert body["facet_labels"]["county"] == {qingtian: "青田县"}
    assert body["facet_labels"]["price_band"] == {"20_50": "20–50元", "100_200": "100–200元"}
    assert body["facet_labels"]["in_stock"] == {"true": "有货", "false": "无货"}


async def test_pinyin_initials_typos_and_traditional_reach_the_same_products(api: AsyncTestClient[Litestar]) -> None:
    for q in ("hongtang", "ht", "hontang", "紅糖"):
        assert sorted(titles(await search(api, q=q))) == sorted([GUFA, LAOJIANG, LIHE]), q
    for q in ("xianggu", "xg", "香菇", "冬菇"):
        assert sorted(titles(await search(api, q=q))) == sorted([DUANMU, HUAGU]), q
    # The sub-brand is found by its public name too
    assert sorted(titles(await search(api, q="lssg"))) == sorted([DUANMU, HUAGU])


async def test_facets_are_disjunctive_and_filters_narrow(api: AsyncTestClient[Litestar], cat: SearchCatalogue) -> None:
    # Given the whole catalogue filtered to what is in stock
    body = await search(api, in_stock="true")
    # Then the out-of-stock product is gone, yet the in_stock facet still counts it (disjunctive)
    assert body["total"] == 4 and LAOJIANG not in titles(body)
    assert body["facets"]["in_stock"] == {"true": 4, "false": 1}
    assert body["facets"]["family"] == {str(cat.qiaoxiang.id): 2, str(cat.lishui.id): 2}
    # A family includes its sub-brands; a brand filter includes its own sub-brands
    assert sorted(titles(await search(api, family=cat.lishui.id))) == sorted([DUANMU, HUAGU])
    assert sorted(titles(await search(api, brand=cat.lishui.id))) == sorted([DUANMU, HUAGU])
    # Counties, price bands (OR within the filter), stars and workshop types
    assert titles(await search(api, q="xianggu", county=cat.qingyuan.id, price_band="lt20")) == [HUAGU]
    both = await search(api, price_band=["lt20", "100_200"], sort="price_asc")
    assert titles(both) == [HUAGU, LIHE]
    assert sorted(titles(await search(api, stars_min=5))) == sorted([GUFA, LAOJIANG, LIHE])
    assert sorted(titles(await search(api, workshop_type="brand_led"))) == sorted([DUANMU, HUAGU])
    # Filters AND together: nothing is both in 庆元 and a 红糖
    empty = await search(api, q="红糖", county=cat.qingyuan.id)
    assert (empty["total"], empty["hits"]) == (0, [])


async def test_sorts_and_pages(api: AsyncTestClient[Litestar]) -> None:
    # Sorted by price, two to a page
    first = await search(api, q="红糖", sort="price_asc", per_page=2, page=1)
    second = await search(api, q="红糖", sort="price_asc", per_page=2, page=2)
    beyond = await search(api, q="红糖", sort="price_asc", per_page=2, page=3)
    assert (titles(first), first["total"], first["page"], first["per_page"]) == ([LAOJIANG, GUFA], 3, 1, 2)
    assert (titles(second), second["total"]) == ([LIHE], 3)
    assert (titles(beyond), beyond["total"]) == ([], 3)
    assert titles(await search(api, q="红糖", sort="price_desc")) == [LIHE, GUFA, LAOJIANG]
    everything = await search(api, sort="price_asc")
    assert [h["price_fen"] for h in everything["hits"]] == [1500, 2980, 3800, 5800, 12800]
    rated = await search(api, sort="rating")
    assert [h["stars"] for h in rated["hits"]] == [5, 5, 5, 4, 4]


BAD_PARAMETERS: list[tuple[dict[str, Any], int, str]] = [
    ({"sort": "cheap"}, 400, "sort"),
    ({"per_page": 1000}, 400, "per_page"),
    ({"per_page": 0}, 400, "per_page"),
    ({"page": 0}, 400, "page"),
    ({"stars_min": 9}, 400, "stars_min"),
    ({"in_stock": "maybe"}, 400, "in_stock"),
    ({"county": "qingtian"}, 400, "county"),
    ({"q": "红" * 101}, 400, "q"),
    ({"price_band": "cheap"}, 422, "price_band"),
    ({"workshop_type": "factory"}, 422, "workshop_type"),
    ({"page": 200, "per_page": 100}, 422, "page"),  # beyond the first 10,000 results
]


async def test_bad_parameters_are_refused_naming_the_field(api: AsyncTestClient[Litestar]) -> None:
    for params, status, field in BAD_PARAMETERS:
        response = await api.get("/api/search", params=params)
        assert response.status_code == status, (params, response.text)
        assert field in error_fields(response), (params, response.text)
    # Workshops validate the same way
    response = await api.get("/api/search/workshops", params={"sort": "price_asc"})
    assert response.status_code == 400 and "sort" in error_fields(response)


async def test_suggestions_complete_pinyin_to_words_brands_and_products(api: AsyncTestClient[Litestar]) -> None:
    response = await api.get("/api/search/suggest", params={"q": "hon"})
    assert response.status_code == 200
    body = response.json()
    assert body["q"] == "hon"
    suggestions = [(s["text"], s["kind"]) for s in body["suggestions"]]
    assert ("红糖", "keyword") in suggestions
    assert {s["text"] for s in body["suggestions"] if s["kind"] == "product"} <= {GUFA, LAOJIANG, LIHE}
    assert len(body["suggestions"]) <= 8
    # Initials of the public brand name suggest the brand
    brands = (await api.get("/api/search/suggest", params={"q": "lssg"})).json()["suggestions"]
    assert ("丽水山耕", "brand") in [(s["text"], s["kind"]) for s in brands]
    # A limit, and bad input named
    limited = (await api.get("/api/search/suggest", params={"q": "hon", "limit": 2})).json()
    assert len(limited["suggestions"]) == 2
    missing = await api.get("/api/search/suggest")
    assert missing.status_code == 400 and "'q'" in missing.json()["detail"]
    too_many = await api.get("/api/search/suggest", params={"q": "hon", "limit": 21})
    assert too_many.status_code == 400 and "limit" in error_fields(too_many)


async def test_workshop_search(api: AsyncTestClient[Litestar], cat: SearchCatalogue) -> None:
    response = await api.get("/api/search/workshops", params={"q": "hongtang"})
    assert response.status_code == 200
    body = response.json()
    assert [h["name"] for h in body["hits"]] == ["知味红·红糖工坊"]
    assert body["hits"][0]["highlight"] == "知味红·<em>红糖</em>工坊"
    everything = (await api.get("/api/search/workshops", params={"sort": "rating"})).json()
    assert [h["name"] for h in everything["hits"]] == ["知味红·红糖工坊", "庆元香菇共富工坊"]
    assert everything["facets"]["county"] == {str(cat.qingtian.id): 1, str(cat.qingyuan.id): 1}


async def test_admin_edits_synonyms_and_the_next_query_uses_them(
    api: AsyncTestClient[Litestar], cat: SearchCatalogue
) -> None:
    admin = f.auth(cat.admin)
    # Given the default groups, in which 蘑菇 is no synonym of 香菇
    listed = await api.get("/api/admin/search/synonyms", headers=admin)
    assert listed.status_code == 200
    assert listed.json()["groups"] == [list(g) for g in DEFAULT_SYNONYMS]
    assert (await search(api, q="蘑菇"))["total"] == 0
    # When an admin adds 香菇 = 蘑菇
    groups = [["香菇", "蘑菇"], ["番薯", "红薯", "地瓜"]]
    saved = await api.put("/api/admin/search/synonyms", json={"groups": groups}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"groups": groups}
    # Then 蘑菇, in Chinese or pinyin, finds the mushrooms at once, without a reindex
    assert sorted(titles(await search(api, q="蘑菇"))) == sorted([DUANMU, HUAGU])
    assert sorted(titles(await search(api, q="mogu"))) == sorted([DUANMU, HUAGU])
    # And the groups are stored: replacing them drops 冬菇 (no longer a group), an empty list restores the defaults
    assert (await api.get("/api/admin/search/synonyms", headers=admin)).json() == {"groups": groups}
    assert (await search(api, q="冬菇"))["total"] == 0
    restored = await api.put("/api/admin/search/synonyms", json={"groups": []}, headers=admin)
    assert restored.json()["groups"] == [list(g) for g in DEFAULT_SYNONYMS]
    assert (await search(api, q="蘑菇"))["total"] == 0


async def test_bad_synonym_groups_are_refused_and_change_nothing(
    api: AsyncTestClient[Litestar], cat: SearchCatalogue
) -> None:
    admin = f.auth(cat.admin)
    groups = [["香菇", "蘑菇"]]
    assert (await api.put("/api/admin/search/synonyms", json={"groups": groups}, headers=admin)).status_code == 200
    for bad, field in (([["香菇", "蘑菇"], ["红糖"]], "groups[1]"), ([["红糖", "红糖 "]], "groups[0]")):
        response = await api.put("/api/admin/search/synonyms", json={"groups": bad}, headers=admin)
        assert response.status_code == 422, response.text
        assert field in error_fields(response)
    assert (await api.get("/api/admin/search/synonyms", headers=admin)).json() == {"groups": groups}
    assert sorted(titles(await search(api, q="蘑菇"))) == sorted([DUANMU, HUAGU])


async def test_synonym_routes_are_for_centre_admins_only(
    api: AsyncTestClient[Litestar], cat: SearchCatalogue, session: AsyncSession
) -> None:
    manager = await f.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[cat.sugar_workshop.id])
    await session.commit()
    body = {"groups": [["香菇", "蘑菇"]]}
    for headers, status in (({}, 401), (f.auth(cat.buyer), 403), (f.auth(manager), 403)):
        assert (await api.get("/api/admin/search/synonyms", headers=headers)).status_code == status
        assert (await api.put("/api/admin/search/synonyms", json=body, headers=headers)).status_code == status
    # Nothing changed: the defaults still apply
    groups = (await api.get("/api/admin/search/synonyms", headers=f.auth(cat.admin))).json()["groups"]
    assert groups == [list(g) for g in DEFAULT_SYNONYMS]
    assert (await search(api, q="蘑菇"))["total"] == 0
    # Search itself is public
    assert (await api.get("/api/search", params={"q": "红糖"})).status_code == 200
