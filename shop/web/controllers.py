"""Pages every area shares: log in and out (the page session cookie), and the static files."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.services import AccountService
from shop.auth import PUBLIC, SESSION_COOKIE
from shop.errors import Unauthorized
from shop.ratelimit import LOGIN, limited
from shop.settings import Settings
from shop.web.i18n import gettext as _
from shop.web.storefront.cart import merge_at_login
from shop.web.templating import render, set_language, static_router

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site may be a redirect target (no `//host` or `https://` open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def session_cookie(token: str, max_age: int, settings: Settings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        httponly=True,
        samesite="lax",
        secure=settings.app.secure_cookies,
        max_age=max_age,
        path="/",
    )


@get("/login", opt=PUBLIC, include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], next: str | None = None) -> Template:
    return render(request, "login.html", next=safe_next(next), username="", error=None)


@post("/login", opt={**PUBLIC, **limited(LOGIN)}, include_in_schema=False, status_code=303)
async def login_submit(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    data: Annotated[dict[str, str], FORM],
) -> Response[Any]:
    username = (data.get("username") or "").strip()[:64]
    password = (data.get("password") or "")[:128]
    target = safe_next(data.get("next"))
    ttl = dt.timedelta(minutes=settings.app.jwt_ttl_minutes)
    try:
        token = await AccountService(db_session).login(username, password, settings.app.secret_key, ttl)
    except Unauthorized:
        set_language(request)
        error = _("用户名或密码不对，请再试一次。")
        return render(request, "login.html", status_code=401, next=target, username=username, error=error)
    # The anonymous cart (hub_cart cookie) joins the buyer's cart now, so it is there at checkout.
    cart_cookies = await merge_at_login(db_session, request, token.user.id)
    cookies = [session_cookie(token.access_token, token.expires_in, settings), *cart_cookies]
    return Redirect(target, status_code=303, cookies=cookies)


@post("/logout", opt=PUBLIC, include_in_schema=False, status_code=303)
async def logout_submit() -> Redirect:
    return Redirect("/", status_code=303, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])


route_handlers = [login_page, login_submit, logout_submit, static_router()]
