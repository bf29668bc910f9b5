"""When the configured backend fails, search answers from the embedded engine and reports itself degraded."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from search.engine.base import PRODUCT_SPEC, SearchQuery, SearchUnavailable
from search.engine.embedded import EmbeddedEngine
from search.engine.fallback import FallbackEngine
from search.engine.meili import MeiliEngine
from search.text import Analyzer
from tests.search.factories import catalogue_docs, product_doc
from tests.search.meili_standin import MeiliStandIn


@pytest.fixture
async def fallback(standin: MeiliStandIn, analyzer: Analyzer) -> FallbackEngine:
    meili = MeiliEngine(PRODUCT_SPEC, analyzer, url=standin.url, timeout=0.5)
    engine = FallbackEngine(meili, EmbeddedEngine(PRODUCT_SPEC, analyzer), cooldown=60)
    await engine.rebuild(catalogue_docs())
    return engine


async def test_healthy_primary_answers(fallback: FallbackEngine) -> None:
    result = await fallback.search(SearchQuery(q="红糖"))
    assert (result.backend, result.degraded, [h["id"] for h in result.hits]) == ("meilisearch", False, [1])
    assert await fallback.health() == "ok"


async def test_down_primary_falls_back_with_a_warning_and_degraded_health(
    fallback: FallbackEngine, standin: MeiliStandIn
) -> None:
    # Given Meilisearch goes down
    standin.down = True
    # When a buyer searches in pinyin (which the embedded engine understands)
    with capture_logs() as logs:
        result = await fallback.search(SearchQuery(q="hongtang"))
        again = await fallback.search(SearchQuery(q="红糖"))
    # Then the embedded engine answers, marked degraded, and a warning is logged
    assert (result.backend, result.degraded, [h["id"] for h in result.hits]) == ("embedded", True, [1])
    assert [h["id"] for h in again.hits] == [1]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "search.backend_degraded",
        "search.answered_by_fallback",
        "search.answered_by_fallback",
    ]
    # And during the cooldown the dead server is not asked again
    assert len([r for r in standin.requests if r[1] == "/multi-search"]) == 1
    assert (await fallback.health()).startswith("degraded: meilisearch: MeilisearchApiError")
    # When it comes back, health recovers
    standin.down = False
    assert await fallback.health() == "ok"
    assert (await fallback.search(SearchQuery(q="红糖"))).backend == "meilisearch"


async def test_failed_write_reaches_the_embedded_copy_and_is_raised_for_retry(
    fallback: FallbackEngine, standin: MeiliStandIn
) -> None:
    standin.down = True
    with pytest.raises(SearchUnavailable, match="upsert not applied to meilisearch"):
        await fallback.upsert([product_doc(9, "松阳红糖", county_id=13)])
    result = await fallback.search(SearchQuery(q="松阳红糖"))
    assert result.degraded
    assert [h["id"] for h in result.hits] == [9]
    # Nothing reached the primary
    standin.down = False
    assert 9 not in await fallback.document_versions()
