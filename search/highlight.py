"""Highlight: the original text, HTML-escaped, with the spans that matched the query wrapped in ``<em>…</em>``.

Matching runs on the normalised text (simplified, half-width, lower case) and maps back to the original characters,
so 紅糖 typed against a traditional title, or ``hongtang`` against 红糖, highlights the right characters.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection

from search.text import Analyzer, is_cjk, normalise, normalise_char, word_pinyin

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")


def _normalised_with_map(text: str) -> tuple[str, list[int] | range]:
    norm = normalise(text)
    if len(norm) == len(text):  # the usual case: normalisation kept one character per character
        return norm, range(len(text))
    chars: list[str] = []
    back: list[int] = []
    for i, ch in enumerate(text):
        norm = normalise_char(ch)
        chars.append(norm)
        back.extend([i] * len(norm))
    return "".join(chars), back


def highlight(text: str, terms: Collection[str], analyzer: Analyzer, pre: str = "<em>", post: str = "</em>") -> str:
    """``terms`` are index terms that matched: CJK words or n-grams, Latin words, pinyin or initials."""
    if not text:
        return ""
    if not terms:
        return html.escape(text)
    norm, back = _normalised_with_map(text)
    marked = [False] * len(text)

    def mark(start: int, end: int) -> None:
        for j in range(start, end):
            marked[back[j]] = True

    cjk_terms = sorted((t for t in terms if is_cjk(t)), key=len, reverse=True)
    latin_terms = {t for t in terms if not is_cjk(t)}
    for term in cjk_terms:
        start = norm.find(term)
        while start >= 0:
            mark(start, start + len(term))
            start = norm.find(term, start + 1)
    if latin_terms:
        for match in _CJK_RUN.finditer(norm):
            run, base = match.group(), match.start()
            if not is_cjk(run):
                if run in latin_terms:
                    mark(base, base + len(run))
                continue
            pos = 0
            for word in analyzer.segmenter.cut(run):
                full, initials = word_pinyin(word)
                if full in latin_terms or (len(initials) > 1 and initials in latin_terms):
                    mark(base + pos, base + pos + len(word))
                else:
                    for k, ch in enumerate(word):
                        if word_pinyin(ch)[0] in latin_terms:
                            mark(base + pos + k, base + pos + k + 1)
                pos += len(word)
    out: list[str] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and marked[j] == marked[i]:
            j += 1
        chunk = html.escape(text[i:j])
        out.append(f"{pre}{chunk}{post}" if marked[i] else chunk)
        i = j
    return "".join(out)
