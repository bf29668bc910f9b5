"""The showroom kiosk's pages (/kiosk): attract screen, brand families, workshops, products, search with an
on-screen keyboard, live now, and "buy on your phone" QR codes for a product or for a cart built at the screen.

Every page needs the kiosk device token in the `hub_kiosk` cookie (see `device.py`); the routes are marked public
for the app's role guards because the device check is their own guard. The cart built here is an ordinary
anonymous cart (the cart service); its token lives in the `hub_kiosk_cart` cookie until the screen resets, and
the QR code hands that cart to the visitor's phone.
"""

from __future__ import annotations

import io
from typing import Annotated, Any
from urllib.parse import quote

import qrcode
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.services.products import ProductService
from catalog.services.workshops import WorkshopService
from shop.auth import PUBLIC
from shop.cart.schemas import CartLineIn, CartLineUpdate, CartOut
from shop.cart.services import MAX_LINE_QUANTITY, CartService
from shop.errors import InvalidInput, NotFound
from shop.ratelimit import SEARCH, limited
from shop.settings import Settings
from shop.web.i18n import LANG_COOKIE
from shop.web.kiosk import views
from shop.web.kiosk.device import (
    KIOSK_PATH,
    KioskNotActivated,
    authenticate_device,
    device_cookie,
    require_kiosk_device,
)
from shop.web.templating import render

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
KIOSK_CART_COOKIE = "hub_kiosk_cart"
NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


def kiosk_render(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    """A kiosk page: never cached (the next visitor must not see this one's screen), with the idle timeout."""
    page = render(
        request,
        template,
        status_code=status_code,
        idle_seconds=views.idle_seconds(request.query_params.get("idle")),
        highlight=views.safe_highlight,
        local_time=views.local_time,
        benefit_labels=views.BENEFIT_LABELS,
        **context,
    )
    page.headers.update(NO_STORE)
    return page


def not_activated(request: Request[Any, Any, Any], exc: KioskNotActivated) -> Response[Any]:
    """A plain page, not the log-in redirect: nobody can log in at a screen without a keyboard."""
    page = render(request, "kiosk/not_activated.html", status_code=exc.status_code, reason=exc.reason)
    page.headers.update(NO_STORE)
    return page  # type: ignore[return-value]


def not_found(request: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    return kiosk_render(request, "kiosk/not_found.html", status_code=404)  # type: ignore[return-value]


def qr_png(text: str) -> bytes:
    """The same QR rendering as the livestream share codes (qrcode → PNG), sized to scan from a big screen."""
    image = qrcode.make(text, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def product_url(settings: Settings, product_id: int) -> str:
    return f"{settings.app.base_url.rstrip('/')}/products/{product_id}"


def cart_url(settings: Settings, token: str) -> str:
    return f"{settings.app.base_url.rstrip('/')}/cart?token={quote(token, safe='')}"


def positive_int(data: dict[str, str], name: str, maximum: int = 2**62) -> int:
    raw = (data.get(name) or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise InvalidInput(f"{name} must be a whole number from 1 to {maximum}.", field=name)
    return int(raw)


def cart_cookie(token: str, settings: Settings) -> Cookie:
    return Cookie(
        key=KIOSK_CART_COOKIE,
        value=token,
        httponly=True,
        samesite="strict",
        secure=settings.app.secure_cookies,
        max_age=4 * 3600,  # a visitor's session at the screen, at most; the reset forgets it much sooner
        path=KIOSK_PATH,
    )


async def kiosk_cart(request: Request[Any, Any, Any], db_session: AsyncSession) -> CartOut:
    token = request.cookies.get(KIOSK_CART_COOKIE)
    return await CartService(db_session).view(None, token[:64] if token else None)


@get("/kiosk/activate", opt=PUBLIC, include_in_schema=False, exception_handlers={KioskNotActivated: not_activated})
async def activate(request: Request[Any, Any, Any], settings: Settings, token: str | None = None) -> Response[Any]:
    """Opened once on the screen by the centre admin: keep the device token in the cookie, then show the kiosk."""
    _device, claims = await authenticate_device(token, settings.app.secret_key, request.app.state.session_factory)
    assert token is not None
    return Redirect(KIOSK_PATH, status_code=303, cookies=[device_cookie(token, claims, settings)], headers=NO_STORE)


class KioskController(Controller):
    path = KIOSK_PATH
    guards = [require_kiosk_device]
    include_in_schema = False
    exception_handlers = {KioskNotActivated: not_activated, NotFound: not_found}

    # ---- attract screen and browsing ---------------------------------------------------------------------------
    @get("", opt=PUBLIC)
    async def attract(self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings) -> Template:
        board = await views.live_board(db_session, request.app, settings.app.base_url)
        popular, _ = await ProductService(db_session).list_products(sort="sales", limit=6)
        cart = await kiosk_cart(request, db_session)
        return kiosk_render(request, "kiosk/attract.html", board=board, popular=popular, cart=cart, attract=True)

    @get("/brands", opt=PUBLIC)
    async def brands(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
        cart = await kiosk_cart(request, db_session)
        return kiosk_render(request, "kiosk/brands.html", families=await views.families(db_session), cart=cart)

    @get("/brands/{brand_id:int}", opt=PUBLIC)
    async def brand(self, request: Request[Any, Any, Any], db_session: AsyncSession, brand_id: int) -> Template:
        page = await views.brand_page(db_session, brand_id)
        cart = await kiosk_cart(request, db_session)
        return kiosk_render(request, "kiosk/brand.html", page=page, cart=cart)

    @get("/workshops", opt=PUBLIC)
    async def workshops(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
        items, total = await WorkshopService(db_session).list_workshops(
            county_id=None, workshop_type=None, stars_min=None, limit=48, offset=0
        )
        items.sort(key=lambda w: (-(w.latest_stars or 0), w.id))
        cart = await kiosk_cart(request, db_session)
        return kiosk_render(request, "kiosk/workshops.html", workshops=items, total=total, cart=cart)

    @get("/workshops/{workshop_id:int}", opt=PUBLIC)
    async def workshop(self, request: Request[Any, Any, Any], db_session: AsyncSession, workshop_id: int) -> Template:
        workshop = await WorkshopService(db_session).detail(workshop_id)
        if not workshop.is_active:
            raise NotFound(f"Workshop {workshop_id} not found.")
        products, _ = await ProductService(db_session).list_products(workshop_id=workshop_id, sort="sales", limit=24)
        cart = await kiosk_cart(request, db_session)
        return kiosk_render(request, "kiosk/workshop.html", workshop=workshop, products=products, cart=cart)

    @get("/products/{product_id:int}", opt=PUBLIC)
    async def product(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, product_id: int
    ) -> Template:
        product = await ProductService(db_session).detail(product_id)
        workshop = await WorkshopService(db_session).detail(product.workshop.id)
        cart = await kiosk_cart(request, db_session)
        added = request.query_params.get("added") == "1"
        return kiosk_render(
            request,
            "kiosk/product.html",
            product=product,
            workshop=workshop,
            cart=cart,
            added=added,
            phone_url=product_url(settings, product.id),
        )

    @get("/products/{product_id:int}/qr.png", opt=PUBLIC)
    async def product_qr(self, db_session: AsyncSession, settings: Settings, product_id: int) -> Response[bytes]:
        product = await ProductService(db_session).detail(product_id)
        return Response(
            qr_png(product_url(settings, product.id)),
            media_type="image/png",
            headers={"cache-control": "private, max-age=3600"},
        )

    # ---- search with the on-screen keyboard --------------------------------------------------------------------
    @get("/search", opt={**PUBLIC, **limited(SEARCH)})
    async def search(self, request: Request[Any, Any, Any], db_session: AsyncSession, q: str = "") -> Template:
        results = await views.search(request.app, q)
        cart = await kiosk_cart(request, db_session)
        return kiosk_render(request, "kiosk/search.html", results=results, q=results.q, cart=cart)

    @get("/search/results", opt={**PUBLIC, **limited(SEARCH)})
    async def search_results(self, request: Request[Any, Any, Any], q: str = "") -> Template:
        """The results list alone, for htmx as the visitor types."""
        results = await views.search(request.app, q)
        return kiosk_render(request, "kiosk/_results.html", results=results, q=results.q)

    # ---- live now -----------------------------------------------------------------------------------------------
    @get("/live", opt=PUBLIC)
    async def live(self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings) -> Template:
        board = await views.live_board(db_session, request.app, settings.app.base_url)
        cart = await kiosk_cart(request, db_session)
        return kiosk_render(request, "kiosk/live.html", board=board, cart=cart)

    @get("/live/strip", opt=PUBLIC)
    async def live_strip(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> Template:
        """The "live now" strip alone: htmx polls it when the WebSocket is down, and after a status change."""
        sessions = await views.live_now(db_session, request.app, settings.app.base_url)
        return kiosk_render(request, "kiosk/_live_strip.html", live=sessions)

    @get("/live/board", opt=PUBLIC)
    async def live_board(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> Template:
        """Upcoming sessions and the month's leaderboard alone: htmx refreshes them on a screen left on all day."""
        board = await views.live_board(db_session, request.app, settings.app.base_url)
        return kiosk_render(request, "kiosk/_board.html", board=board)

    # ---- the kiosk cart -----------------------------------------------------------------------------------------
    @get("/cart", opt=PUBLIC)
    async def cart(self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings) -> Template:
        cart = await kiosk_cart(request, db_session)
        phone_url = cart_url(settings, cart.token) if cart.token and cart.lines else None
        return kiosk_render(request, "kiosk/cart.html", cart=cart, phone_url=phone_url)

    @get("/cart/qr.png", opt=PUBLIC)
    async def cart_qr(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> Response[bytes]:
        cart = await kiosk_cart(request, db_session)
        if not cart.token or not cart.lines:
            raise NotFound("The kiosk cart is empty.")
        # The code carries the cart's token: never let a cache keep it past this visitor.
        return Response(qr_png(cart_url(settings, cart.token)), media_type="image/png", headers=NO_STORE)

    @post("/cart/lines", opt=PUBLIC, status_code=303)
    async def add_line(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        data: Annotated[dict[str, str], FORM],
    ) -> Redirect:
        variant_id = positive_int(data, "variant_id")
        quantity = positive_int(data, "quantity", MAX_LINE_QUANTITY) if data.get("quantity") else 1
        token = request.cookies.get(KIOSK_CART_COOKIE)
        cart = await CartService(db_session).add(None, token[:64] if token else None, CartLineIn(variant_id, quantity))
        product_id = next((ln.product_id for ln in cart.lines if ln.variant_id == variant_id), None)
        target = f"{KIOSK_PATH}/products/{product_id}?added=1" if product_id else f"{KIOSK_PATH}/cart"
        cookies = [cart_cookie(cart.token, settings)] if cart.token else []
        return Redirect(target, status_code=303, cookies=cookies, headers=NO_STORE)

    @post("/cart/lines/{line_id:int}", opt=PUBLIC, status_code=303)
    async def update_line(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        line_id: int,
        data: Annotated[dict[str, str], FORM],
    ) -> Redirect:
        """Quantity 0 removes the line; a line that is already gone is simply not there any more."""
        raw = (data.get("quantity") or "").strip()
        if not raw.isdigit() or int(raw) > MAX_LINE_QUANTITY:
            raise InvalidInput(f"quantity must be a whole number from 0 to {MAX_LINE_QUANTITY}.", field="quantity")
        token = request.cookies.get(KIOSK_CART_COOKIE)
        service = CartService(db_session)
        try:
            if int(raw) == 0:
                await service.remove_line(None, token[:64] if token else None, line_id)
            else:
                await service.update_line(None, token[:64] if token else None, line_id, CartLineUpdate(int(raw)))
        except NotFound:  # a double tap on a line already removed: the cart below shows what is left
            pass
        return Redirect(f"{KIOSK_PATH}/cart", status_code=303, headers=NO_STORE)

    # ---- privacy: the next visitor starts afresh ---------------------------------------------------------------
    @post("/reset", opt=PUBLIC, status_code=303)
    async def reset(self) -> Redirect:
        """Forget this visitor's cart (it stays reachable from their phone through the QR code) and language."""
        cookies = [
            Cookie(key=KIOSK_CART_COOKIE, value="", max_age=0, path=KIOSK_PATH),
            Cookie(key=LANG_COOKIE, value="", max_age=0, path="/"),
        ]
        return Redirect(KIOSK_PATH, status_code=303, cookies=cookies, headers=NO_STORE)


route_handlers = [activate, KioskController]
