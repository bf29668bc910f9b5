"""Cart API: anonymous carts by token (X-Cart-Token header or hub_cart cookie), the buyer's cart when logged in."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import Cookie
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from shop.auth import PUBLIC, Caller, requires_login
from shop.cart.schemas import CartLineIn, CartLineUpdate, CartOut
from shop.cart.services import CartService
from shop.settings import Settings

CART_COOKIE = "hub_cart"
CART_HEADER = "X-Cart-Token"


def cart_token(header: str | None, cookie: str | None) -> str | None:
    return (header or cookie or None) and (header or cookie or "")[:64]


def _with_cookie(cart: CartOut, settings: Settings, status_code: int = 200) -> Response[CartOut]:
    cookies = []
    if cart.token:
        cookies.append(
            Cookie(
                key=CART_COOKIE,
                value=cart.token,
                httponly=True,
                samesite="lax",
                path="/",
                secure=settings.app.secure_cookies,
                max_age=30 * 24 * 3600,
            )
        )
    return Response(cart, status_code=status_code, cookies=cookies)


TokenHeader = Parameter(header=CART_HEADER, default=None, max_length=64)
TokenCookie = Parameter(cookie=CART_COOKIE, default=None, max_length=64)


class CartController(Controller):
    path = "/api/cart"
    tags = ["cart"]

    @get("", opt=PUBLIC, summary="The cart (anonymous by token, or the logged-in buyer's)")
    async def view(
        self,
        db_session: AsyncSession,
        optional_caller: Caller | None,
        x_cart_token: str | None = TokenHeader,
        hub_cart: str | None = TokenCookie,
    ) -> CartOut:
        return await CartService(db_session).view(optional_caller, cart_token(x_cart_token, hub_cart))

    @post("/lines", opt=PUBLIC, summary="Add a variant (optionally through a live session's share code)")
    async def add(
        self,
        db_session: AsyncSession,
        settings: Settings,
        optional_caller: Caller | None,
        data: CartLineIn,
        x_cart_token: str | None = TokenHeader,
        hub_cart: str | None = TokenCookie,
    ) -> Response[CartOut]:
        """Anonymous callers get a cart token in the body and the hub_cart cookie. 404 unknown variant."""
        cart = await CartService(db_session).add(optional_caller, cart_token(x_cart_token, hub_cart), data)
        return _with_cookie(cart, settings, 201)

    @patch("/lines/{line_id:int}", opt=PUBLIC, summary="Change a line's quantity")
    async def update(
        self,
        db_session: AsyncSession,
        optional_caller: Caller | None,
        line_id: int,
        data: CartLineUpdate,
        x_cart_token: str | None = TokenHeader,
        hub_cart: str | None = TokenCookie,
    ) -> CartOut:
        return await CartService(db_session).update_line(
            optional_caller, cart_token(x_cart_token, hub_cart), line_id, data
        )

    @delete("/lines/{line_id:int}", opt=PUBLIC, status_code=200, summary="Remove a line")
    async def remove(
        self,
        db_session: AsyncSession,
        optional_caller: Caller | None,
        line_id: int,
        x_cart_token: str | None = TokenHeader,
        hub_cart: str | None = TokenCookie,
    ) -> CartOut:
        return await CartService(db_session).remove_line(optional_caller, cart_token(x_cart_token, hub_cart), line_id)

    @post(
        "/merge", guards=[requires_login], status_code=200, summary="Merge the anonymous cart into mine (after login)"
    )
    async def merge(
        self,
        db_session: AsyncSession,
        caller: Caller,
        x_cart_token: str | None = TokenHeader,
        hub_cart: str | None = TokenCookie,
    ) -> CartOut:
        return await CartService(db_session).merge(caller, cart_token(x_cart_token, hub_cart))


route_handlers = [CartController]
