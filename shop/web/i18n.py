"""Translations for the pages: Chinese (zh-CN) is the source text, English comes from catalogues.

Templates write Chinese and wrap it in `_()`; `locale/en/*.json` map each Chinese string to English. Each page area
keeps its own catalogue file (storefront.json, kiosk.json …) so areas grow without touching each other. The language
comes from `?lang=`, then the `hub_lang` cookie, then Accept-Language, and defaults to Chinese.
"""

from __future__ import annotations

import contextvars
import functools
import json
from pathlib import Path
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "hub_lang"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

current_language: contextvars.ContextVar[str] = contextvars.ContextVar("current_language", default=DEFAULT_LANGUAGE)


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    """Every area's catalogue for a language, merged (later files win on a clash, which the test forbids)."""
    merged: dict[str, str] = {}
    folder = LOCALE_DIR / language
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def gettext(message: str) -> str:
    language = current_language.get()
    if language == DEFAULT_LANGUAGE:
        return message
    return catalogue(language).get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def negotiate(query_lang: str | None, cookie_lang: str | None, accept_language: str | None) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGUAGES:
            return candidate
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def html_lang(language: str) -> str:
    return "zh-CN" if language == "zh" else "en"


def translate_all(language: str, messages: list[str]) -> dict[str, Any]:
    """For scripts that build text on the page (the kiosk keyboard, live strip): the strings they need."""
    token = current_language.set(language)
    try:
        return {m: gettext(m) for m in messages}
    finally:
        current_language.reset(token)
