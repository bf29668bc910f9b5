"""The embedded search engine: in-process, no server, the default backend.

Design: an inverted index in numpy (see :mod:`search.engine.segment`) with a large main segment and a small delta
segment that absorbs incremental upserts; the delta merges into the main at array level when it grows. Readers take
one immutable snapshot (``self._state``) and never lock; writers serialise on an ``asyncio.Lock`` and run heavy
builds in a worker thread, then swap the snapshot in one assignment.

Matching, per query token (a CJK word from jieba, or a Latin/pinyin word):
exact term > synonym > CJK bigram conjunction (the word as a substring when segmentation differs) > prefix (as you
type) > pinyin split into words (``lishuihongtang``) > one typo > two typos > split into single syllables >
homophone (a CJK word typed with the wrong character of the same pinyin). A document's token score is the best
(quality × field weight); documents must match as many tokens as the best document does (coverage), then rank
with fewer tokens matched only by a typo first (as Meilisearch's ``typo`` rule), then by the summed scores plus
a small boost by stars and sales.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from search.engine.base import IndexSpec, SearchQuery, SearchResult, Suggestion
from search.engine.segment import (
    KIND_BRAND,
    KIND_PINYIN,
    KIND_WORD,
    KIND_WORKSHOP,
    FacetCodes,
    Segment,
    build_segment,
    empty_segment,
    memory_bytes,
    merge_segments,
)
from search.highlight import highlight
from search.text import Analyzer, allowed_typos, is_cjk, normalise, word_pinyin

# Match quality by kind of match; multiplied by the field weight.
Q_EXACT, Q_SYNONYM, Q_NGRAM, Q_PREFIX = 1.0, 0.95, 0.85, 0.8
Q_SPLIT, Q_TYPO1, Q_TYPO2, Q_HOMOPHONE = 0.75, 0.6, 0.5, 0.5
MAX_TOKENS = 10
MAX_PREFIX_TERMS = 40
MAX_TYPO_TERMS = 20
INLINE_BUILD_DOCS = 200  # below this, build in the event loop thread (faster than a thread hop)
DELTA_MIN_DOCS = 2_000
COVERAGE_WEIGHT = 100.0
# Per token matched only with a typo: below every document that matched it as typed (one token scores ≤ 10 + the
# stars/sales boost), above every document that missed a token (coverage first).
TYPO_PENALTY = 20.0


@dataclass(frozen=True)
class _State:
    codes: FacetCodes
    main: Segment
    delta: Segment

    @property
    def segments(self) -> tuple[Segment, Segment]:
        return self.main, self.delta


@dataclass
class _Token:
    text: str
    cjk: bool
    last: bool
    synonyms: tuple[str, ...] = ()


@dataclass
class _Matched:
    terms: set[str] = field(default_factory=set)


def _score_term(seg: Segment, scores: np.ndarray, term: str, quality: float, matched: _Matched) -> bool:
    found = seg.term_postings(term)
    if found is None or not len(found[0]):
        return False
    docs, weights = found
    scores[docs] = np.maximum(scores[docs], weights.astype(np.float32) * np.float32(quality))
    matched.terms.add(term)
    return True


def _score_conjunction(seg: Segment, scores: np.ndarray, parts: Sequence[str], quality: float) -> bool:
    """Documents holding every part (n-grams of a CJK word, or the pieces of a run-together pinyin)."""
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for part in dict.fromkeys(parts):
        postings = seg.term_postings(part)
        if postings is None or not len(postings[0]):
            return False
        found.append(postings)
    if not found:
        return False
    found.sort(key=lambda f: len(f[0]))
    docs, weights = found[0]
    weight = weights.astype(np.float32)
    for other_docs, other_weights in found[1:]:
        member = np.zeros(seg.n, dtype=bool)
        member[other_docs] = True
        per_doc = np.zeros(seg.n, dtype=np.float32)
        per_doc[other_docs] = other_weights
        keep = member[docs]
        docs, weight = docs[keep], np.minimum(weight[keep], per_doc[docs[keep]])
        if not len(docs):
            return False
    scores[docs] = np.maximum(scores[docs], weight * np.float32(quality))
    return True


def _split_latin(seg: Segment, text: str) -> list[str] | None:
    """Fewest known Latin terms (≥ 2 letters) that spell ``text``: ``lishuihongtang`` → lishui + hongtang."""
    n = len(text)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(n, i + 1, -1):
            piece = text[i:j]
            if piece in seg.term_index and (best[j] is None or len(best[j]) > len(best[i]) + 1):  # type: ignore[arg-type]
                best[j] = [*best[i], piece]  # type: ignore[misc]
    result = best[n]
    return result if result and len(result) > 1 else None


def _split_is_words(seg: Segment, parts: Sequence[str]) -> bool:
    """A split into word pinyin (``lishui`` + ``hongtang``) is strong evidence; one into single syllables
    (``yan`` + ``mei`` of unrelated characters) is weaker than a typo of a real word (``yangmei``)."""
    return all(int(seg.term_kind[seg.term_index[p]]) >= KIND_PINYIN and len(p) >= 4 for p in parts)


def _token_scores(seg: Segment, tok: _Token, matched: _Matched) -> tuple[np.ndarray, np.ndarray | None]:
    """Per document, the token's best score, and which documents matched it only by a typo (or a split into
    syllables): those rank after every document that matched it as typed, as Meilisearch's ``typo`` rule does."""
    scores = np.zeros(seg.n, dtype=np.float32)
    if not seg.n:
        return scores, None
    text = tok.text
    if tok.cjk:
        hit = _score_term(seg, scores, text, Q_EXACT, matched)
        for word in tok.synonyms:
            hit |= _score_term(seg, scores, word, Q_SYNONYM, matched)
        for word in (text, *tok.synonyms):
            # A longer word may be segmented differently in a document: accept it as a run of its bigrams.
            if len(word) >= 3:
                grams = [word[i : i + 2] for i in range(len(word) - 1)]
                if _score_conjunction(seg, scores, grams, Q_NGRAM if word == text else Q_NGRAM * Q_SYNONYM):
                    hit = True
                    matched.terms.add(word)
        if not hit:
            _score_term(seg, scores, word_pinyin(text)[0], Q_HOMOPHONE, matched)
        return scores, None
    exact = _score_term(seg, scores, text, Q_EXACT, matched)
    for word in tok.synonyms:
        exact |= _score_term(seg, scores, word, Q_SYNONYM, matched)
    prefixed = False
    if tok.last or not exact:
        lo, hi = seg.prefix_range(text)
        if hi - lo > MAX_PREFIX_TERMS:
            dfs = seg.offsets[lo + 1 : hi + 1] - seg.offsets[lo:hi]
            picks = np.argpartition(-dfs, MAX_PREFIX_TERMS)[:MAX_PREFIX_TERMS] + lo
        else:
            picks = np.arange(lo, hi)
        for tid in picks.tolist():
            term = seg.vocab[tid]
            if term != text:
                prefixed |= _score_term(seg, scores, term, Q_PREFIX, matched)
    parts = _split_latin(seg, text) if not exact and not prefixed and len(text) >= 4 else None
    if parts and _split_is_words(seg, parts) and _score_conjunction(seg, scores, parts, Q_SPLIT):
        matched.terms.update(parts)
        return scores, None
    fuzzy = np.zeros(seg.n, dtype=np.float32)
    typo_hit = False
    budget = allowed_typos(text)
    if budget and text.isalpha():
        candidates: list[str] = []
        for length in range(len(text) - budget, len(text) + budget + 1):
            candidates.extend(seg.latin_by_len.get(length, ()))
        found = process.extract(text, candidates, scorer=OSA.distance, score_cutoff=budget, limit=MAX_TYPO_TERMS)
        for term, distance, _ in found:
            if term != text:
                typo_hit |= _score_term(seg, fuzzy, term, Q_TYPO1 if distance <= 1 else Q_TYPO2, matched)
    if parts and not typo_hit and _score_conjunction(seg, fuzzy, parts, Q_SPLIT):
        matched.terms.update(parts)
    only_fuzzy = (scores == 0) & (fuzzy > 0)
    if not only_fuzzy.any():
        return np.maximum(scores, fuzzy), None
    return np.maximum(scores, fuzzy), only_fuzzy


def _add_counts(acc: np.ndarray | None, counts: np.ndarray) -> np.ndarray:
    if acc is None:
        return counts
    if len(acc) < len(counts):  # a concurrent build may have added facet values between the two segments
        acc = np.pad(acc, (0, len(counts) - len(acc)))
    acc[: len(counts)] += counts
    return acc


class EmbeddedEngine:
    """In-process search over one index. Safe for concurrent coroutines of one event loop."""

    name = "embedded"

    def __init__(self, spec: IndexSpec, analyzer: Analyzer) -> None:
        self.spec = spec
        self.analyzer = analyzer
        codes = FacetCodes(spec)
        empty = empty_segment(spec, analyzer, codes)
        self._state = _State(codes, empty, empty)
        self._locations: dict[int, tuple[int, int]] = {}  # doc id → (segment no, index); writers only
        self._lock = asyncio.Lock()

    # ----------------------------------------------------------------- reads

    async def search(self, query: SearchQuery) -> SearchResult:
        return self.search_sync(query)

    def search_sync(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        state = self._state
        tokens = self._plan(query.q)
        matched = _Matched()
        evaluated = [self._match(seg, tokens, matched) if tokens else None for seg in state.segments]
        best_coverage = 0
        if tokens:
            for seg, ev in zip(state.segments, evaluated, strict=True):
                if ev is not None and seg.n:
                    best_coverage = max(best_coverage, int(np.max(ev[0], where=seg.alive, initial=0)))
            if best_coverage == 0:
                return SearchResult(
                    hits=[],
                    total=0,
                    facets={f: {} for f in query.facets},
                    backend=self.name,
                    took_ms=round((time.perf_counter() - started) * 1000, 3),
                )
        facet_counts: dict[str, np.ndarray] = {}
        candidates: list[tuple[float, int, int, int]] = []  # (key, id, segment no, index)
        total = 0
        want = max(0, query.offset) + max(0, query.limit)
        for seg_no, (seg, ev) in enumerate(zip(state.segments, evaluated, strict=True)):
            if not seg.n:
                continue
            # Everything below works on the matched documents' indices, so its cost follows the result size.
            idx = np.flatnonzero(seg.alive if ev is None else (ev[0] >= best_coverage) & seg.alive)
            masks = self._filter_masks(seg, state.codes, query, idx)
            keep = np.ones(len(idx), dtype=bool)
            for mask in masks.values():
                keep &= mask
            final = idx[keep] if masks else idx
            for facet in query.facets:
                column = seg.facet_cols.get(facet)
                if column is None:
                    continue
                if facet in masks:  # disjunctive: this facet's own filter does not narrow its counts
                    scope = np.ones(len(idx), dtype=bool)
                    for name, mask in masks.items():
                        if name != facet:
                            scope &= mask
                    values = column[idx[scope]]
                else:
                    values = column[final]
                counts = np.bincount(values, minlength=len(state.codes.values[facet]))
                facet_counts[facet] = _add_counts(facet_counts.get(facet), counts)
            total += len(final)
            if not len(final) or not want:
                continue
            relevance = seg.boost[final].astype(np.float64)
            if ev is not None:
                relevance += ev[0][final] * COVERAGE_WEIGHT + ev[1][final]
            key = self._sort_key(seg, final, relevance, query.sort)
            chosen = final
            if len(final) > want:
                part = np.argpartition(key, want - 1)[:want]
                chosen, key = final[part], key[part]
            candidates.extend(
                zip(key.tolist(), seg.ids[chosen].tolist(), [seg_no] * len(chosen), chosen.tolist(), strict=True)
            )
        page = heapq.nsmallest(want, candidates)[query.offset :] if candidates else []
        hits = []
        for _key, _doc_id, seg_no, index in page:
            payload = state.segments[seg_no].payload(index)
            payload["highlight"] = highlight(
                str(payload.get(self.spec.highlight_field) or ""), matched.terms, self.analyzer
            )
            hits.append(payload)
        facets = {f: self._facet_dict(state.codes, f, facet_counts.get(f)) for f in query.facets}
        return SearchResult(
            hits=hits,
            total=total,
            facets=facets,
            backend=self.name,
            took_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _plan(self, q: str) -> list[_Token]:
        words = list(dict.fromkeys(self.analyzer.query_tokens(q)))[:MAX_TOKENS]
        synonyms = self.analyzer.synonyms
        return [_Token(w, is_cjk(w), i == len(words) - 1, synonyms.expand(w)) for i, w in enumerate(words)]

    @staticmethod
    def _match(seg: Segment, tokens: list[_Token], matched: _Matched) -> tuple[np.ndarray, np.ndarray]:
        coverage = np.zeros(seg.n, dtype=np.int8)
        total = np.zeros(seg.n, dtype=np.float32)
        for tok in tokens:
            scores, fuzzy = _token_scores(seg, tok, matched)
            coverage += scores > 0
            total += scores
            if fuzzy is not None:
                total[fuzzy] -= TYPO_PENALTY
        return coverage, total

    def _filter_masks(
        self, seg: Segment, codes: FacetCodes, query: SearchQuery, idx: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Per filter, which of the documents ``idx`` pass it (OR within the filter's values)."""
        masks: dict[str, np.ndarray] = {}
        for name, values in query.filters.items():
            if name not in seg.facet_cols or not values:
                continue
            wanted = [c for c in (codes.lookup(name, codes.coerce(name, v)) for v in values) if c is not None]
            column = seg.facet_cols[name][idx]
            if len(wanted) == 1:
                masks[name] = column == wanted[0]
            else:
                table = np.zeros(max(len(codes.values[name]), int(column.max(initial=0)) + 1), dtype=bool)
                table[wanted] = True
                masks[name] = table[column]
        for name, minimum in query.minimums.items():
            numeric = seg.numeric_cols.get(name)
            if numeric is None:
                continue
            mask = numeric[idx] >= int(minimum)
            masks[name] = masks[name] & mask if name in masks else mask
        return masks

    def _sort_key(self, seg: Segment, idx: np.ndarray, relevance: np.ndarray, sort: str) -> np.ndarray:
        """Smaller is better. A sort field first, relevance second (relevance is < 1e6 by construction)."""
        if sort in self.spec.sorts:
            field_name, descending = self.spec.sorts[sort]
            primary = seg.numeric_cols[field_name][idx].astype(np.float64) * 1e6
            return (-primary if descending else primary) - relevance
        return -relevance

    @staticmethod
    def _facet_dict(codes: FacetCodes, facet: str, counts: np.ndarray | None) -> dict[str, int]:
        if counts is None:
            return {}
        nonzero = np.flatnonzero(counts)
        pairs = sorted(((codes.label(facet, int(c)), int(counts[c])) for c in nonzero), key=lambda p: (-p[1], p[0]))
        return dict(pairs)

    async def suggest(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        return self.suggest_sync(prefix, limit)

    def suggest_sync(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        """Completions of what is typed: words, brands and workshops by prefix (Chinese or pinyin or initials),
        then the best products for it. ``hon`` → 红糖, 红茶 …; ``lssg`` → 丽水山耕."""
        text = normalise(prefix).strip().replace(" ", "")
        if not text or limit <= 0:
            return []
        state = self._state
        found: dict[str, list[int]] = {}  # display → [kind, count]
        for seg in state.segments:
            lo, hi = seg.prefix_range(text)
            if hi <= lo:
                continue
            dfs = seg.offsets[lo + 1 : hi + 1] - seg.offsets[lo:hi]
            picks = np.argsort(-dfs, kind="stable")[:200] + lo
            for tid in picks.tolist():
                term, kind, df = seg.vocab[tid], int(seg.term_kind[tid]), seg.df(tid)
                if not df:
                    continue
                if kind == KIND_PINYIN:
                    word = seg.pinyin_display.get(term)
                    if word is None:
                        continue
                    display = word[0]
                    # A brand or workshop name reached by its pinyin is still a brand (lssg → 丽水山耕).
                    own = seg.term_index.get(display)
                    kind = max(KIND_WORD, int(seg.term_kind[own])) if own is not None else KIND_WORD
                elif kind in (KIND_WORD, KIND_BRAND, KIND_WORKSHOP) and is_cjk(term) and len(term) > 1:
                    display = term
                else:
                    continue
                entry = found.setdefault(display, [kind, 0])
                entry[0] = max(entry[0], kind)
                entry[1] = max(entry[1], df)
        kinds = {KIND_WORD: "keyword", KIND_BRAND: "brand", KIND_WORKSHOP: "workshop"}
        ranked = sorted(found.items(), key=lambda kv: (-(kv[1][1] * (3 if kv[1][0] > KIND_WORD else 1)), kv[0]))
        keyword_slots = max(1, limit - min(3, limit // 2))
        out = [Suggestion(text=t, kind=kinds[k], count=c) for t, (k, c) in ranked[:keyword_slots]]
        products = self.search_sync(SearchQuery(q=prefix, limit=limit - len(out)))
        field_name = self.spec.highlight_field
        out.extend(
            Suggestion(text=str(h.get(field_name, "")), kind="product", count=1, id=int(h["id"])) for h in products.hits
        )
        return out[:limit]

    async def count(self) -> int:
        return sum(seg.live_count for seg in self._state.segments)

    async def document_versions(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for seg in self._state.segments:
            for i in np.flatnonzero(seg.alive).tolist():
                out[int(seg.ids[i])] = seg.versions[i]
        return out

    async def health(self) -> str:
        return "ok"

    def memory_bytes(self) -> int:
        return sum(memory_bytes(seg) for seg in self._state.segments)

    # ----------------------------------------------------------------- writes

    def _dictionary_words(self, docs: Sequence[Mapping[str, Any]]) -> set[str]:
        words: set[str] = set()
        for doc in docs:
            for name in self.spec.dictionary_fields:
                value = doc.get(name)
                for v in value if isinstance(value, list) else [value]:
                    if v and len(str(v)) <= 12:
                        words.add(str(v))
        return words

    async def _build(self, docs: Sequence[Mapping[str, Any]], codes: FacetCodes) -> Segment:
        if len(docs) <= INLINE_BUILD_DOCS:
            return build_segment(docs, self.spec, self.analyzer, codes)
        return await asyncio.to_thread(build_segment, docs, self.spec, self.analyzer, codes)

    async def rebuild(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """Replace the whole index. Searches keep answering from the old one until the new one is swapped in."""
        async with self._lock:
            unique = list({int(d["id"]): d for d in docs}.values())
            self.analyzer.add_user_words(self._dictionary_words(unique))
            codes = FacetCodes(self.spec)
            main = await self._build(unique, codes)
            self._state = _State(codes, main, empty_segment(self.spec, self.analyzer, codes))
            self._locations = {int(doc_id): (0, i) for i, doc_id in enumerate(main.ids.tolist())}

    async def upsert(self, docs: Sequence[Mapping[str, Any]]) -> None:
        if not docs:
            return
        async with self._lock:
            unique = list({int(d["id"]): d for d in docs}.values())
            self.analyzer.add_user_words(self._dictionary_words(unique))
            state = self._state
            fresh = await self._build(unique, state.codes)
            main, delta = self._without(state, [int(d["id"]) for d in unique])
            delta = merge_segments(delta, fresh, self.spec) if delta.n else fresh
            await self._settle(state.codes, main, delta)

    async def delete(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        async with self._lock:
            state = self._state
            main, delta = self._without(state, [int(i) for i in ids])
            await self._settle(state.codes, main, delta)

    def _without(self, state: _State, ids: Sequence[int]) -> tuple[Segment, Segment]:
        dead: tuple[list[int], list[int]] = ([], [])
        for doc_id in ids:
            loc = self._locations.pop(doc_id, None)
            if loc is not None:
                dead[loc[0]].append(loc[1])
        main = state.main.without(dead[0]) if dead[0] else state.main
        delta = state.delta.without(dead[1]) if dead[1] else state.delta
        return main, delta

    async def _settle(self, codes: FacetCodes, main: Segment, delta: Segment) -> None:
        """Swap in the new snapshot; fold the delta into the main when it grew or when the main has many dead."""
        dead_main = main.n - main.live_count
        if delta.n > max(DELTA_MIN_DOCS, main.n // 20) or dead_main > max(DELTA_MIN_DOCS, main.n // 5):
            # The old snapshot keeps serving while the merge runs in a thread.
            self._state = _State(codes, main, delta)
            main = await asyncio.to_thread(merge_segments, main, delta, self.spec)
            delta = empty_segment(self.spec, self.analyzer, codes)
            self._locations = {int(doc_id): (0, i) for i, doc_id in enumerate(main.ids.tolist())}
        else:
            for i, doc_id in enumerate(delta.ids.tolist()):
                if delta.alive[i]:
                    self._locations[int(doc_id)] = (1, i)
        self._state = _State(codes, main, delta)
