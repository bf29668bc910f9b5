"""Jinja set-up for every page, and `render`, which gives a template the context every page needs."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar import Request
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from shop.money import format_yuan
from shop.web import i18n

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
BASE_DIR = WEB_DIR.parent.parent
# Each context keeps its page templates beside its code; the shared layout lives here.
TEMPLATE_DIRS = [
    WEB_DIR / "templates",
    BASE_DIR / "livestream" / "templates",
    BASE_DIR / "logistics" / "templates",
    BASE_DIR / "shop" / "benefits" / "templates",
]


@pass_context
def _translate(context: Context, message: str, **values: Any) -> str:
    token = i18n.current_language.set(context.get("lang") or i18n.current_language.get())
    try:
        text = i18n.gettext(message)
    finally:
        i18n.current_language.reset(token)
    return text % values if values else text


@functools.cache
def asset(name: str) -> str:
    """The URL of a static file with its content hash, so browsers may cache it for a year."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def build_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in TEMPLATE_DIRS if d.is_dir()]),
        autoescape=select_autoescape(["html", "xml", "jinja"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(_=_translate, asset=asset)
    env.filters["yuan"] = format_yuan
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(build_environment()))


def static_router() -> Any:
    return create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt={"public": True},
        include_in_schema=False,
        cache_control=None,
    )


def page_language(request: Request[Any, Any, Any]) -> str:
    return i18n.negotiate(
        request.query_params.get("lang"),
        request.cookies.get(i18n.LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The visitor's CSRF token for forms and htmx; using it makes the response set the cookie if it is new."""
    state = request.scope.setdefault("state", {})
    state["csrf_used"] = True
    return str(state.get("csrf_token", ""))


def set_language(request: Request[Any, Any, Any]) -> str:
    """Negotiate the page language and make `gettext` in this request use it."""
    lang = page_language(request)
    i18n.current_language.set(lang)
    return lang


def render(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    """Render a page with the caller, the language (zh-CN by default) and the CSRF token in its context."""
    lang = set_language(request)
    cookies = []
    if request.query_params.get("lang") in i18n.LANGUAGES and request.cookies.get(i18n.LANG_COOKIE) != lang:
        cookies.append(Cookie(key=i18n.LANG_COOKIE, value=lang, max_age=365 * 24 * 3600, path="/", samesite="lax"))
    base = {
        "request": request,
        "caller": request.scope.get("user"),
        "lang": lang,
        "html_lang": i18n.html_lang(lang),
        "other_lang": "en" if lang == "zh" else "zh",
        "csrf_token": csrf_token(request),
        "path": request.url.path,
    }
    return Template(
        template_name=template,
        context={**base, **context},
        status_code=status_code,
        cookies=cookies,
        headers={"cache-control": "no-store"} if base["caller"] else {},
    )
