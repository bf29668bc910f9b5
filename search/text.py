"""Text normalisation and analysis for search: the same pipeline feeds the index and the query.

- normalise: full-width → half-width (NFKC), traditional → simplified (紅糖 → 红糖), lower case;
- segment: rjieba with our user dictionary (brand, place and product words: 丽水山耕, 山耕, 红糖, 番薯 …);
- pinyin: every CJK word gets its full pinyin (红糖 → ``hongtang``) and its initials (``ht``);
- synonyms: groups of interchangeable words (番薯 = 红薯 = 地瓜), editable by centre admins at runtime.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import opencc
import rjieba
from pypinyin import Style, lazy_pinyin

# Words the generic jieba dictionary splits badly or does not know: brands, places and produce of the region.
DEFAULT_USER_WORDS: tuple[str, ...] = (
    # Brand families and sub-brands ("1+N").
    "丽水山耕",
    "丽水山景",
    "丽水山居",
    "丽水山播",
    "丽水山坊",
    "丽水山递",
    "山耕",
    "山景",
    "山居",
    "山播",
    "山坊",
    "侨乡优品",
    "台州好产品",
    "品字标",
    "共富工坊",
    "村播",
    # Counties and townships that appear on labels.
    "丽水",
    "莲都",
    "龙泉",
    "青田",
    "缙云",
    "遂昌",
    "松阳",
    "云和",
    "庆元",
    "景宁",
    "畲族",
    "壶镇",
    "路桥",
    "海宁",
    "德清",
    "嵊州",
    "天台",
    "仙居",
    "临海",
    "温岭",
    "玉环",
    "三门",
    "黄岩",
    "椒江",
    "莫干山",
    "安吉",
    "淳安",
    "千岛湖",
    # Produce and products.
    "红糖",
    "黑糖",
    "番薯",
    "红薯",
    "地瓜",
    "甘薯",
    "山芋",
    "番薯干",
    "红薯干",
    "地瓜干",
    "番薯粉",
    "番薯粉丝",
    "粉丝",
    "香菇",
    "花菇",
    "冬菇",
    "黑木耳",
    "笋干",
    "冬笋",
    "毛竹笋",
    "杨梅",
    "猕猴桃",
    "黄桃",
    "水蜜桃",
    "蜜梨",
    "高山蔬菜",
    "茭白",
    "山核桃",
    "香榧",
    "蜂蜜",
    "土蜂蜜",
    "菊米",
    "银猴茶",
    "惠明茶",
    "白茶",
    "红茶",
    "绿茶",
    "高山茶",
    "土鸡蛋",
    "草鸡蛋",
    "土鸡",
    "田鱼",
    "稻鱼",
    "高山大米",
    "糯米",
    "年糕",
    "麻糍",
    "米酒",
    "酒酿",
    "黄酒",
    "烧饼",
    "缙云烧饼",
    "青瓷",
    "龙泉青瓷",
    "宝剑",
    "龙泉宝剑",
    "竹编",
    "木玩",
    "石雕",
    "青田石雕",
    "剪纸",
    "民宿",
    "农家乐",
    "采摘",
    "研学",
    "来料加工",
    "电商直播",
    "农旅融合",
    "品牌带动",
    "产业赋能",
    "流动供销",
    "侨助共富",
    "山海协作",
    "定向招工",
    "古法",
    "手工",
    "熬制",
    "礼盒",
    "伴手礼",
)

# Other names of a brand that buyers type: the "山" sub-brands of 丽水山坊 are the regional public brands 丽水山耕,
# 丽水山景 … (documents carry them in ``brand_aliases``, so ``lssg`` and ``lishuishangeng`` find 山耕 products).
BRAND_ALIASES: dict[str, tuple[str, ...]] = {
    "山耕": ("丽水山耕",),
    "山景": ("丽水山景",),
    "山居": ("丽水山居",),
    "山播": ("丽水山播",),
    "山递": ("丽水山递",),
}

# Groups of interchangeable words; centre admins replace these at runtime (see search.services).
DEFAULT_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("番薯", "红薯", "地瓜", "甘薯", "山芋", "白薯"),
    ("番薯干", "红薯干", "地瓜干"),
    ("土豆", "马铃薯", "洋芋"),
    ("玉米", "苞谷", "包谷", "玉蜀黍"),
    ("番茄", "西红柿"),
    ("花生", "落花生", "长生果"),
    ("红糖", "黑糖"),
    ("香菇", "冬菇", "花菇"),
    ("猕猴桃", "奇异果"),
    ("土鸡蛋", "草鸡蛋", "柴鸡蛋"),
    ("土鸡", "草鸡", "走地鸡"),
    ("粉丝", "粉条"),
    ("米酒", "酒酿", "甜酒酿"),
    ("蜂蜜", "蜜糖"),
    ("大米", "稻米"),
    ("菜籽油", "菜油"),
    ("民宿", "客栈"),
)

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKEN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_LATIN_RE = re.compile(r"[a-z0-9]+")
# Characters no product word is made of: the query "红糖 的" means 红糖.
STOP_CHARS = frozenset("的了和与及或在是之")


def is_cjk(text: str) -> bool:
    return bool(_CJK_RE.match(text))


def _load_t2s_table() -> dict[int, str]:
    path = Path(opencc.__file__).resolve().parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simp = line.partition("\t")
        simp = simp.split(" ")[0]
        if len(trad) == 1 and len(simp) == 1 and trad != simp:
            table[ord(trad)] = simp
    return table


_T2S_TABLE = _load_t2s_table()
_T2S_CHARS = frozenset(chr(c) for c in _T2S_TABLE)
_opencc = opencc.OpenCC("t2s")
_opencc_lock = threading.Lock()


def to_simplified(text: str) -> str:
    """紅糖 → 红糖. The phrase-aware converter is slow (~100 µs per line), so it only runs on text that has a
    traditional character; simplified text (almost all of the catalogue) returns unchanged."""
    if not _T2S_CHARS.intersection(text):
        return text
    with _opencc_lock:  # the pure-Python converter keeps state between calls
        return str(_opencc.convert(text))


def normalise(text: str) -> str:
    """Full-width → half-width, traditional → simplified, lower case. Length may change (NFKC)."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


def normalise_char(char: str) -> str:
    """Per-character normalisation used to map highlight spans back onto the original text."""
    out = unicodedata.normalize("NFKC", char).lower()
    return out.translate(_T2S_TABLE)


@functools.lru_cache(maxsize=262_144)
def word_pinyin(word: str) -> tuple[str, str]:
    """Full pinyin (concatenated) and initials of a CJK word: 丽水山耕 → ("lishuishangeng", "lssg")."""
    syllables = lazy_pinyin(word, style=Style.NORMAL, errors="ignore")
    syllables = [s.replace("ü", "v") for s in syllables if s.isascii() and s.isalpha()]
    return "".join(syllables), "".join(s[0] for s in syllables)


@functools.lru_cache(maxsize=262_144)
def char_pinyin(char: str) -> str:
    return word_pinyin(char)[0]


def allowed_typos(term: str) -> int:
    """Typo budget of a Latin/pinyin word, as Meilisearch: 1 typo from 5 letters, 2 from 9."""
    n = len(term)
    if n >= 9:
        return 2
    if n >= 5:
        return 1
    return 0


class Segmenter:
    """rjieba (Rust jieba) with our user dictionary added; rjieba supports ``add_word`` natively,
    at about 2 µs per title, so no second longest-match pass is needed."""

    def __init__(self, user_words: Iterable[str] = DEFAULT_USER_WORDS) -> None:
        self._jieba = rjieba.Jieba()
        self._lock = threading.Lock()
        self.user_words: set[str] = set()
        self.add_words(user_words)

    def add_words(self, words: Iterable[str]) -> int:
        """Add words to the dictionary; returns how many were new (caches are dropped only then)."""
        added = 0
        with self._lock:
            for word in words:
                word = normalise(word).strip()
                if word and word not in self.user_words and " " not in word and is_cjk(word):
                    self._jieba.add_word(word, None, None)
                    self.user_words.add(word)
                    added += 1
        if added:
            self.cut.cache_clear()
            self.cut_for_search.cache_clear()
        return added

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 - one segmenter per process; titles repeat a lot
    def cut(self, text: str) -> tuple[str, ...]:
        """Words of normalised text, longest reading (used for pinyin and the query)."""
        return tuple(w for w in self._jieba.cut(text) if _TOKEN_RE.fullmatch(w))

    @functools.lru_cache(maxsize=65_536)  # noqa: B019
    def cut_for_search(self, text: str) -> tuple[str, ...]:
        """Words plus their dictionary sub-words (丽水山耕 → 丽水, 丽水山耕): better recall for the index."""
        return tuple(w for w in self._jieba.cut_for_search(text) if _TOKEN_RE.fullmatch(w))

    def tokens(self, text: str) -> list[str]:
        """Query tokens: CJK words and Latin/digit runs of normalised text, stop characters dropped."""
        out: list[str] = []
        for run in _TOKEN_RE.findall(text):
            if is_cjk(run):
                out.extend(w for w in self.cut(run) if w not in STOP_CHARS)
            else:
                out.append(run)
        return out


@dataclass(frozen=True)
class SynonymSet:
    """Groups of interchangeable words. Immutable: replacing the set swaps one reference (thread-safe)."""

    groups: tuple[tuple[str, ...], ...] = ()
    _by_word: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    _by_pinyin: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_groups(cls, groups: Iterable[Sequence[str]]) -> SynonymSet:
        clean: list[tuple[str, ...]] = []
        by_word: dict[str, tuple[str, ...]] = {}
        by_pinyin: dict[str, tuple[str, ...]] = {}
        for group in groups:
            words = tuple(dict.fromkeys(w for w in (normalise(x).strip() for x in group) if w))
            if len(words) < 2:
                continue
            clean.append(words)
            pinyins = tuple(dict.fromkeys(word_pinyin(w)[0] if is_cjk(w) else w for w in words))
            for word in words:
                by_word[word] = tuple(dict.fromkeys((*by_word.get(word, ()), *words)))
            for p in pinyins:
                by_pinyin[p] = tuple(dict.fromkeys((*by_pinyin.get(p, ()), *pinyins)))
        return cls(tuple(clean), by_word, by_pinyin)

    def expand(self, word: str) -> tuple[str, ...]:
        """The other words of ``word``'s groups (CJK words, or the pinyin of a group's words)."""
        group = self._by_word.get(word) or self._by_pinyin.get(word) or ()
        return tuple(w for w in group if w != word)

    def mapping(self) -> dict[str, list[str]]:
        """Meilisearch ``synonyms`` setting: every word maps to the others (mutual), plus their pinyin."""
        out: dict[str, list[str]] = {}
        for word, group in (*self._by_word.items(), *self._by_pinyin.items()):
            others = [w for w in group if w != word]
            if others:
                out[word] = others
        return out


DEFAULT_SYNONYM_SET = SynonymSet.from_groups(DEFAULT_SYNONYMS)


@dataclass(frozen=True)
class FieldTerms:
    """What one field contributes to the index: plain words, n-grams and pinyin forms."""

    words: tuple[str, ...]
    ngrams: tuple[str, ...]
    pinyin: tuple[str, ...]  # full pinyin and initials of words
    syllables: tuple[str, ...] = ()  # pinyin of single characters (prefix matching only, not typo targets)


class Analyzer:
    """One per process: segmentation, pinyin and the current synonyms."""

    def __init__(self, user_words: Iterable[str] = DEFAULT_USER_WORDS, synonyms: SynonymSet | None = None) -> None:
        self.segmenter = Segmenter(user_words)
        self.synonyms = synonyms or DEFAULT_SYNONYM_SET

    def set_synonyms(self, groups: Iterable[Sequence[str]]) -> SynonymSet:
        synonyms = SynonymSet.from_groups(groups)
        # New synonym words must segment as words, or the query would never produce them.
        self.segmenter.add_words(w for g in synonyms.groups for w in g if is_cjk(w))
        self.synonyms = synonyms
        return synonyms

    def add_user_words(self, words: Iterable[str]) -> int:
        return self.segmenter.add_words(words)

    def field_terms(self, text: str, *, ngrams: bool, pinyin: bool) -> FieldTerms:
        """Index terms of one field. CJK runs give search-mode words; with ``ngrams`` also character unigrams and
        bigrams (robust recall when the query segments differently); with ``pinyin`` the full pinyin and initials
        of every word (and of its dictionary sub-words: 青田县 gives ``qingtianxian`` and ``qingtian``) and the pinyin
        of every character (so ``hong`` prefixes 红糖's ``hongtang``)."""
        norm = normalise(text)
        words: list[str] = []
        grams: list[str] = []
        pys: list[str] = []
        syllables: list[str] = []
        for run in _TOKEN_RE.findall(norm):
            if not is_cjk(run):
                words.append(run)
                continue
            words.extend(self.segmenter.cut_for_search(run))
            if ngrams:
                grams.extend(run)
                grams.extend(run[i : i + 2] for i in range(len(run) - 1))
            if pinyin:
                for word in self._pinyin_words(run):
                    full, initials = word_pinyin(word)
                    if full:
                        pys.append(full)
                        if len(initials) >= 2:
                            pys.append(initials)
                if len(run) > 1:
                    syllables.extend(p for p in map(char_pinyin, run) if p)
        return FieldTerms(tuple(words), tuple(grams), tuple(pys), tuple(syllables))

    def _pinyin_words(self, run: str) -> tuple[str, ...]:
        """The words of a CJK run, then its dictionary sub-words of two characters or more (search mode)."""
        words = self.segmenter.cut(run)
        extra = (w for w in self.segmenter.cut_for_search(run) if len(w) > 1)
        return tuple(dict.fromkeys((*words, *extra)))

    def pinyin_text(self, text: str) -> tuple[str, str]:
        """Space-separated full pinyin and initials of every CJK word (Meilisearch document fields)."""
        full: list[str] = []
        initials: list[str] = []
        subwords: list[tuple[str, str]] = []
        for run in _TOKEN_RE.findall(normalise(text)):
            if not is_cjk(run):
                continue
            words = self.segmenter.cut(run)
            for word in self._pinyin_words(run):
                f, i = word_pinyin(word)
                if f:
                    if word in words:
                        full.append(f)
                        initials.append(i)
                    else:
                        subwords.append((f, i))
            f, i = word_pinyin(run)
            if len(run) > 1 and f not in full:
                full.append(f)  # the whole run too: "lishuishangenghongtang" typed without spaces
                initials.append(i)
        # Sub-words last (丽水山耕 → lishui, shangeng): a word typed alone matches, the main forms stay first.
        full += [f for f, _ in subwords]
        initials += [i for _, i in subwords]
        return " ".join(dict.fromkeys(full)), " ".join(dict.fromkeys(initials))

    def segmented(self, text: str) -> str:
        """Normalised text with our segmentation made explicit by spaces (Meilisearch then tokenises as we do)."""
        parts: list[str] = []
        for run in _TOKEN_RE.findall(normalise(text)):
            parts.extend(self.segmenter.cut(run) if is_cjk(run) else (run,))
        return " ".join(parts)

    def query_tokens(self, text: str) -> list[str]:
        return self.segmenter.tokens(normalise(text))


def iter_latin(text: str) -> Iterator[str]:
    return iter(_LATIN_RE.findall(text))
