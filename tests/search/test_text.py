"""Analysis: normalisation, segmentation with the user dictionary, pinyin, typo budget, synonyms."""

from __future__ import annotations

import pytest

from search.text import Analyzer, SynonymSet, allowed_typos, normalise, to_simplified, word_pinyin


def test_normalise_folds_traditional_full_width_and_case() -> None:
    # Given text as an overseas buyer or a phone keyboard may type it
    # When normalised
    # Then it is simplified, half-width and lower case
    assert normalise("紅糖ＡＢＣ１２３ Hong") == "红糖abc123 hong"
    assert to_simplified("麗水山耕 紅薯粉絲") == "丽水山耕 红薯粉丝"
    assert to_simplified("丽水山耕") == "丽水山耕"


@pytest.mark.parametrize(
    ("word", "full", "initials"),
    [("红糖", "hongtang", "ht"), ("丽水山耕", "lishuishangeng", "lssg"), ("番薯", "fanshu", "fs"), ("茶", "cha", "c")],
)
def test_word_pinyin_gives_full_pinyin_and_initials(word: str, full: str, initials: str) -> None:
    assert word_pinyin(word) == (full, initials)


def test_user_dictionary_keeps_brand_and_produce_words_whole(analyzer: Analyzer) -> None:
    assert analyzer.segmenter.cut("丽水山耕古法红糖") == ("丽水山耕", "古法", "红糖")
    assert analyzer.query_tokens("麗水山耕 的 紅糖") == ["丽水山耕", "红糖"]


def test_new_dictionary_words_change_segmentation() -> None:
    # Given a fresh analyzer that does not know a brand
    analyzer = Analyzer(user_words=())
    assert analyzer.segmenter.cut("云和梯田米") != ("云和梯田米",)
    # When the brand is added
    added = analyzer.add_user_words(["云和梯田米"])
    # Then it segments as one word, and adding it twice adds nothing
    assert added == 1
    assert analyzer.segmenter.cut("云和梯田米") == ("云和梯田米",)
    assert analyzer.add_user_words(["云和梯田米"]) == 0


@pytest.mark.parametrize(("term", "typos"), [("ht", 0), ("hong", 0), ("yangm", 1), ("hongtang", 1), ("lishuisha", 2)])
def test_typo_budget_is_one_from_five_letters_two_from_nine(term: str, typos: int) -> None:
    assert allowed_typos(term) == typos


def test_field_terms_hold_words_ngrams_pinyin_and_initials(analyzer: Analyzer) -> None:
    terms = analyzer.field_terms("古法紅糖", ngrams=True, pinyin=True)
    assert terms.words == ("古法", "红糖")
    assert terms.ngrams == ("古", "法", "红", "糖", "古法", "法红", "红糖")
    assert terms.pinyin == ("gufa", "gf", "hongtang", "ht")
    assert terms.syllables == ("gu", "fa", "hong", "tang")


def test_synonyms_expand_both_ways_and_by_pinyin() -> None:
    synonyms = SynonymSet.from_groups([["番薯", "红薯", "地瓜"], ["x"], ["土豆", "馬鈴薯"]])
    assert synonyms.groups == (("番薯", "红薯", "地瓜"), ("土豆", "马铃薯"))
    assert synonyms.expand("地瓜") == ("番薯", "红薯")
    assert synonyms.expand("digua") == ("fanshu", "hongshu")
    assert synonyms.expand("大米") == ()
    assert synonyms.mapping()["马铃薯"] == ["土豆"]


def test_replacing_synonyms_teaches_the_segmenter_new_words() -> None:
    analyzer = Analyzer()
    analyzer.set_synonyms([["番薯", "山薯蓣"]])
    assert analyzer.synonyms.expand("山薯蓣") == ("番薯",)
    assert analyzer.segmenter.cut("山薯蓣") == ("山薯蓣",)


def test_pinyin_and_segmented_text_for_meilisearch(analyzer: Analyzer) -> None:
    # Words, the whole run, then dictionary sub-words (丽水, 山耕) so each of them typed alone matches too
    assert analyzer.pinyin_text("丽水山耕红糖") == (
        "lishuishangeng hongtang lishuishangenghongtang lishui shangeng",
        "lssg ht lssght ls sg",
    )
    assert analyzer.segmented("丽水山耕红糖 500g") == "丽水山耕 红糖 500g"
