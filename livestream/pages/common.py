"""Helpers the studio pages (主播工作台) share: who is looking, local times, the product picker, plain-words errors.

Rules live in the livestream services; this module only reads rows for display and turns a service's refusal into
a sentence a streamer understands (which session or closure is in the way, and when).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from litestar import Request
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Product, ProductStatus, ProductVariant, StockLevel, Workshop
from livestream.models import LiveSession, SessionStatus, Studio
from livestream.services.common import SHANGHAI, local
from livestream.services.figures import LiveFigures
from shop.accounts.models import Role, User
from shop.auth import Caller, requires
from shop.errors import Conflict, DomainError, InvalidInput
from shop.web.i18n import gettext as _

studio_guard = requires(Role.STREAMER, Role.CENTRE_ADMIN)
PICKER_LIMIT = 30
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
STATUS_LABELS = {
    SessionStatus.SCHEDULED: "已排期",
    SessionStatus.LIVE: "直播中",
    SessionStatus.ENDED: "已结束",
    SessionStatus.CANCELLED: "已取消",
}


def status_label(status: SessionStatus) -> str:
    return _(STATUS_LABELS[status])


def weekday_label(day: dt.date) -> str:
    return _(WEEKDAYS[day.weekday()])


def day_label(day: dt.date) -> str:
    return _("%(m)s月%(d)s日") % {"m": day.month, "d": day.day} + " " + weekday_label(day)


def hm(value: dt.datetime) -> str:
    return local(value).strftime("%H:%M")


def today_local() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def parse_day(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def figures_for(request: Request[Any, Any, Any]) -> LiveFigures:
    return LiveFigures.for_app(request.app)


def sees_all(caller: Caller) -> bool:
    """Centre staff see every streamer's studio pages; a streamer sees their own."""
    return caller.is_admin


@dataclass(frozen=True, slots=True)
class PickerProduct:
    id: int
    title: str
    price_fen: int
    workshop: str


async def pickable_products(session: AsyncSession, query: str, selected: list[int]) -> list[PickerProduct]:
    """The selected products first (in line-up order), then on-sale products with stock whose title matches."""
    in_stock = (
        select(ProductVariant.product_id)
        .join(StockLevel, StockLevel.variant_id == ProductVariant.id)
        .where(ProductVariant.is_active.is_(True))
        .group_by(ProductVariant.product_id)
        .having(func.sum(StockLevel.on_hand - StockLevel.reserved) > 0)
    )
    base = (
        select(Product.id, Product.title, Product.min_price_fen, Workshop.name)
        .join(Workshop, Workshop.id == Product.workshop_id)
        .where(Product.status == ProductStatus.ACTIVE, Product.is_experience.is_(False), Product.id.in_(in_stock))
    )
    chosen: dict[int, PickerProduct] = {}
    if selected:
        rows = await session.execute(
            select(Product.id, Product.title, Product.min_price_fen, Workshop.name)
            .join(Workshop, Workshop.id == Product.workshop_id)
            .where(Product.id.in_(selected))
        )
        found = {r[0]: PickerProduct(*r) for r in rows.tuples()}
        chosen = {pid: found[pid] for pid in selected if pid in found}
    text = query.strip()[:60]
    matches = base.order_by(Product.sales_count.desc(), Product.id).limit(PICKER_LIMIT)
    if text:
        pattern = f"%{text}%"
        matches = matches.where(or_(Product.title.ilike(pattern), Workshop.name.ilike(pattern)))
    rest = [PickerProduct(*r) for r in (await session.execute(matches)).tuples() if r[0] not in chosen]
    return [*chosen.values(), *rest]


def parse_ids(values: list[str]) -> list[int]:
    """Product ids from checkboxes, in the order given, without repeats or junk."""
    seen: list[int] = []
    for value in values:
        if value.isdigit() and int(value) not in seen and len(seen) < 50:
            seen.append(int(value))
    return seen


async def streamers(session: AsyncSession) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(User.id, User.display_name, User.username)
        .where(User.role == Role.STREAMER, User.is_active.is_(True))
        .order_by(User.id)
    )
    return [(uid, name or username) for uid, name, username in rows.tuples()]


async def explain(
    session: AsyncSession, error: DomainError, studio: Studio | None, starts_at: dt.datetime | None
) -> str:
    """A booking service's refusal in plain words: the session or closure in the way and its time."""
    conflict = error.extra.get("conflict") if isinstance(error, Conflict) else None
    if conflict and conflict.get("session_id"):
        other = await session.get(LiveSession, int(conflict["session_id"]))
        if other is not None:
            other_studio = await session.get(Studio, other.studio_id)
            values = {
                "title": other.title,
                "day": day_label(local(other.starts_at).date()),
                "start": hm(other.starts_at),
                "end": hm(other.ends_at),
                "studio": other_studio.name if other_studio else "",
                "gap": other_studio.turnover_gap_minutes if other_studio else 0,
            }
            if conflict.get("kind") == "studio":
                return (
                    _(
                        "这个时段和已有场次冲突：「%(title)s」%(day)s %(start)s–%(end)s 已占用%(studio)s，"
                        "两场之间还要留 %(gap)s 分钟整理直播间。请换一个空闲时段。"
                    )
                    % values
                )
            return (
                _("您在这个时段已经有一场直播：「%(title)s」%(day)s %(start)s–%(end)s（%(studio)s）。请换一个时段。")
                % values
            )
    if isinstance(error, InvalidInput) and studio is not None and starts_at is not None:
        day = local(starts_at).date()
        if error.field == "starts_at":
            closure = next((c for c in studio.closures if c.day == day), None)
            if closure is not None:
                return _("%(studio)s %(day)s 闭馆（%(reason)s），请换一天。") % {
                    "studio": studio.name,
                    "day": day_label(day),
                    "reason": closure.reason or _("未说明原因"),
                }
            if starts_at <= dt.datetime.now(dt.UTC):
                return _("开始时间 %(day)s %(start)s 已经过去，请选以后的时间。") % {
                    "day": day_label(day),
                    "start": hm(starts_at),
                }
            hours = "、".join(f"{a}–{b}" for a, b in studio.opening_hours.get(str(day.isoweekday()), []))
            return _("所选时间不在%(studio)s %(day)s 的开放时间内（当天开放：%(hours)s）。") % {
                "studio": studio.name,
                "day": day_label(day),
                "hours": hours or _("不开放"),
            }
        if error.field == "ends_at":
            return _("一场直播要在 15 分钟到 6 小时之间。")
        if error.field == "studio_id":
            return _("%(studio)s 暂不接受预约。") % {"studio": studio.name}
    if error.field == "commission_bp":
        return _("您还没有在服务中心登记主播协议（佣金比例），请先联系服务中心。")
    if error.field == "product_ids":
        return _("选品有问题：%(detail)s") % {"detail": error.detail}
    return error.detail
