"""My session reports and commissions (`/studio/reports`): each ended session of a month and the month's totals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, SessionStatus, Studio
from livestream.pages.common import day_label, figures_for, hm, sees_all, studio_guard, today_local
from livestream.services.common import SHANGHAI, local
from livestream.services.reports import ReportService
from livestream.services.scheduling import SchedulingService
from shop.accounts.models import User
from shop.auth import Caller
from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language


def month_start(value: str | None) -> dt.date:
    today = today_local()
    try:
        year, month = (int(x) for x in (value or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def shift(month: dt.date, by: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + by
    return dt.date(index // 12, index % 12 + 1, 1)


@get("/studio/reports", guards=[studio_guard], include_in_schema=False)
async def reports_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, month: str | None = None
) -> Template:
    """Reports (直播复盘) of the sessions that ended in a month (by start, Asia/Shanghai), and my commission."""
    set_language(request)
    first = month_start(month)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=SHANGHAI)
    end = dt.datetime.combine(shift(first, 1), dt.time(0), tzinfo=SHANGHAI)
    query = (
        select(LiveSession.id, Studio.name, User.display_name, LiveSession.starts_at, LiveSession.commission_bp)
        .join(Studio, Studio.id == LiveSession.studio_id)
        .join(User, User.id == LiveSession.streamer_user_id)
        .where(
            LiveSession.status == SessionStatus.ENDED,
            LiveSession.starts_at >= start,
            LiveSession.starts_at < end,
        )
        .order_by(LiveSession.starts_at, LiveSession.id)
    )
    if not sees_all(caller):
        query = query.where(LiveSession.streamer_user_id == caller.id)
    service = ReportService(db_session, figures_for(request))
    rows = []
    totals = {"orders": 0, "gmv_fen": 0, "refunded_fen": 0, "commission_fen": 0, "peak_viewers": 0}
    for session_id, studio_name, streamer_name, starts_at, commission_bp in (await db_session.execute(query)).tuples():
        report = await service.report(caller, session_id)
        rows.append(
            {
                "report": report,
                "studio": studio_name,
                "streamer": streamer_name,
                "when": f"{day_label(local(starts_at).date())} {hm(starts_at)}",
                "rate": f"{commission_bp / 100:g}%",
                "conversion": f"{report.conversion_bp / 100:.2f}%",
            }
        )
        for key in ("orders", "gmv_fen", "refunded_fen", "commission_fen"):
            totals[key] += getattr(report, key)
        totals["peak_viewers"] = max(totals["peak_viewers"], report.peak_viewers)
    agreements = [] if sees_all(caller) else await SchedulingService(db_session).agreements(caller.id)
    current = next((a for a in reversed(agreements) if a.valid_from <= today_local()), None)
    return render(
        request,
        "studio/reports.html",
        rows=rows,
        totals=totals,
        month_label=_("%(y)s年%(m)s月") % {"y": first.year, "m": first.month},
        month=first.strftime("%Y-%m"),
        prev_month=shift(first, -1).strftime("%Y-%m"),
        next_month=shift(first, 1).strftime("%Y-%m"),
        is_this_month=first == today_local().replace(day=1),
        sees_all=sees_all(caller),
        agreement=current,
        agreement_rate=f"{current.commission_bp / 100:g}%" if current else "",
    )


route_handlers = [reports_page]
