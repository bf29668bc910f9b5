"""An immutable index segment: a sorted vocabulary, CSR postings and numpy columns.

Postings are ``int32`` document indices (sorted within a term) with a ``uint8`` field weight per posting (the best
field the term appears in for that document). Facets are ``int32`` code columns, so a facet's counts are one
``np.bincount`` over the matched set; sorts and ranges are ``int64`` columns. A segment never changes after it is
built: deletion produces a copy with a new ``alive`` mask, and two segments merge into a new one at array level
(no re-analysis), which is how the engine absorbs incremental updates.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import msgspec
import numpy as np

from search.engine.base import IndexSpec, TextField
from search.text import Analyzer, is_cjk, normalise, word_pinyin

# Term kinds, kept per term for suggestions (higher wins when a string is several kinds).
KIND_GRAM, KIND_SYLLABLE, KIND_PINYIN, KIND_WORD, KIND_WORKSHOP, KIND_BRAND = 0, 1, 2, 3, 4, 5
_payload_encoder = msgspec.json.Encoder()
_payload_decoder = msgspec.json.Decoder()


class FacetCodes:
    """Facet value ↔ dense code, shared by all segments of an index and append-only (codes never change)."""

    def __init__(self, spec: IndexSpec) -> None:
        self.spec = spec
        self.codes: dict[str, dict[Any, int]] = {name: {} for name in spec.facets}
        self.values: dict[str, list[Any]] = {name: [] for name in spec.facets}

    def code(self, facet: str, value: Any) -> int:
        table = self.codes[facet]
        found = table.get(value)
        if found is None:
            found = table[value] = len(table)
            self.values[facet].append(value)
        return found

    def lookup(self, facet: str, value: Any) -> int | None:
        return self.codes[facet].get(value)

    def coerce(self, facet: str, value: Any) -> Any:
        kind = self.spec.facets[facet]
        if kind == "int":
            return int(value)
        if kind == "bool":
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        return str(value)

    def label(self, facet: str, code: int) -> str:
        value = self.values[facet][code]
        return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Segment:
    n: int
    ids: np.ndarray  # int64 document ids
    alive: np.ndarray  # bool
    vocab: list[str]  # sorted
    term_index: dict[str, int]
    offsets: np.ndarray  # int64, len(vocab) + 1
    postings: np.ndarray  # int32
    weights: np.ndarray  # uint8
    term_kind: np.ndarray  # uint8
    latin_by_len: dict[int, list[str]]  # Latin/pinyin terms by length, for typo candidates
    pinyin_display: dict[str, tuple[str, int]]  # pinyin term → (most frequent CJK word, count)
    facet_cols: dict[str, np.ndarray]  # int32 codes
    numeric_cols: dict[str, np.ndarray]  # int64
    boost: np.ndarray  # float32: small ranking boost by stars and sales
    payloads: list[bytes]  # JSON of the hit fields
    versions: list[str]

    @property
    def live_count(self) -> int:
        return int(self.alive.sum())

    def df(self, tid: int) -> int:
        return int(self.offsets[tid + 1] - self.offsets[tid])

    def term_postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        tid = self.term_index.get(term)
        if tid is None:
            return None
        lo, hi = self.offsets[tid], self.offsets[tid + 1]
        return self.postings[lo:hi], self.weights[lo:hi]

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        lo = bisect.bisect_left(self.vocab, prefix)
        hi = bisect.bisect_left(self.vocab, prefix + "\uffff", lo)
        return lo, hi

    def without(self, indices: Sequence[int]) -> Segment:
        alive = self.alive.copy()
        alive[np.asarray(indices, dtype=np.int64)] = False
        return replace(self, alive=alive)

    def payload(self, idx: int) -> dict[str, Any]:
        return _payload_decoder.decode(self.payloads[idx])  # type: ignore[no-any-return]


def _text_values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None and str(v)]
    text = str(value)
    return [text] if text else []


def _boost(stars: np.ndarray, sales: np.ndarray) -> np.ndarray:
    # Small next to one field-weight step (≥1): it orders equally relevant hits, it never outranks a better match.
    return (stars.astype(np.float32) * 0.15 + np.log1p(sales.astype(np.float32)) * 0.08).astype(np.float32)


def build_segment(docs: Sequence[Mapping[str, Any]], spec: IndexSpec, analyzer: Analyzer, codes: FacetCodes) -> Segment:
    """Analyse documents into a segment. Cost is dominated by segmentation and pinyin (cached per word)."""
    term_ids: dict[str, int] = {}
    kinds: list[int] = []
    pinyin_words: Counter[tuple[str, str]] = Counter()
    n = len(docs)
    facet_cols = {name: np.zeros(n, dtype=np.int32) for name in spec.facets}
    numeric_cols = {name: np.zeros(n, dtype=np.int64) for name in spec.numeric_fields}
    ids = np.zeros(n, dtype=np.int64)
    payloads: list[bytes] = []
    versions: list[str] = []

    def tid_of(term: str, kind: int) -> int:
        tid = term_ids.get(term)
        if tid is None:
            tid = term_ids[term] = len(kinds)
            kinds.append(kind)
        elif kinds[tid] < kind:
            kinds[tid] = kind
        return tid

    # Heaviest field first: after a stable sort by term, a document's first entry for a term has its best weight.
    fields = sorted(spec.text_fields, key=lambda tf: -tf.weight)
    # Field values repeat a lot (brands, workshops, places, tags): analyse each distinct value once per build.
    analysed: dict[tuple[str, str], np.ndarray] = {}

    def analyse(tf: TextField, text: str) -> np.ndarray:
        terms = analyzer.field_terms(text, ngrams=tf.ngrams, pinyin=tf.pinyin)
        tids: dict[int, None] = {}
        for group, kind in (
            (terms.words, KIND_WORD),
            (terms.ngrams, KIND_GRAM),
            (terms.pinyin, KIND_PINYIN),
            (terms.syllables, KIND_SYLLABLE),
        ):
            for term in group:
                tids[tid_of(term, kind)] = None
        if tf.pinyin:
            for word in terms.words:
                if len(word) > 1 and is_cjk(word):
                    full, initials = word_pinyin(word)
                    pinyin_words[(full, word)] += 1
                    if len(initials) > 1:
                        pinyin_words[(initials, word)] += 1
        if tf.phrase:
            kind = KIND_BRAND if tf.name in ("brand_name", "brand_aliases", "family_name") else KIND_WORKSHOP
            tids[tid_of(normalise(text).strip(), kind)] = None
        return np.fromiter(tids, dtype=np.int32, count=len(tids))

    pieces: list[np.ndarray] = []
    piece_docs: list[int] = []
    piece_weights: list[int] = []
    for i, doc in enumerate(docs):
        for tf in fields:
            for text in _text_values(doc.get(tf.name)):
                key = (tf.name, text)
                tids = analysed.get(key)
                if tids is None:
                    tids = analysed[key] = analyse(tf, text)
                pieces.append(tids)
                piece_docs.append(i)
                piece_weights.append(tf.weight)
        ids[i] = int(doc["id"])
        for name in spec.facets:
            facet_cols[name][i] = codes.code(name, codes.coerce(name, doc.get(name)))
        for name in spec.numeric_fields:
            numeric_cols[name][i] = int(doc.get(name) or 0)
        payloads.append(_payload_encoder.encode({k: doc.get(k) for k in spec.hit_fields}))
        versions.append(str(doc.get("version", "")))

    vocab = sorted(term_ids)
    rank = np.empty(len(vocab), dtype=np.int32)
    for new, term in enumerate(vocab):
        rank[term_ids[term]] = new
    term_kind = np.empty(len(vocab), dtype=np.uint8)
    term_kind[rank] = np.asarray(kinds, dtype=np.uint8)
    if pieces:
        lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
        t_arr = rank[np.concatenate(pieces)]
        d_arr = np.repeat(np.asarray(piece_docs, dtype=np.int32), lengths)
        w_arr = np.repeat(np.asarray(piece_weights, dtype=np.uint8), lengths)
        # Group by term keeping document order; drop a document's repeats of a term (its first is the heaviest).
        order = np.argsort(t_arr, kind="stable")
        t_arr, d_arr, w_arr = t_arr[order], d_arr[order], w_arr[order]
        first = np.ones(len(t_arr), dtype=bool)
        first[1:] = (t_arr[1:] != t_arr[:-1]) | (d_arr[1:] != d_arr[:-1])
        t_arr, d_arr, w_arr = t_arr[first], d_arr[first], w_arr[first]
    else:
        t_arr = np.zeros(0, dtype=np.int32)
        d_arr = np.zeros(0, dtype=np.int32)
        w_arr = np.zeros(0, dtype=np.uint8)
    display: dict[str, tuple[str, int]] = {}
    for (py, word), count in pinyin_words.items():
        if count > display.get(py, ("", 0))[1]:
            display[py] = (word, count)
    return _assemble(
        n=n,
        ids=ids,
        alive=np.ones(n, dtype=bool),
        vocab=vocab,
        term_kind=term_kind,
        t_arr=t_arr,
        d_arr=d_arr,
        w_arr=w_arr,
        display=display,
        facet_cols=facet_cols,
        numeric_cols=numeric_cols,
        payloads=payloads,
        versions=versions,
        spec=spec,
    )


def _assemble(
    *,
    n: int,
    ids: np.ndarray,
    alive: np.ndarray,
    vocab: list[str],
    term_kind: np.ndarray,
    t_arr: np.ndarray,
    d_arr: np.ndarray,
    w_arr: np.ndarray,
    display: dict[str, tuple[str, int]],
    facet_cols: dict[str, np.ndarray],
    numeric_cols: dict[str, np.ndarray],
    payloads: list[bytes],
    versions: list[str],
    spec: IndexSpec,
) -> Segment:
    # Stable sort by term keeps each term's documents in ascending order (they were appended in doc order).
    order = np.argsort(t_arr, kind="stable")
    postings = np.ascontiguousarray(d_arr[order], dtype=np.int32)
    weights = np.ascontiguousarray(w_arr[order], dtype=np.uint8)
    counts = np.bincount(t_arr, minlength=len(vocab)) if len(vocab) else np.zeros(0, dtype=np.int64)
    offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    latin_by_len: dict[int, list[str]] = {}
    for term, kind in zip(vocab, term_kind.tolist(), strict=True):
        # Single-syllable pinyin (香 → xiang) is too short and too common to be a typo target.
        if kind != KIND_SYLLABLE and term.isascii() and term.isalpha():
            latin_by_len.setdefault(len(term), []).append(term)
    stars = numeric_cols.get(spec.boost_stars_field or "", np.zeros(n, dtype=np.int64))
    sales = numeric_cols.get(spec.boost_sales_field or "", np.zeros(n, dtype=np.int64))
    return Segment(
        n=n,
        ids=ids,
        alive=alive,
        vocab=vocab,
        term_index={t: i for i, t in enumerate(vocab)},
        offsets=offsets,
        postings=postings,
        weights=weights,
        term_kind=term_kind,
        latin_by_len=latin_by_len,
        pinyin_display=display,
        facet_cols=facet_cols,
        numeric_cols=numeric_cols,
        boost=_boost(stars, sales),
        payloads=payloads,
        versions=versions,
    )


def merge_segments(a: Segment, b: Segment, spec: IndexSpec) -> Segment:
    """One segment holding the live documents of ``a`` then ``b``, merged at array level (no re-analysis)."""
    vocab = sorted(set(a.vocab).union(b.vocab))
    index = {t: i for i, t in enumerate(vocab)}
    a_map = np.fromiter((index[t] for t in a.vocab), dtype=np.int64, count=len(a.vocab))
    b_map = np.fromiter((index[t] for t in b.vocab), dtype=np.int64, count=len(b.vocab))
    term_kind = np.zeros(len(vocab), dtype=np.uint8)
    term_kind[a_map] = a.term_kind
    np.maximum.at(term_kind, b_map, b.term_kind)
    t_arr = np.concatenate([np.repeat(a_map, np.diff(a.offsets)), np.repeat(b_map, np.diff(b.offsets))])
    d_arr = np.concatenate([a.postings.astype(np.int64), b.postings.astype(np.int64) + a.n])
    w_arr = np.concatenate([a.weights, b.weights])
    alive = np.concatenate([a.alive, b.alive])
    keep = alive[d_arr]
    new_index = np.cumsum(alive) - 1
    t_arr, d_arr, w_arr = t_arr[keep], new_index[d_arr[keep]].astype(np.int32), w_arr[keep]
    # Terms whose documents are all gone stay in the vocabulary with no postings until a rebuild: harmless.
    display = dict(a.pinyin_display)
    for py, (word, count) in b.pinyin_display.items():
        if count > display.get(py, ("", 0))[1]:
            display[py] = (word, count)
    live_a, live_b = np.flatnonzero(a.alive), np.flatnonzero(b.alive)
    return _assemble(
        n=int(alive.sum()),
        ids=np.concatenate([a.ids, b.ids])[alive],
        alive=np.ones(int(alive.sum()), dtype=bool),
        vocab=vocab,
        term_kind=term_kind,
        t_arr=t_arr,
        d_arr=d_arr,
        w_arr=w_arr,
        display=display,
        facet_cols={k: np.concatenate([a.facet_cols[k], b.facet_cols[k]])[alive] for k in a.facet_cols},
        numeric_cols={k: np.concatenate([a.numeric_cols[k], b.numeric_cols[k]])[alive] for k in a.numeric_cols},
        payloads=[a.payloads[i] for i in live_a] + [b.payloads[i] for i in live_b],
        versions=[a.versions[i] for i in live_a] + [b.versions[i] for i in live_b],
        spec=spec,
    )


def empty_segment(spec: IndexSpec, analyzer: Analyzer, codes: FacetCodes) -> Segment:
    return build_segment([], spec, analyzer, codes)


def memory_bytes(seg: Segment) -> int:
    """Approximate resident size: arrays exactly, Python containers estimated."""
    arrays = [seg.ids, seg.alive, seg.offsets, seg.postings, seg.weights, seg.term_kind, seg.boost]
    arrays += list(seg.facet_cols.values()) + list(seg.numeric_cols.values())
    total = sum(a.nbytes for a in arrays)
    total += sum(len(p) + 33 for p in seg.payloads) + sum(len(t) * 2 + 60 for t in seg.vocab) * 2
    return total + int(math.fsum(len(v) + 50 for v in seg.versions))
