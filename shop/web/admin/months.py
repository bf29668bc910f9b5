"""Admin pages: month close (月结) with its progress, each workshop's settlement, and the members' statements with
their private links (create / revoke).

The close runs in the background through `CloseService.close`, whose progress callback feeds an in-process record
the page polls with htmx (and, without JavaScript, a meta refresh). Another process serving the poll falls back to
the month's state in the database, so a multi-worker deployment still shows "closed" when it is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import structlog
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.models import Workshop
from shop.auth import Caller, ensure_workshop_scope
from shop.benefits.models import BenefitMonth, Member, Settlement, Statement, StatementLink
from shop.benefits.pages import kind_title
from shop.benefits.services.close import STEPS, CloseService
from shop.benefits.services.links import LinkService
from shop.benefits.services.months import latest_closed, month_of, next_month, parse_month, today_shanghai
from shop.benefits.services.statements import StatementService
from shop.errors import DomainError, InvalidInput
from shop.settings import Settings
from shop.web.admin.forms import FormData, notice, requires_admin_page, requires_staff_page, see_other, text
from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language

log = structlog.get_logger(__name__)
NEW_LINK_COOKIE = "hub_admin_new_link"
RUN_SHOWN_FOR = dt.timedelta(minutes=10)


@dataclass
class CloseRun:
    """One close started from the page: where it is, and how it ended."""

    month: str
    step: str = "starting"
    done: int = 0
    total: int = STEPS
    finished: bool = False
    error: str | None = None
    already_closed: bool = False
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


_RUNS: dict[str, CloseRun] = {}
_TASKS: set[asyncio.Task[None]] = set()


def step_text(step: str) -> str:
    return {
        "starting": _("准备中"),
        "workshop figures": _("汇总各工坊的收入和成本"),
        "share register": _("读取股权登记"),
        "settlements and dividends": _("计算工坊结算和分红"),
        "labour and purchase lines": _("写入务工工资和保底收购"),
        "commission and adjustment lines": _("写入直播佣金和更正"),
        "statements": _("生成成员对账单"),
        "month totals": _("汇总本月合计"),
        "closed": _("结账完成"),
        "already closed": _("这个月之前已经结过账"),
    }.get(step, step)


async def _run_close(factory: async_sessionmaker[AsyncSession], run: CloseRun, actor_id: int) -> None:
    def tick(step: str, done: int, total: int) -> None:
        run.step, run.done, run.total = step, done, total

    try:
        async with factory() as session:
            out = await CloseService(session).close(run.month, actor_id, tick)
            run.already_closed = out.already_closed
    except DomainError as exc:
        run.error = exc.detail
    except Exception as exc:  # the page must say it failed instead of polling forever
        log.exception("admin.close_failed", month=run.month)
        run.error = f"{type(exc).__name__}"
    finally:
        run.finished = True


def month_ended(month: str) -> bool:
    return month < month_of(today_shanghai())


@get("/admin/months", guards=[requires_staff_page], include_in_schema=False)
async def month_index(
    request: Request[Any, Any, Any], db_session: AsyncSession, month: str | None = None
) -> Response[Any]:
    """Closed months, newest first, and the next month to close; `?month=` jumps to a month."""
    set_language(request)
    if month:
        try:
            return Redirect(f"/admin/months/{parse_month(month.strip())}", status_code=303)
        except InvalidInput as exc:
            error: str | None = exc.detail
    else:
        error = None
    closed = list(await db_session.scalars(select(BenefitMonth).order_by(BenefitMonth.month.desc()).limit(24)))
    latest = await latest_closed(db_session)
    suggested = next_month(latest) if latest else month_of(today_shanghai().replace(day=1) - dt.timedelta(days=1))
    return render(
        request,
        "admin/months.html",
        closed=closed,
        suggested=suggested,
        errors={"month": error} if error else {},
        labels={"month": _("月份（例如 2026-10）")},
        status_code=422 if error else 200,
    )


async def _statement_rows(session: AsyncSession, month: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Statement.member_id, Member.name, Statement.total_fen, Statement.line_count)
        .join(Member, Member.id == Statement.member_id)
        .where(Statement.month == month)
        .order_by(Member.name, Statement.member_id)
    )
    now = dt.datetime.now(dt.UTC)
    links: dict[int, list[StatementLink]] = {}
    for link in await session.scalars(
        select(StatementLink).where(StatementLink.month == month).order_by(StatementLink.id.desc())
    ):
        links.setdefault(link.member_id, []).append(link)

    def state(link: StatementLink) -> str:
        if link.revoked_at is not None:
            return "revoked"
        expires = link.expires_at if link.expires_at.tzinfo else link.expires_at.replace(tzinfo=dt.UTC)
        return "expired" if expires <= now else "live"

    return [
        {
            "member_id": member_id,
            "name": name,
            "total_fen": total,
            "lines": count,
            "links": [(link, state(link)) for link in links.get(member_id, [])],
        }
        for member_id, name, total, count in rows.all()
    ]


@get("/admin/months/{month:str}", guards=[requires_staff_page], include_in_schema=False)
async def month_page(request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, month: str) -> Template:
    set_language(request)
    month = parse_month(month)
    status = await CloseService(db_session).status(month)
    settlements: list[tuple[Settlement, str]] = [
        (s, n)
        for s, n in (
            await db_session.execute(
                select(Settlement, Workshop.name)
                .join(Workshop, Workshop.id == Settlement.workshop_id)
                .where(Settlement.month == month)
                .order_by(Workshop.name)
            )
        ).all()
    ]
    if not caller.is_admin:
        settlements = [(s, n) for s, n in settlements if caller.can_manage_workshop(s.workshop_id)]
    statements = await _statement_rows(db_session, month) if caller.is_admin and status.closed else []
    raw_link = request.cookies.get(NEW_LINK_COOKIE) if caller.is_admin else None
    new_link = tuple(unquote(raw_link).split("|", 1)) if raw_link and "|" in unquote(raw_link) else None
    run = _RUNS.get(month)
    if run is not None and run.finished and dt.datetime.now(dt.UTC) - run.started_at > RUN_SHOWN_FOR:
        run = None  # an old run's bar says nothing the month's state does not
    page = render(
        request,
        "admin/month.html",
        month=month,
        status=status,
        run=run,
        step_text=step_text,
        ended=month_ended(month),
        settlements=settlements,
        statements=statements,
        new_link=new_link,
        kind_title=kind_title,
        errors={},
        labels={"confirm_early": _("确认提前结账"), "days": _("链接有效天数")},
        flash=notice(
            request,
            {
                "started": _("已开始结账。"),
                "revoked": _("链接已收回，成员再打开会看到提示页。"),
                "linked": _("已生成新链接。"),
            },
        ),
    )
    if new_link:
        page.cookies.append(Cookie(key=NEW_LINK_COOKIE, value="", max_age=0, path="/admin", httponly=True))
    return page


@post("/admin/months/{month:str}/close", guards=[requires_admin_page], include_in_schema=False)
async def month_close(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, month: str, data: FormData
) -> Redirect | Template:
    """Start the close in the background (one at a time per month) and go to the month page to watch it."""
    set_language(request)
    month = parse_month(month)
    if not month_ended(month) and not text(data, "confirm_early"):
        status = await CloseService(db_session).status(month)
        return render(
            request,
            "admin/month.html",
            status_code=422,
            month=month,
            status=status,
            run=_RUNS.get(month),
            step_text=step_text,
            ended=False,
            settlements=[],
            statements=[],
            new_link=None,
            kind_title=kind_title,
            errors={"confirm_early": _("这个月还没过完；要现在结账，请勾选确认。")},
            labels={"confirm_early": _("确认提前结账")},
        )
    current = _RUNS.get(month)
    if current is None or current.finished:
        run = CloseRun(month=month)
        _RUNS[month] = run
        factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
        task = asyncio.get_running_loop().create_task(_run_close(factory, run, caller.id))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)
    return see_other(f"/admin/months/{month}", "started")


@get("/admin/months/{month:str}/progress", guards=[requires_admin_page], include_in_schema=False)
async def month_progress(request: Request[Any, Any, Any], db_session: AsyncSession, month: str) -> Template:
    """The progress fragment htmx polls; when the close has ended it asks htmx to reload the page."""
    set_language(request)
    month = parse_month(month)
    run = _RUNS.get(month)
    if run is None:  # started by another process: the database says whether it has closed
        closed = (await CloseService(db_session).status(month)).closed
        run = CloseRun(month=month, step="closed" if closed else "starting", done=STEPS if closed else 0)
        run.finished = closed
    page = render(request, "admin/_progress.html", run=run, month=month, step_text=step_text)
    if run.finished:
        page.set_header("HX-Refresh", "true")
    return page


@get("/admin/months/{month:str}/settlements/{workshop_id:int}", guards=[requires_staff_page], include_in_schema=False)
async def settlement_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, month: str, workshop_id: int
) -> Template:
    set_language(request)
    ensure_workshop_scope(caller, workshop_id)
    report = await StatementService(db_session).settlement(month, workshop_id)
    return render(request, "admin/settlement.html", report=report, kind_title=kind_title)


@post(
    "/admin/months/{month:str}/statements/{member_id:int}/links",
    guards=[requires_admin_page],
    include_in_schema=False,
)
async def link_create(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    caller: Caller,
    settings: Settings,
    month: str,
    member_id: int,
    data: FormData,
) -> Redirect:
    """A new private link; its address is shown once (the token is stored only as a hash), via a short cookie."""
    set_language(request)
    raw_days = text(data, "days") or "30"
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= 366:
        raise InvalidInput(_("有效天数要在 1 到 366 之间。"), field="days")
    made = await LinkService(db_session).create(caller, month, member_id, int(raw_days), settings.app.base_url)
    redirect = Redirect(f"/admin/months/{parse_month(month)}?done=linked#member-{member_id}", status_code=303)
    redirect.cookies.append(
        Cookie(
            key=NEW_LINK_COOKIE,
            value=quote(f"{member_id}|{made.url}", safe=""),
            max_age=300,
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=settings.app.secure_cookies,
        )
    )
    return redirect


@post("/admin/links/{link_id:int}/revoke", guards=[requires_admin_page], include_in_schema=False)
async def link_revoke(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, link_id: int
) -> Redirect:
    link = await db_session.get(StatementLink, link_id)
    month = link.month if link else None
    await LinkService(db_session).revoke(caller, link_id)
    return see_other(f"/admin/months/{month}", "revoked")


route_handlers = [month_index, month_page, month_close, month_progress, settlement_page, link_create, link_revoke]
