"""The cart page: lines, quantity change, removal; anonymous carts ride in the hub_cart cookie.

`GET /cart?token=…` adopts an anonymous cart token (the kiosk's "buy on your phone" QR code) into the cookie.
At page log-in the anonymous cart is merged into the buyer's cart (`merge_at_login`, called by the login page).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from shop.auth import PUBLIC, Caller, load_caller
from shop.cart.schemas import CartLineIn, CartLineUpdate
from shop.cart.services import MAX_LINE_QUANTITY, CartService
from shop.errors import DomainError
from shop.settings import Settings
from shop.web.i18n import gettext as _
from shop.web.storefront.views import (
    FORM,
    cart_cookie,
    cart_token_of,
    clear_cart_cookie,
    error_text,
    form_int,
    page_filters,
)
from shop.web.templating import render, set_language

# Tokens the cart service issues (secrets.token_urlsafe); anything else in ?token= is ignored.
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


async def merge_at_login(session: AsyncSession, request: Request[Any, Any, Any], user_id: int | None) -> list[Cookie]:
    """After a page log-in: move the anonymous cart's lines into the buyer's cart and drop the cookie."""
    token = cart_token_of(request)
    if not token or user_id is None:
        return []
    caller = await load_caller(session, user_id)
    if caller is None:
        return []
    try:
        await CartService(session).merge(caller, token)
    except DomainError:
        await session.rollback()  # an unknown or spent token: nothing to merge
    return [clear_cart_cookie()]


async def _cart_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    caller: Caller | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    cart = await CartService(db_session).view(caller, cart_token_of(request))
    return render(
        request,
        "storefront/cart.html",
        status_code=status_code,
        cart=cart,
        error=error,
        max_quantity=MAX_LINE_QUANTITY,
        **page_filters(),
    )


@get("/cart", opt=PUBLIC, include_in_schema=False)
async def cart_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, optional_caller: Caller | None
) -> Response[Any]:
    token = (request.query_params.get("token") or "").strip()
    if token:
        # The kiosk's QR code: carry the kiosk's anonymous cart over to this phone (the cookie), then a clean URL.
        if not TOKEN_SHAPE.match(token):
            set_language(request)
            return await _cart_page(request, db_session, optional_caller, error=_bad_token(), status_code=400)
        return Redirect("/cart", status_code=303, cookies=cart_cookie(token, settings))
    return await _cart_page(request, db_session, optional_caller)


def _bad_token() -> str:
    return _("这个购物车二维码无效，请在大屏上重新生成。")


def _back(data: dict[str, str], default: str) -> str:
    target = data.get("back") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


@post("/cart/lines", opt=PUBLIC, include_in_schema=False, status_code=303)
async def cart_add(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    optional_caller: Caller | None,
    data: Annotated[dict[str, str], FORM],
) -> Response[Any]:
    set_language(request)
    variant_id = form_int(data, "variant_id")
    quantity = form_int(data, "quantity", 1) or 1
    if variant_id is None or not 1 <= variant_id < 2**62 or not 1 <= quantity <= MAX_LINE_QUANTITY:
        return await _cart_page(request, db_session, optional_caller, error=_("请选择规格和数量。"), status_code=422)
    share_code = (data.get("share_code") or "").strip() or None
    try:
        line = CartLineIn(variant_id=variant_id, quantity=quantity, share_code=share_code)
        cart = await CartService(db_session).add(optional_caller, cart_token_of(request), line)
    except DomainError as exc:
        return await _cart_page(
            request, db_session, optional_caller, error=error_text(exc), status_code=exc.status_code
        )
    cookies = cart_cookie(cart.token, settings) if optional_caller is None else []
    product_id = form_int(data, "product_id")
    target = f"/products/{product_id}?added=1" if product_id and data.get("stay") == "1" else "/cart"
    return Redirect(target, status_code=303, cookies=cookies)


@post("/cart/lines/{line_id:int}", opt=PUBLIC, include_in_schema=False, status_code=303)
async def cart_update(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    optional_caller: Caller | None,
    line_id: int,
    data: Annotated[dict[str, str], FORM],
) -> Response[Any]:
    """Change a line's quantity (`quantity`), or remove it (`remove=1`, or quantity 0)."""
    set_language(request)
    service = CartService(db_session)
    token = cart_token_of(request)
    quantity = form_int(data, "quantity")
    try:
        if data.get("remove") == "1" or quantity == 0:
            await service.remove_line(optional_caller, token, line_id)
        elif quantity is None or not 1 <= quantity <= MAX_LINE_QUANTITY:
            message = _("数量请填 1 到 %(n)s 之间的整数。") % {"n": MAX_LINE_QUANTITY}
            return await _cart_page(request, db_session, optional_caller, error=message, status_code=422)
        else:
            await service.update_line(optional_caller, token, line_id, CartLineUpdate(quantity=quantity))
    except DomainError as exc:
        return await _cart_page(
            request, db_session, optional_caller, error=error_text(exc), status_code=exc.status_code
        )
    return Redirect(_back(data, "/cart"), status_code=303)


route_handlers = [cart_page, cart_add, cart_update]
