"""Helpers the storefront pages share: labels, the anonymous cart cookie, form reading, page redirects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import WORKSHOP_TYPE_LABELS, Product, ProductVariant, WorkshopType
from shop.cart.controllers import CART_COOKIE
from shop.cart.schemas import CartOut
from shop.errors import DomainError
from shop.ledger.services import split_line
from shop.orders.models import OrderStatus
from shop.orders.receipts import BENEFIT_LABELS
from shop.settings import Settings
from shop.web.i18n import gettext as _

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
CART_MAX_AGE = 30 * 24 * 3600

# The search service's price bands (yuan), in the order a buyer reads them.
PRICE_BANDS: dict[str, str] = {
    "lt20": "20元以下",
    "20_50": "20–50元",
    "50_100": "50–100元",
    "100_200": "100–200元",
    "gte200": "200元以上",
}

STATUS_LABELS: dict[str, str] = {
    OrderStatus.PENDING_PAYMENT.value: "待付款",
    OrderStatus.PAID.value: "已付款",
    OrderStatus.PACKED.value: "已打包",
    OrderStatus.SHIPPED.value: "已发货",
    OrderStatus.READY_FOR_PICKUP.value: "待自提",
    OrderStatus.COLLECTED.value: "已自提",
    OrderStatus.DELIVERED.value: "已送达",
    OrderStatus.CANCELLED.value: "已取消",
    OrderStatus.PARTIALLY_REFUNDED.value: "部分退款",
    OrderStatus.REFUNDED.value: "已退款",
}

SHIPMENT_LABELS: dict[str, str] = {
    "created": "待发出",
    "in_transit": "运输中",
    "awaiting_pickup": "已到自提点，待取件",
    "collected": "已取件",
    "returned": "超期未取，已退回",
    "with_courier": "快递派送中",
    "delivered": "已送达",
}


# These give the Chinese source text; templates translate it with `_()` like any other text.
def status_label(status: Any) -> str:
    value = str(getattr(status, "value", status))
    return STATUS_LABELS.get(value, value)


def shipment_label(status: Any) -> str:
    value = str(getattr(status, "value", status))
    return SHIPMENT_LABELS.get(value, value)


def benefit_label(model: Any) -> str:
    value = str(getattr(model, "value", model))
    return BENEFIT_LABELS.get(value, value)


def workshop_type_label(value: Any, fallback: str = "") -> str:
    try:
        return WORKSHOP_TYPE_LABELS[WorkshopType(str(getattr(value, "value", value)))]
    except ValueError:
        return fallback or str(value)


def local_time(moment: dt.datetime | None) -> str:
    """A moment as buyers in Zhejiang read it (Asia/Shanghai), e.g. 2026-11-23 18:05."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def page_filters() -> dict[str, Any]:
    """Functions the storefront templates call."""
    return {
        "local_time": local_time,
        "status_label": status_label,
        "shipment_label": shipment_label,
        "benefit_label": benefit_label,
        "type_label": workshop_type_label,
    }


# ---- the anonymous cart ----------------------------------------------------------------------------------------
def cart_token_of(request: Request[Any, Any, Any]) -> str | None:
    token = request.cookies.get(CART_COOKIE)
    return token[:64] if token else None


def cart_cookie(token: str | None, settings: Settings) -> list[Cookie]:
    """The hub_cart cookie for an anonymous cart (same attributes as the cart API sets)."""
    if not token:
        return []
    return [
        Cookie(
            key=CART_COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            path="/",
            secure=settings.app.secure_cookies,
            max_age=CART_MAX_AGE,
        )
    ]


def clear_cart_cookie() -> Cookie:
    return Cookie(key=CART_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax")


def login_redirect(request: Request[Any, Any, Any]) -> Redirect:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"/login?next={quote(target, safe='')}", status_code=303)


def form_int(data: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = (data.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        return default


def error_text(exc: DomainError) -> str:
    """A service refusal in the page's language: a short lead by field, then the service's own detail."""
    leads = {
        "voucher_code": _("优惠券不能使用"),
        "delivery.pickup_point_id": _("这个自提点现在不能收这件包裹"),
        "delivery.address": _("收货地址有问题"),
        "delivery.address.county": _("收货地址有问题"),
        "delivery.address.township": _("收货地址有问题"),
        "delivery.address.village": _("收货地址有问题"),
        "delivery.address.phone": _("请填写正确的手机号码"),
        "delivery.address.name": _("请填写收货人"),
        "delivery.address.detail": _("请填写详细地址"),
        "lines": _("购物车是空的"),
    }
    field = exc.field or ""
    lead = leads.get(field) or (_("库存不足或商品已下架") if field.startswith("cart.lines") else _("操作没有完成"))
    return f"{lead}：{exc.detail}"


# ---- money: where it goes -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MoneySplit:
    price_fen: int
    service_fee_bp: int
    service_centre_fen: int
    workshop_fen: int

    @property
    def rate_percent(self) -> str:
        """The fee rate as a percentage for people (500 bp → "5", 250 bp → "2.5"), without floats."""
        whole, part = divmod(self.service_fee_bp, 100)
        return f"{whole}.{part:02d}".rstrip("0") if part else str(whole)


def money_split(price_fen: int, service_fee_bp: int) -> MoneySplit:
    """The ledger's own split of one unit bought directly (no live session): service-centre fee and workshop."""
    split = split_line(price_fen, service_fee_bp, None)
    return MoneySplit(price_fen, service_fee_bp, split.service_fee_fen, split.workshop_revenue_fen)


# ---- delivery quotes need weights and shelf lives, which the cart does not carry --------------------------------
@dataclass(frozen=True, slots=True)
class BasketLine:
    """A cart line with what delivery quotes need (weight, shelf life, workshop), which the cart does not carry."""

    variant_id: int
    product_id: int
    workshop_id: int
    quantity: int
    weight_g: int
    shelf_life_days: int | None


async def basket_lines(session: AsyncSession, cart: CartOut) -> list[BasketLine]:
    if not cart.lines:
        return []
    rows = {
        r.id: r
        for r in (
            await session.execute(
                select(ProductVariant.id, ProductVariant.weight_g, Product.workshop_id, Product.shelf_life_days)
                .join(Product, Product.id == ProductVariant.product_id)
                .where(ProductVariant.id.in_([ln.variant_id for ln in cart.lines]))
            )
        ).all()
    }
    out = []
    for ln in cart.lines:
        row = rows.get(ln.variant_id)
        if row is not None:
            out.append(
                BasketLine(
                    ln.variant_id, ln.product_id, row.workshop_id, ln.quantity, row.weight_g, row.shelf_life_days
                )
            )
    return out


def pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))
