"""One session in the studio (`/studio/sessions/{id}`): line-up before the broadcast, then the go-live screen.

Every button is a plain form that answers 303 back to this page; `studio.js` sends the pin buttons in the
background and follows the figures over the WebSocket `/ws/live/{id}` (polling `/api/live/sessions/{id}/figures`
when the socket is down).
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import SessionStatus
from livestream.pages.common import (
    day_label,
    figures_for,
    hm,
    parse_ids,
    pickable_products,
    status_label,
    studio_guard,
)
from livestream.schemas import SessionReport, SessionUpdate
from livestream.services.broadcast import EARLY_START, BroadcastService
from livestream.services.common import ensure_streamer_or_centre, get_session, local
from livestream.services.presenters import SessionPresenter
from livestream.services.reports import ReportService
from livestream.services.scheduling import SchedulingService
from shop.auth import Caller
from shop.db import utcnow
from shop.errors import DomainError
from shop.settings import Settings
from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language

DONE = {
    "booked": "预约成功。开播前可以在这里调整选品。",
    "saved": "已保存。",
    "started": "已开播，祝直播顺利！",
    "pinned": "已更新置顶商品。",
    "ended": "直播已结束。",
    "cancelled": "场次已取消。",
}


async def session_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    caller: Caller,
    session_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    q: str = "",
    selected: list[int] | None = None,
    title: str | None = None,
) -> Template:
    set_language(request)
    live = await get_session(db_session, session_id)
    ensure_streamer_or_centre(caller, live.streamer_user_id)
    figures = figures_for(request)
    figs = (await figures.figures([live.id])).get(live.id) if live.status is not SessionStatus.SCHEDULED else None
    view = await SessionPresenter(db_session, settings.app.base_url).one(live, figs)
    report: SessionReport | None = None
    if live.status is SessionStatus.ENDED:
        report = await ReportService(db_session, figures).report(caller, live.id)
    chosen = selected if selected is not None else [item.product_id for item in view.lineup]
    picker = await pickable_products(db_session, q, chosen) if live.status is SessionStatus.SCHEDULED else []
    now = utcnow()
    done = request.query_params.get("done")
    day = local(live.starts_at).date()
    return render(
        request,
        "studio/session.html",
        status_code=status_code,
        live=view,
        status=live.status.value,
        status_text=status_label(live.status),
        when=f"{day_label(day)} {hm(live.starts_at)}–{hm(live.ends_at)}",
        week=day.isoformat(),
        can_start=live.status is SessionStatus.SCHEDULED and live.starts_at - EARLY_START <= now < live.ends_at,
        opens_at=hm(live.starts_at - EARLY_START),
        too_late=live.status is SessionStatus.SCHEDULED and now >= live.ends_at,
        figures=view.figures,
        report=report,
        picker=picker,
        selected=chosen,
        q=q,
        title_value=live.title if title is None else title,
        error=error,
        flash=[("ok", _(DONE[done]))] if done in DONE and error is None else [],
        qr_url=f"/api/live/sessions/{live.id}/qr.png",
    )


def _back(session_id: int, done: str) -> Redirect:
    return Redirect(f"/studio/sessions/{session_id}?done={done}", status_code=303)


@get("/studio/sessions/{session_id:int}", guards=[studio_guard], include_in_schema=False)
async def session_view(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    caller: Caller,
    session_id: int,
    q: str = "",
) -> Template:
    return await session_page(request, db_session, settings, caller, session_id, q=q)


@post(
    "/studio/sessions/{session_id:int}/lineup",
    guards=[studio_guard],
    include_in_schema=False,
    status_code=303,
    media_type=MediaType.HTML,
)
async def lineup_submit(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, caller: Caller, session_id: int
) -> Any:
    """Save the title and line-up (action=save), or search products and show the form again (action=search)."""
    form = await request.form()
    selected = parse_ids([str(v) for v in form.getall("product_ids", [])])
    title = str(form.get("title") or "")[:200]
    q = str(form.get("q") or "")
    if form.get("action") == "search":
        return await session_page(
            request, db_session, settings, caller, session_id, q=q, selected=selected, title=title
        )
    set_language(request)
    if not title.strip() or len(title.strip()) > 120:
        return await session_page(
            request,
            db_session,
            settings,
            caller,
            session_id,
            status_code=422,
            error=_("标题要填写，最多 120 个字。"),
            q=q,
            selected=selected,
            title=title,
        )
    try:
        await SchedulingService(db_session).update(
            caller, session_id, SessionUpdate(title=title.strip(), product_ids=selected)
        )
    except DomainError as exc:
        await db_session.rollback()
        message = _("选品有问题：%(detail)s") % {"detail": exc.detail} if exc.field == "product_ids" else exc.detail
        return await session_page(
            request,
            db_session,
            settings,
            caller,
            session_id,
            status_code=exc.status_code,
            error=message,
            q=q,
            selected=selected,
            title=title,
        )
    return _back(session_id, "saved")


async def _act(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    caller: Caller,
    session_id: int,
    action: str,
    product_id: int | None = None,
    reason: str = "",
) -> Any:
    set_language(request)
    broadcast = BroadcastService(db_session, figures_for(request))
    try:
        if action == "started":
            await broadcast.start(caller, session_id)
        elif action == "ended":
            await broadcast.end(caller, session_id)
        elif action == "pinned":
            await broadcast.pin(caller, session_id, product_id)
        else:
            await SchedulingService(db_session).cancel(caller, session_id, reason)
    except DomainError as exc:
        await db_session.rollback()
        if exc.status_code in (403, 404):
            raise
        messages = {
            "started": _("现在还不能开播：开播时间为开始前 30 分钟到结束之间，且同一时间只能开一场直播。"),
            "ended": _("这场直播不在直播中，无需结束。"),
            "pinned": _("只能在直播中置顶本场选品里的商品。"),
            "cancelled": _("只有未开播的场次可以取消。"),
        }
        return await session_page(
            request, db_session, settings, caller, session_id, status_code=exc.status_code, error=messages[action]
        )
    return _back(session_id, action)


@post(
    "/studio/sessions/{session_id:int}/start",
    guards=[studio_guard],
    include_in_schema=False,
    status_code=303,
    media_type=MediaType.HTML,
)
async def start_submit(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, caller: Caller, session_id: int
) -> Any:
    return await _act(request, db_session, settings, caller, session_id, "started")


@post(
    "/studio/sessions/{session_id:int}/end",
    guards=[studio_guard],
    include_in_schema=False,
    status_code=303,
    media_type=MediaType.HTML,
)
async def end_submit(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, caller: Caller, session_id: int
) -> Any:
    return await _act(request, db_session, settings, caller, session_id, "ended")


@post(
    "/studio/sessions/{session_id:int}/pin",
    guards=[studio_guard],
    include_in_schema=False,
    status_code=303,
    media_type=MediaType.HTML,
)
async def pin_submit(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, caller: Caller, session_id: int
) -> Any:
    """Pin the product being presented (讲解中); an empty product unpins."""
    form = await request.form()
    raw = str(form.get("product_id") or "")
    product_id = int(raw) if raw.isdigit() else None
    return await _act(request, db_session, settings, caller, session_id, "pinned", product_id=product_id)


@post(
    "/studio/sessions/{session_id:int}/cancel",
    guards=[studio_guard],
    include_in_schema=False,
    status_code=303,
    media_type=MediaType.HTML,
)
async def cancel_submit(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, caller: Caller, session_id: int
) -> Any:
    form = await request.form()
    reason = str(form.get("reason") or "").strip()[:200]
    return await _act(request, db_session, settings, caller, session_id, "cancelled", reason=reason)


route_handlers = [session_view, lineup_submit, start_submit, end_submit, pin_submit, cancel_submit]
