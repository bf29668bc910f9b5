"""主播工作台: my week of sessions (`/studio`) with my calendar subscription address, and booking a studio slot
(`/studio/book`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import MediaType, Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, Studio
from livestream.pages.common import (
    day_label,
    explain,
    hm,
    parse_day,
    parse_ids,
    pickable_products,
    sees_all,
    status_label,
    streamers,
    studio_guard,
    today_local,
)
from livestream.schemas import FreeSlots, SessionCreate
from livestream.services.calendar_feed import CalendarFeedService
from livestream.services.common import SHANGHAI, local, local_midnight
from livestream.services.scheduling import SchedulingService
from livestream.services.studios import StudioService
from shop.accounts.models import User
from shop.auth import Caller
from shop.errors import DomainError
from shop.settings import Settings
from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language

DEFAULT_MINUTES = 60
DONE = {"calendar-reset": "订阅链接已重置，旧链接已失效。请在手机日历里换成新链接。"}


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@get("/studio", guards=[studio_guard], include_in_schema=False)
async def week_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    caller: Caller,
    week: str | None = None,
) -> Template:
    """The week (Monday–Sunday, Asia/Shanghai) of the caller's sessions; centre staff see every streamer's.

    A streamer also sees their secret calendar address (订阅日历), issued on the first visit, to copy into a phone
    calendar, and a button to reset it. Centre staff have no schedule of their own to subscribe to (they manage a
    streamer's address through the API)."""
    set_language(request)
    feed = (
        None
        if sees_all(caller)
        else await CalendarFeedService(db_session, settings.app.secret_key, settings.app.base_url).current(
            caller, caller.id
        )
    )
    today = today_local()
    monday = monday_of(parse_day(week, today))
    start = local_midnight(monday)
    query = (
        select(LiveSession, Studio.name, User.display_name)
        .join(Studio, Studio.id == LiveSession.studio_id)
        .join(User, User.id == LiveSession.streamer_user_id)
        .where(LiveSession.starts_at >= start, LiveSession.starts_at < start + dt.timedelta(days=7))
        .order_by(LiveSession.starts_at, LiveSession.id)
    )
    if not sees_all(caller):
        query = query.where(LiveSession.streamer_user_id == caller.id)
    days: list[dict[str, Any]] = [
        {"date": monday + dt.timedelta(days=i), "label": day_label(monday + dt.timedelta(days=i)), "sessions": []}
        for i in range(7)
    ]
    for live, studio_name, streamer_name in (await db_session.execute(query)).tuples():
        index = (local(live.starts_at).date() - monday).days
        days[index]["sessions"].append(
            {
                "id": live.id,
                "title": live.title,
                "status": live.status.value,
                "status_label": status_label(live.status),
                "start": hm(live.starts_at),
                "end": hm(live.ends_at),
                "studio": studio_name,
                "streamer": streamer_name,
                "products": len(live.lineup),
            }
        )
    sunday = monday + dt.timedelta(days=6)
    return render(
        request,
        "studio/week.html",
        days=days,
        today=today,
        monday=monday,
        week_label=_("%(start)s 至 %(end)s") % {"start": day_label(monday), "end": day_label(sunday)},
        prev_week=(monday - dt.timedelta(days=7)).isoformat(),
        next_week=(monday + dt.timedelta(days=7)).isoformat(),
        this_week=monday_of(today).isoformat(),
        is_this_week=monday == monday_of(today),
        total=sum(len(d["sessions"]) for d in days),
        sees_all=sees_all(caller),
        feed=feed,
        flash=[("ok", _(DONE[done]))] if (done := request.query_params.get("done")) in DONE else [],
    )


async def _book_context(
    db_session: AsyncSession, caller: Caller, studio_id: int | None, day: dt.date, query: str, selected: list[int]
) -> dict[str, Any]:
    studios = await StudioService(db_session).listing()
    chosen = next((s for s in studios if s.id == studio_id), studios[0] if studios else None)
    free: FreeSlots | None = await StudioService(db_session).free_slots(chosen.id, day) if chosen else None
    slots = [
        # A window open until midnight ends at the next day's 00:00, which the studio's hours call 24:00.
        {
            "start": hm(s.starts_at),
            "end": "24:00" if local(s.ends_at).date() > day else hm(s.ends_at),
            "minutes": s.minutes,
        }
        for s in (free.slots if free else [])
    ]
    weekday = str(day.isoweekday())
    return {
        "studios": studios,
        "studio": chosen,
        "day": day,
        "day_label": day_label(day),
        "min_day": today_local().isoformat(),
        "slots": slots,
        "gap": free.turnover_gap_minutes if free else 0,
        "closed": bool(chosen and day in chosen.closed_days),
        "hours": "、".join(f"{a}–{b}" for a, b in (chosen.opening_hours.get(weekday, []) if chosen else [])),
        "products": await pickable_products(db_session, query, selected),
        "selected": selected,
        "q": query,
        "streamers": await streamers(db_session) if caller.is_admin else [],
    }


@get("/studio/book", guards=[studio_guard], include_in_schema=False)
async def book_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    caller: Caller,
    studio: int | None = None,
    day: str | None = None,
    start: str | None = None,
    q: str = "",
) -> Template:
    """Step 1 picks a studio and a day and lists its free slots; step 2 is the booking form."""
    set_language(request)
    the_day = max(parse_day(day, today_local()), today_local())
    context = await _book_context(db_session, caller, studio, the_day, q, [])
    form = {"title": "", "start": start or "", "minutes": str(DEFAULT_MINUTES), "streamer": ""}
    return render(request, "studio/book.html", form=form, error=None, field_errors={}, **context)


def _form_errors(title: str, start: str, minutes: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("请填写直播标题。")
    elif len(title.strip()) > 120:
        errors["title"] = _("标题最多 120 个字。")
    try:
        dt.time.fromisoformat(start)
    except ValueError:
        errors["start"] = _("请填写开始时间，例如 19:30。")
    if not minutes.isdigit() or not 15 <= int(minutes) <= 360:
        errors["minutes"] = _("时长填 15 到 360 分钟。")
    return errors


@post("/studio/book", guards=[studio_guard], include_in_schema=False, status_code=303, media_type=MediaType.HTML)
async def book_submit(request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller) -> Any:
    """Book (action=book), or re-show the form with a product search or a chosen slot; typed values are kept."""
    set_language(request)
    form = await request.form()
    action = str(form.get("action") or "book")
    studio_id = int(str(form.get("studio_id"))) if str(form.get("studio_id") or "").isdigit() else None
    the_day = parse_day(str(form.get("day") or ""), today_local())
    selected = parse_ids([str(v) for v in form.getall("product_ids", [])])
    query = str(form.get("q") or "")
    values = {
        "title": str(form.get("title") or "")[:200],
        "start": str(form.get("start") or "")[:5],
        "minutes": str(form.get("minutes") or "")[:4],
        "streamer": str(form.get("streamer_id") or ""),
    }
    if action.startswith("slot:"):
        values["start"] = action.removeprefix("slot:")[:5]
    context = await _book_context(db_session, caller, studio_id, the_day, query, selected)
    if action != "book":  # a search or a slot choice: show the form again, nothing booked
        return render(request, "studio/book.html", form=values, error=None, field_errors={}, **context)
    field_errors = _form_errors(values["title"], values["start"], values["minutes"])
    streamer_id = int(values["streamer"]) if caller.is_admin and values["streamer"].isdigit() else None
    if caller.is_admin and streamer_id is None:
        field_errors["streamer"] = _("请选择主持这场直播的主播。")
    if context["studio"] is None:
        field_errors["studio"] = _("请先选择直播间。")
    if field_errors:
        return render(
            request,
            "studio/book.html",
            status_code=422,
            form=values,
            error=_("请检查填写的内容"),
            field_errors=field_errors,
            **context,
        )
    starts_at = dt.datetime.combine(the_day, dt.time.fromisoformat(values["start"]), tzinfo=SHANGHAI)
    ends_at = starts_at + dt.timedelta(minutes=int(values["minutes"]))
    data = SessionCreate(
        studio_id=context["studio"].id,
        title=values["title"].strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        product_ids=selected,
        streamer_user_id=streamer_id,
    )
    try:
        live = await SchedulingService(db_session).book(caller, data)
    except DomainError as error:
        await db_session.rollback()
        studio_row = await db_session.get(Studio, context["studio"].id)
        message = await explain(db_session, error, studio_row, starts_at.astimezone(dt.UTC))
        return render(
            request,
            "studio/book.html",
            status_code=error.status_code,
            form=values,
            error=message,
            field_errors={},
            **context,
        )
    return Redirect(f"/studio/sessions/{live.id}?done=booked", status_code=303)


@post(
    "/studio/calendar/reset", guards=[studio_guard], include_in_schema=False, status_code=303, media_type=MediaType.HTML
)
async def calendar_reset(db_session: AsyncSession, settings: Settings, caller: Caller) -> Redirect:
    """重置链接: the old address stops working at once; the week page shows the new one."""
    service = CalendarFeedService(db_session, settings.app.secret_key, settings.app.base_url)
    await service.reset(caller, caller.id)  # staff: 422, they have no schedule of their own
    return Redirect("/studio?done=calendar-reset", status_code=303)


route_handlers = [week_page, book_page, book_submit, calendar_reset]
