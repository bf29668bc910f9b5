"""Meilisearch backend through the official ``meilisearch`` client.

The client is synchronous (``requests``): every call runs in a worker thread with the client's own timeout plus an
overall deadline, and any failure becomes :class:`SearchUnavailable` so the fallback wrapper can answer instead.

What we add on top of Meilisearch's own Chinese support: the document carries our segmentation (``search_words``,
so brand names split as our user dictionary says) and the full pinyin and initials of its words (``search_pinyin``,
``search_initials``), because Meilisearch does not match ``hongtang`` or ``ht`` to 红糖 by itself. The query is
normalised as the embedded engine does (traditional → simplified, full-width → half-width). Facet counts are
disjunctive like the embedded engine's: one ``multi-search`` request carries the main query plus one facet-only
query per filtered facet.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import meilisearch
import requests
import structlog
from meilisearch.errors import MeilisearchApiError, MeilisearchError

from search.engine.base import IndexSpec, SearchQuery, SearchResult, SearchUnavailable, Suggestion
from search.text import Analyzer, normalise

log = structlog.get_logger(__name__)
T = TypeVar("T")

_PRE, _POST = "\x02", "\x03"  # sentinels: Meilisearch does not escape HTML, so we escape around them
BATCH = 1_000
TASK_TIMEOUT_MS = 30_000


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class MeiliEngine:
    name = "meilisearch"

    def __init__(
        self,
        spec: IndexSpec,
        analyzer: Analyzer,
        *,
        url: str,
        api_key: str | None = None,
        index_prefix: str = "hub_",
        timeout: float = 2.0,
        extra_dictionary: Sequence[str] = (),
    ) -> None:
        self.spec = spec
        self.analyzer = analyzer
        self.uid = f"{index_prefix}{spec.uid}"
        self.timeout = timeout
        # The client's timeout bounds each HTTP call; our deadline also bounds the thread hop and retries.
        self.client = meilisearch.Client(url, api_key, timeout=timeout)  # type: ignore[arg-type]
        self.extra_dictionary = list(extra_dictionary)
        self._ready = False

    # ----------------------------------------------------------------- plumbing

    async def _call(self, fn: Callable[..., T], *args: Any, deadline: float | None = None, **kwargs: Any) -> T:
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), deadline or self.timeout + 0.5)
        except (TimeoutError, MeilisearchError, requests.RequestException, OSError) as exc:
            raise SearchUnavailable(f"meilisearch: {type(exc).__name__}: {exc}"[:300]) from exc

    def _wait(self, task_uid: int, *, benign: frozenset[str] = frozenset()) -> None:
        """Wait for a task; a failure whose error code is in `benign` counts as done."""
        task = self.client.wait_for_task(task_uid, timeout_in_ms=TASK_TIMEOUT_MS, interval_in_ms=20)
        if task.status == "succeeded":
            return
        code = task.error.get("code") if isinstance(task.error, dict) else None
        if code in benign:
            return
        raise SearchUnavailable(f"meilisearch task {task_uid} {task.status}: {task.error}")

    # ----------------------------------------------------------------- settings and documents

    def settings(self) -> dict[str, Any]:
        """Index settings, derived from the spec and the current synonyms and dictionary."""
        searchable: list[str] = []
        for tf in self.spec.text_fields:
            searchable.append(tf.name)
            if tf.name == self.spec.highlight_field:
                # Right after the title: our segmentation of it, then its pinyin and initials.
                searchable += ["search_words", "search_pinyin", "search_initials"]
        dictionary = sorted(set(self.analyzer.segmenter.user_words).union(self.extra_dictionary))
        return {
            "searchableAttributes": searchable,
            "filterableAttributes": [*self.spec.facets, "id"],
            "sortableAttributes": list(self.spec.numeric_fields),
            "displayedAttributes": ["*"],
            "rankingRules": [
                "words",
                "typo",
                "proximity",
                "attribute",
                "sort",
                "exactness",
                *(f"{f}:desc" for f in (self.spec.boost_stars_field, self.spec.boost_sales_field) if f),
            ],
            "synonyms": self.analyzer.synonyms.mapping(),
            "typoTolerance": {
                "enabled": True,
                "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
                "disableOnAttributes": ["search_initials"],
            },
            "dictionary": dictionary,
            "localizedAttributes": [
                {"attributePatterns": [tf.name for tf in self.spec.text_fields] + ["search_words"], "locales": ["cmn"]}
            ],
            "pagination": {"maxTotalHits": 100_000},
            "faceting": {"maxValuesPerFacet": 200},
        }

    def to_meili(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """The document plus our segmentation and pinyin of its matching fields."""
        out = dict(doc)
        texts: list[str] = []
        for tf in self.spec.text_fields:
            if not tf.pinyin:
                continue
            value = doc.get(tf.name)
            texts.extend(str(v) for v in (value if isinstance(value, list) else [value]) if v)
        joined = " ".join(texts)
        out["search_words"] = self.analyzer.segmented(joined)
        out["search_pinyin"], out["search_initials"] = self.analyzer.pinyin_text(joined)
        return out

    async def ensure_index(self, uid: str | None = None) -> None:
        uid = uid or self.uid

        def run() -> None:
            try:
                self.client.get_index(uid)
            except MeilisearchApiError as exc:
                if exc.code != "index_not_found":
                    raise
                # Another process (the app and its worker start together) may create it first: that is success.
                self._wait(
                    self.client.create_index(uid, {"primaryKey": "id"}).task_uid,
                    benign=frozenset({"index_already_exists"}),
                )
            self._wait(self.client.index(uid).update_settings(self.settings()).task_uid)

        await self._call(run, deadline=TASK_TIMEOUT_MS / 1000)
        if uid == self.uid:
            self._ready = True

    async def apply_settings(self) -> None:
        """Push the current synonyms/dictionary (after an admin edit)."""
        await self.ensure_index()

    async def _ensure_ready(self) -> None:
        if not self._ready:
            await self.ensure_index()

    async def upsert(self, docs: Sequence[Mapping[str, Any]]) -> None:
        if not docs:
            return
        await self._ensure_ready()
        payload = [self.to_meili(d) for d in docs]

        def run() -> None:
            index = self.client.index(self.uid)
            for i in range(0, len(payload), BATCH):
                self._wait(index.add_documents(payload[i : i + BATCH], primary_key="id").task_uid)

        await self._call(run, deadline=TASK_TIMEOUT_MS / 1000)

    async def delete(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        await self._ensure_ready()

        def run() -> None:
            self._wait(self.client.index(self.uid).delete_documents(ids=[int(i) for i in ids]).task_uid)

        await self._call(run, deadline=TASK_TIMEOUT_MS / 1000)

    async def rebuild(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """Build a fresh index beside the live one and swap them atomically: searches never see a half index."""
        staging = f"{self.uid}__rebuild"
        await self._call(self._drop, staging, deadline=TASK_TIMEOUT_MS / 1000)
        await self.ensure_index(self.uid)
        await self.ensure_index(staging)
        payload = [self.to_meili(d) for d in docs]

        def run() -> None:
            index = self.client.index(staging)
            for i in range(0, len(payload), BATCH):
                self._wait(index.add_documents(payload[i : i + BATCH], primary_key="id").task_uid)
            self._wait(self.client.swap_indexes([{"indexes": [self.uid, staging]}]).task_uid)
            self._drop(staging)

        await self._call(run, deadline=max(60.0, len(payload) / 500))

    def _drop(self, uid: str) -> None:
        try:
            self._wait(self.client.delete_index(uid).task_uid)
        except MeilisearchApiError as exc:
            if exc.code != "index_not_found":
                raise

    # ----------------------------------------------------------------- reads

    def _filter(self, query: SearchQuery, skip: str | None = None) -> list[str]:
        clauses: list[str] = []
        for name, values in query.filters.items():
            if name == skip or name not in self.spec.facets or not values:
                continue
            clauses.append(f"{name} IN [{', '.join(_literal(v) for v in values)}]")
        for name, minimum in query.minimums.items():
            if name != skip:
                clauses.append(f"{name} >= {int(minimum)}")
        return clauses

    def search_requests(self, query: SearchQuery) -> list[dict[str, Any]]:
        """The multi-search queries for one search: the main one, then one per filtered facet (disjunctive)."""
        q = normalise(query.q).strip()
        filtered = {n for n, v in query.filters.items() if v} | set(query.minimums)
        own = [f for f in query.facets if f not in filtered]
        limit = max(0, query.limit)
        main: dict[str, Any] = {
            "indexUid": self.uid,
            "q": q,
            "filter": self._filter(query),
            "facets": own,
            "hitsPerPage": limit,
            "page": query.offset // limit + 1 if limit else 1,
            "attributesToRetrieve": list(self.spec.hit_fields),
            "attributesToHighlight": [self.spec.highlight_field],
            "highlightPreTag": _PRE,
            "highlightPostTag": _POST,
        }
        if query.sort in self.spec.sorts:
            field_name, descending = self.spec.sorts[query.sort]
            main["sort"] = [f"{field_name}:{'desc' if descending else 'asc'}"]
        requests_ = [main]
        for facet in query.facets:
            if facet in filtered:
                requests_.append(
                    {
                        "indexUid": self.uid,
                        "q": q,
                        "filter": self._filter(query, skip=facet),
                        "facets": [facet],
                        "hitsPerPage": 0,
                        "page": 1,
                    }
                )
        return requests_

    async def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        await self._ensure_ready()
        body = self.search_requests(query)
        response = await self._call(self.client.multi_search, body)
        results = response["results"]
        main = results[0]
        facets: dict[str, dict[str, int]] = {}
        for result in results:
            for name, counts in (result.get("facetDistribution") or {}).items():
                if name in query.facets:
                    facets[name] = dict(
                        sorted(((str(k), int(v)) for k, v in counts.items() if v), key=lambda p: (-p[1], p[0]))
                    )
        hits = []
        for raw in main.get("hits", []):
            hit = {k: raw.get(k) for k in self.spec.hit_fields}
            formatted = (raw.get("_formatted") or {}).get(self.spec.highlight_field)
            text = formatted if isinstance(formatted, str) else str(raw.get(self.spec.highlight_field) or "")
            hit["highlight"] = html.escape(text).replace(_PRE, "<em>").replace(_POST, "</em>")
            hits.append(hit)
        total = int(main.get("totalHits", main.get("estimatedTotalHits", len(hits))))
        return SearchResult(
            hits=hits,
            total=total,
            facets={f: facets.get(f, {}) for f in query.facets},
            backend=self.name,
            took_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    async def suggest(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        if not prefix.strip() or limit <= 0:
            return []
        result = await self.search(SearchQuery(q=prefix, limit=limit))
        field_name = self.spec.highlight_field
        return [
            Suggestion(text=str(h.get(field_name) or ""), kind="product", count=1, id=int(h["id"])) for h in result.hits
        ]

    async def health(self) -> str:
        status = await self._call(self.client.health)
        return "ok" if status.get("status") == "available" else f"unavailable: {status}"

    async def count(self) -> int:
        stats = await self._call(lambda: self.client.index(self.uid).get_stats())
        return int(stats.number_of_documents)

    async def document_versions(self) -> dict[int, str]:
        def run() -> dict[int, str]:
            out: dict[int, str] = {}
            offset = 0
            index = self.client.index(self.uid)
            while True:
                page = index.get_documents({"fields": ["id", "version"], "limit": BATCH, "offset": offset})
                for doc in page.results:
                    data = dict(doc)
                    out[int(data["id"])] = str(data.get("version", ""))
                offset += BATCH
                if offset >= page.total:
                    return out

        return await self._call(run, deadline=60.0)
