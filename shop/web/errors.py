"""Errors on pages: a person gets a readable page in their language, and the log-in form when not logged in."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.response import Redirect

from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language

# Paths that belong to machines (JSON, files, sockets); everything else is a page.
MACHINE_PREFIXES = ("/api/", "/health", "/schema", "/media/", "/static/", "/ws/", "/metrics", "/benefits/s/")


def is_page_request(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(MACHINE_PREFIXES) or request.headers.get("hx-request"):
        return False
    return "text/html" in request.headers.get("accept", "")


def page_error(
    request: Request[Any, Any, Any], status_code: int, detail: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    if status_code == 401 and request.method == "GET":
        return Redirect(f"/login?next={quote(request.url.path)}", status_code=303)
    set_language(request)
    titles = {
        401: _("请先登录"),
        403: _("没有权限"),
        404: _("找不到这个页面"),
        409: _("操作没有完成"),
        429: _("操作太频繁"),
        503: _("服务暂时不可用"),
    }
    title = titles.get(status_code, _("出错了") if status_code >= 500 else _("请检查填写的内容"))
    if status_code == 429:
        message = _("请求太频繁了，请稍等一分钟再试。")
    elif status_code >= 500:
        message = _("系统出了点问题，请稍后再试。您的订单和付款不会丢失。")
    else:
        message = detail
    page = render(request, "error.html", status_code=status_code, title=title, message=message)
    if headers:  # Retry-After and RateLimit-* on a 429; a page's 401 is the log-in form, not a Bearer challenge
        page.headers.update({k: v for k, v in headers.items() if k.lower() != "www-authenticate"})
    return page
