"""Admin pages: the centre's dashboard, workshops with their star ratings, and the half-yearly rating form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import RatingHalf
from catalog.schemas import RatingIn
from catalog.services.workshops import WorkshopService
from shop.auth import Caller, ensure_workshop_scope
from shop.errors import DomainError
from shop.web.admin.forms import (
    FormData,
    convert,
    form_error_page,
    notice,
    requires_admin_page,
    requires_staff_page,
    see_other,
    text,
)
from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language

RATING_FIELDS = ("year", "half", "party_leadership", "organisation", "service_support", "prosperity_impact", "stars")


def rating_labels() -> dict[str, str]:
    return {
        "year": _("年份"),
        "half": _("上半年或下半年"),
        "party_leadership": _("党建引领"),
        "organisation": _("组织运营"),
        "service_support": _("服务保障"),
        "prosperity_impact": _("带富成效"),
        "stars": _("星级（不填则取四项平均）"),
        "assessed_on": _("评定日期"),
        "form": _("表单"),
    }


@get("/admin", guards=[requires_staff_page], include_in_schema=False)
async def dashboard(request: Request[Any, Any, Any], caller: Caller) -> Template:
    return render(request, "admin/dashboard.html")


@get("/admin/workshops", guards=[requires_staff_page], include_in_schema=False)
async def workshop_list(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, page: int = 1
) -> Template:
    """Every active workshop for the centre; a workshop manager sees only the workshops they manage."""
    page = max(1, min(page, 10_000))
    per_page = 50
    service = WorkshopService(db_session)
    if caller.is_admin:
        items, total = await service.list_workshops(
            county_id=None, workshop_type=None, stars_min=None, limit=per_page, offset=(page - 1) * per_page
        )
    else:
        items, total = await service.list_workshops(
            county_id=None, workshop_type=None, stars_min=None, limit=100_000, offset=0
        )
        items = [w for w in items if w.id in caller.workshop_ids]
        total = len(items)
    pages = max(1, -(-total // per_page))
    return render(request, "admin/workshops.html", workshops=items, total=total, page=page, pages=pages)


async def _detail_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    caller: Caller,
    workshop_id: int,
    *,
    values: dict[str, str] | None = None,
    error: DomainError | None = None,
) -> Template:
    set_language(request)
    ensure_workshop_scope(caller, workshop_id)
    workshop = await WorkshopService(db_session).detail(workshop_id)
    today = dt.date.today()
    defaults = {"year": str(today.year), "half": "H1" if today.month <= 6 else "H2", "assessed_on": today.isoformat()}
    context: dict[str, Any] = dict(
        workshop=workshop,
        values=values or defaults,
        halves=[(RatingHalf.H1.value, _("上半年")), (RatingHalf.H2.value, _("下半年"))],
        flash=notice(request, {"rated": _("星级评定已保存。")}),
    )
    if error is not None:
        return form_error_page(request, "admin/workshop.html", error, rating_labels(), **context)
    return render(request, "admin/workshop.html", errors={}, labels=rating_labels(), **context)


@get("/admin/workshops/{workshop_id:int}", guards=[requires_staff_page], include_in_schema=False)
async def workshop_detail(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, workshop_id: int
) -> Template:
    return await _detail_page(request, db_session, caller, workshop_id)


@post("/admin/workshops/{workshop_id:int}/ratings", guards=[requires_admin_page], include_in_schema=False)
async def workshop_rate(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, workshop_id: int, data: FormData
) -> Redirect | Template:
    """Record (or correct) a half-year's rating through the catalogue's WorkshopService."""
    set_language(request)
    values = {name: text(data, name) for name in (*RATING_FIELDS, "assessed_on")}
    payload: dict[str, Any] = {k: v for k, v in values.items() if v != ""}
    try:
        rating = convert(RatingIn, payload)
        await WorkshopService(db_session).rate(caller, workshop_id, rating)
    except DomainError as exc:
        await db_session.rollback()
        return await _detail_page(request, db_session, caller, workshop_id, values=values, error=exc)
    return see_other(f"/admin/workshops/{workshop_id}", "rated")


route_handlers = [dashboard, workshop_list, workshop_detail, workshop_rate]
