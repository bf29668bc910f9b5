"""The buyer's orders: the list, and one order with its parcels' timeline, pickup code and where the money went."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.models import NodeKind
from logistics.schemas import TrackingOut
from logistics.services import NetworkService, order_tracking
from shop.auth import PUBLIC, Caller
from shop.errors import DomainError, NotFound
from shop.orders.models import OrderStatus
from shop.orders.receipts import ReceiptService
from shop.orders.services import OrderService
from shop.payments.services import PaymentService
from shop.settings import Settings
from shop.web.storefront.views import FORM, login_redirect, page_filters, pages
from shop.web.templating import render, set_language

PER_PAGE = 10


@get("/orders", opt=PUBLIC, include_in_schema=False)
async def orders_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, optional_caller: Caller | None
) -> Response[Any]:
    if optional_caller is None:
        return login_redirect(request)
    raw = request.query_params.get("page") or "1"
    page = int(raw) if raw.isdigit() and 1 <= int(raw) <= 100_000 else 1
    orders, total = await OrderService(db_session).history(optional_caller, PER_PAGE, (page - 1) * PER_PAGE)
    return render(
        request,
        "storefront/orders.html",
        orders=orders,
        total=total,
        page=page,
        page_count=pages(total, PER_PAGE),
        **page_filters(),
    )


async def _tracking(session: AsyncSession, caller: Caller, order_id: int) -> TrackingOut | None:
    try:
        return await order_tracking(session, caller, order_id)
    except NotFound:
        return None  # no parcels yet (not paid, or the shipments are being made)


@get("/orders/{order_id:int}", opt=PUBLIC, include_in_schema=False)
async def order_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    optional_caller: Caller | None,
    order_id: int,
) -> Response[Any]:
    if optional_caller is None:
        return login_redirect(request)
    order = await OrderService(db_session).get(optional_caller, order_id)
    receipt = await ReceiptService(db_session).receipt(optional_caller, order_id)
    tracking = await _tracking(db_session, optional_caller, order_id)
    point = None
    if order.pickup_point_id is not None:
        try:
            point = await NetworkService(db_session).node(order.pickup_point_id, NodeKind.POINT)
        except DomainError:
            point = None  # the fallback quoter accepted a point the network does not know
    names = {w.workshop_id: w.name for w in receipt.workshops}
    return render(
        request,
        "storefront/order.html",
        order=order,
        receipt=receipt,
        tracking=tracking,
        point=point,
        workshop_names=names,
        placed=request.query_params.get("placed") == "1",
        cancelled=request.query_params.get("cancelled") == "1",
        can_cancel=order.status is OrderStatus.PENDING_PAYMENT,
        stripe_enabled=settings.stripe.enabled,
        **page_filters(),
    )


@post("/orders/{order_id:int}/cancel", opt=PUBLIC, include_in_schema=False, status_code=303)
async def order_cancel(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    optional_caller: Caller | None,
    order_id: int,
    data: Annotated[dict[str, str], FORM],
) -> Response[Any]:
    """Cancel an unpaid order (the order service releases stock and voucher; 409 once it is paid)."""
    if optional_caller is None:
        return Redirect(f"/login?next=/orders/{order_id}", status_code=303)
    set_language(request)
    reason = (data.get("reason") or "").strip()[:200]
    await OrderService(db_session).cancel(optional_caller, order_id, reason or "买家在订单页取消")
    return Redirect(f"/orders/{order_id}?cancelled=1", status_code=303)


@post("/orders/{order_id:int}/pay", opt=PUBLIC, include_in_schema=False, status_code=200)
async def order_pay(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    optional_caller: Caller | None,
    order_id: int,
) -> Response[Any]:
    """Pay online: the payment service makes (or returns) the order's PaymentIntent; Stripe.js confirms it."""
    if optional_caller is None:
        return Redirect(f"/login?next=/orders/{order_id}", status_code=303)
    if not settings.stripe.enabled:
        raise NotFound("Online payment is not offered here.")
    # One key per order: pressing "pay" again shows the same PaymentIntent instead of making another.
    payment = await PaymentService(db_session, settings).start_stripe(optional_caller, order_id, f"page-pay-{order_id}")
    return render(
        request, "storefront/pay.html", payment=payment, return_url=f"{settings.app.base_url}/orders/{order_id}"
    )


route_handlers = [orders_page, order_page, order_cancel, order_pay]
