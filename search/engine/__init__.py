"""Search backends behind one interface (:class:`search.engine.base.SearchEngine`)."""

from __future__ import annotations

from search.engine.base import IndexSpec, SearchEngine
from search.engine.embedded import EmbeddedEngine
from search.engine.fallback import FallbackEngine
from search.engine.meili import MeiliEngine
from search.text import Analyzer
from shop.settings import Settings


def build_engine(spec: IndexSpec, settings: Settings, analyzer: Analyzer) -> SearchEngine:
    """The configured backend for one index: embedded, or Meilisearch with the embedded engine as fallback."""
    embedded = EmbeddedEngine(spec, analyzer)
    if settings.search.backend != "meilisearch":
        return embedded
    meili = MeiliEngine(
        spec,
        analyzer,
        url=settings.meilisearch.url,
        api_key=settings.meilisearch.api_key,
        index_prefix=settings.meilisearch.index_prefix,
        timeout=settings.meilisearch.timeout_seconds,
    )
    return FallbackEngine(meili, embedded)
