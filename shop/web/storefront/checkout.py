"""Checkout page: delivery (village pickup point, or home with its fee), voucher, exact totals, payment method.

One form. `action=quote` (and htmx on change) re-renders it with the pickup points of the chosen village and the
exact totals, priced by the same quoter and voucher rules the checkout service uses; `action=place` checks out
through `CheckoutService` with the form's Idempotency-Key (a hidden field made when the form was first shown), so a
double submit answers with the same order instead of making two.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import RegionLevel
from catalog.services import RegionService
from logistics.schemas import PointOption
from logistics.schemas import QuoteLine as ParcelLine
from logistics.services import LogisticsDelivery
from shop.auth import PUBLIC, Caller
from shop.cart.schemas import CartOut
from shop.cart.services import CartService
from shop.checkout.delivery import DeliveryRequest, QuoteLine, get_quoter
from shop.checkout.pricing import PricedLine, Totals, compute_totals
from shop.checkout.schemas import CheckoutIn
from shop.checkout.services import CheckoutService
from shop.db import utcnow
from shop.errors import DomainError
from shop.ratelimit import CHECKOUT, limited
from shop.settings import Settings
from shop.vouchers.services import VoucherService, terms_of
from shop.web.i18n import gettext as _
from shop.web.storefront.views import (
    FORM,
    BasketLine,
    basket_lines,
    cart_token_of,
    error_text,
    form_int,
    login_redirect,
)
from shop.web.templating import render, set_language

IDEMPOTENCY_SHAPE = 43  # secrets.token_urlsafe(32)


@dataclass
class CheckoutForm:
    """What the buyer has chosen so far (from the query on first view, from the form after)."""

    method: str = "pickup"
    village_id: int | None = None
    point_id: int | None = None
    name: str = ""
    phone: str = ""
    detail: str = ""
    voucher: str = ""
    payment: str = "offline"
    idem: str = ""

    @classmethod
    def read(cls, data: dict[str, str], stripe_enabled: bool) -> CheckoutForm:
        idem = (data.get("idem") or "").strip()
        return cls(
            method="home" if data.get("method") == "home" else "pickup",
            village_id=form_int(data, "village"),
            point_id=form_int(data, "point"),
            name=(data.get("name") or "").strip()[:64],
            phone=(data.get("phone") or "").strip()[:20],
            detail=(data.get("detail") or "").strip()[:200],
            voucher=(data.get("voucher") or "").strip()[:32],
            payment="stripe" if stripe_enabled and data.get("payment") == "stripe" else "offline",
            idem=idem if 16 <= len(idem) <= 128 else secrets.token_urlsafe(32),
        )


@dataclass
class Quote:
    villages: list[tuple[str, list[tuple[int, str]]]]
    points: list[PointOption] = field(default_factory=list)
    unavailable: list[PointOption] = field(default_factory=list)
    shipping_fen: int | None = None
    ready_date: dt.date | None = None
    totals: Totals | None = None
    errors: dict[str, str] = field(default_factory=dict)


async def _villages(session: AsyncSession) -> list[tuple[str, list[tuple[int, str]]]]:
    """Villages grouped by county and township, for the picker (an <optgroup> each)."""
    regions = RegionService(session)
    counties = {r.id: r.name for r in await regions.list_regions(RegionLevel.COUNTY, None)}
    townships = {r.id: r for r in await regions.list_regions(RegionLevel.TOWNSHIP, None)}
    grouped: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for village in await regions.list_regions(RegionLevel.VILLAGE, None):
        if village.township_id in townships:
            grouped[village.township_id].append((village.id, village.name))
    out = []
    for township_id, villages in grouped.items():
        township = townships[township_id]
        out.append((f"{counties.get(township.county_id or 0, '')} · {township.name}", sorted(villages)))
    return sorted(out)


async def _quote(session: AsyncSession, caller: Caller, cart: CartOut, form: CheckoutForm) -> Quote:
    quote = Quote(villages=await _villages(session))
    lines = await basket_lines(session, cart)
    if lines:
        await _delivery(session, form, quote, lines)
    terms = None
    if form.voucher:
        try:
            voucher = await VoucherService(session).check(form.voucher, caller.id, cart.subtotal_fen, utcnow())
            terms = terms_of(voucher)
        except DomainError as exc:
            quote.errors["voucher"] = error_text(exc)
    priced_lines = [PricedLine(i, ln.current_price_fen, ln.quantity) for i, ln in enumerate(cart.lines)]
    quote.totals = compute_totals(priced_lines, terms, quote.shipping_fen or 0)
    await session.rollback()  # reads only; leave no transaction open while the page renders
    return quote


async def _delivery(session: AsyncSession, form: CheckoutForm, quote: Quote, lines: list[BasketLine]) -> None:
    """Pickup points of the chosen village, and the delivery quote the checkout itself will use."""
    if form.village_id is not None and form.method == "pickup":
        try:
            parcels = [
                ParcelLine(
                    product_id=ln.product_id,
                    workshop_id=ln.workshop_id,
                    weight_g=ln.weight_g,
                    qty=ln.quantity,
                    shelf_life_days=ln.shelf_life_days,
                )
                for ln in lines
            ]
            options = await LogisticsDelivery().available_pickup_points(session, form.village_id, parcels)
            quote.points, quote.unavailable = options.points, options.unavailable
        except DomainError:
            quote.errors["village"] = _("请选择您所在的村。")
        if form.point_id not in {p.point_id for p in quote.points}:
            form.point_id = quote.points[0].point_id if quote.points else None
    request = None
    if form.method == "pickup" and form.point_id is not None:
        request = DeliveryRequest("pickup", form.point_id)
    elif form.method == "home" and form.village_id is not None:
        address = await _address(session, form)
        request = DeliveryRequest("home", None, address) if address else None
    if request is not None:
        try:
            priced = await get_quoter().quote(
                session,
                request,
                [
                    QuoteLine(
                        ln.variant_id, ln.product_id, ln.workshop_id, ln.quantity, ln.weight_g, ln.shelf_life_days
                    )
                    for ln in lines
                ],
            )
            quote.shipping_fen, quote.ready_date = priced.shipping_fen, priced.ready_date
        except DomainError as exc:
            quote.errors["delivery"] = error_text(exc)


async def _address(session: AsyncSession, form: CheckoutForm) -> dict[str, str] | None:
    if form.village_id is None:
        return None
    try:
        path = await RegionService(session).village_path(form.village_id)
    except DomainError:
        return None
    return {
        "name": form.name or "-",
        "phone": form.phone or "13800000000",  # only to price the fee before the buyer has typed a number
        "county": path.county,
        "township": path.township,
        "village": path.village,
        "detail": form.detail or "-",
    }


async def _page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    form: CheckoutForm,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    set_language(request)
    cart = await CartService(session).view(caller, cart_token_of(request))
    quote = await _quote(session, caller, cart, form)
    template = "storefront/_checkout_form.html" if request.headers.get("hx-request") else "storefront/checkout.html"
    return render(
        request,
        template,
        status_code=status_code,
        cart=cart,
        form=form,
        quote=quote,
        error=error,
        stripe_enabled=settings.stripe.enabled,
    )


@get("/checkout", opt=PUBLIC, include_in_schema=False)
async def checkout_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, optional_caller: Caller | None
) -> Response[Any]:
    if optional_caller is None:
        return login_redirect(request)
    form = CheckoutForm.read(dict(request.query_params.items()), settings.stripe.enabled)
    form.idem = secrets.token_urlsafe(32)  # a fresh key for each form shown
    return await _page(request, db_session, settings, optional_caller, form)


def _checkout_body(form: CheckoutForm, address: dict[str, str] | None) -> CheckoutIn:
    """The checkout API's own body, validated by its schema (msgspec raises ValidationError naming the field)."""
    delivery: dict[str, Any] = {"method": form.method}
    if form.method == "pickup":
        delivery["pickup_point_id"] = form.point_id
    else:
        delivery["address"] = address
    body: dict[str, Any] = {"delivery": delivery, "payment_method": form.payment}
    if form.voucher:
        body["voucher_code"] = form.voucher
    return msgspec.convert(body, CheckoutIn)


@post("/checkout", opt={**PUBLIC, **limited(CHECKOUT)}, include_in_schema=False, status_code=303)
async def checkout_submit(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    optional_caller: Caller | None,
    data: Annotated[dict[str, str], FORM],
) -> Response[Any]:
    if optional_caller is None:
        return Redirect("/login?next=/checkout", status_code=303)
    set_language(request)
    form = CheckoutForm.read(data, settings.stripe.enabled)
    if data.get("action") != "place":
        return await _page(request, db_session, settings, optional_caller, form)
    error = None
    address = None
    if form.method == "pickup" and form.point_id is None:
        error = _("请选择自提点。")
    elif form.method == "home":
        if form.village_id is None or not (form.name and form.phone and form.detail):
            error = _("送货上门请填写村、收货人、手机号码和详细地址。")
        else:
            address = await _address(session=db_session, form=form)
            if address is not None:
                address |= {"name": form.name, "phone": form.phone, "detail": form.detail}
    if error is None:
        try:
            body = _checkout_body(form, address)
            order = await CheckoutService(db_session).checkout(
                optional_caller, body, cart_token=cart_token_of(request), idempotency_key=form.idem
            )
        except msgspec.ValidationError as exc:
            error = _("请检查填写的内容") + f"：{exc}"
            status = 422
        except DomainError as exc:
            error, status = error_text(exc), exc.status_code
        else:
            return Redirect(f"/orders/{order.id}?placed=1", status_code=303)
    else:
        status = 422
    return await _page(request, db_session, settings, optional_caller, form, error=error, status_code=status)


route_handlers = [checkout_page, checkout_submit]
