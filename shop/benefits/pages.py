"""The member's statement page (月度收益对账单), opened from its private link without logging in.

Written for an elderly villager on a phone: the month's total first in large type, then what each amount was for
(务工工资, 保底收购, 股金分红, …) in plain words, and a large button for the PDF. Chinese by default, English with
`?lang=en`. A link that is unknown, expired or revoked gets a kind page (404, as `LinkService.resolve` answers)
telling the member to ask the village for a new one, never a JSON error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from shop.auth import PUBLIC
from shop.benefits.models import LineKind, MemberKind
from shop.benefits.schemas import LineOut, StatementOut
from shop.benefits.services.links import LinkService
from shop.benefits.services.statements import StatementService, kg
from shop.errors import NotFound
from shop.money import format_yuan
from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language

# The order a member reads the kinds in, each with its plain-words heading and what it means.
KIND_ORDER = (LineKind.LABOUR, LineKind.PURCHASE, LineKind.DIVIDEND, LineKind.COMMISSION, LineKind.ADJUSTMENT)
PRIVATE_HEADERS = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def kind_title(kind: LineKind) -> str:
    return {
        LineKind.LABOUR: _("务工工资"),
        LineKind.PURCHASE: _("保底收购"),
        LineKind.DIVIDEND: _("股金分红"),
        LineKind.COMMISSION: _("直播佣金"),
        LineKind.ADJUSTMENT: _("更正"),
    }[kind]


def kind_meaning(kind: LineKind) -> str:
    return {
        LineKind.LABOUR: _("您在工坊干活挣的工钱。"),
        LineKind.PURCHASE: _("工坊按合同保护价收购您的农产品付的钱。"),
        LineKind.DIVIDEND: _("您入股的工坊本月赚了钱，按您的股份分给您的钱。"),
        LineKind.COMMISSION: _("您直播带货卖出商品得的佣金。"),
        LineKind.ADJUSTMENT: _("以前月份算错的地方，这个月补上或扣回。"),
    }[kind]


def member_kind_label(kind: MemberKind) -> str:
    return {
        MemberKind.HOUSEHOLD: _("农户"),
        MemberKind.WORKER: _("务工人员"),
        MemberKind.GROWER: _("种植户"),
        MemberKind.COLLECTIVE: _("村集体"),
        MemberKind.STREAMER: _("村播"),
    }[kind]


def day_text(day: dt.date | None) -> str:
    if day is None:
        return ""
    return _("%(m)s月%(d)s日") % {"m": day.month, "d": day.day}


def line_text(ln: LineOut) -> str:
    """One line in plain words (the service's `description` is the accountant's shorthand)."""
    workshop = ln.workshop_name or _("工坊")
    if ln.kind is LineKind.LABOUR:
        if ln.reference == 1:  # hourly: quantity is minutes, rate is per hour
            hours, minutes = divmod(ln.quantity, 60)
            span = _("%(h)s小时") % {"h": hours} + (_("%(m)s分钟") % {"m": minutes} if minutes else "")
            return _("%(day)s 在%(ws)s做「%(task)s」%(span)s，每小时 %(rate)s") % {
                "day": day_text(ln.on_date),
                "ws": workshop,
                "task": ln.label,
                "span": span,
                "rate": format_yuan(ln.rate),
            }
        return _("%(day)s 在%(ws)s做「%(task)s」%(n)s件，每件 %(rate)s") % {
            "day": day_text(ln.on_date),
            "ws": workshop,
            "task": ln.label,
            "n": ln.quantity,
            "rate": format_yuan(ln.rate),
        }
    if ln.kind is LineKind.PURCHASE:
        return _("%(day)s 卖给%(ws)s%(produce)s %(kg)s公斤，每公斤 %(price)s（当天市场价 %(market)s）") % {
            "day": day_text(ln.on_date),
            "ws": workshop,
            "produce": ln.label,
            "kg": kg(ln.quantity),
            "price": format_yuan(ln.rate),
            "market": format_yuan(ln.reference),
        }
    if ln.kind is LineKind.DIVIDEND:
        return _("您在%(ws)s有 %(mine)s 股（共 %(all)s 股），本月分红总额 %(pool)s") % {
            "ws": workshop,
            "mine": ln.quantity,
            "all": ln.rate,
            "pool": format_yuan(ln.reference),
        }
    if ln.kind is LineKind.COMMISSION:
        return _("直播带货 %(n)s 单的佣金") % {"n": ln.quantity}
    return _("更正：%(what)s") % {"what": ln.label}


@dataclass
class KindGroup:
    kind: LineKind
    title: str
    meaning: str
    total_fen: int
    lines: list[tuple[str, str, int]]  # (workshop, plain words, amount)


def groups(st: StatementOut) -> list[KindGroup]:
    out = []
    for kind in KIND_ORDER:
        lines = [ln for ln in st.lines if ln.kind is kind]
        if lines:
            out.append(
                KindGroup(
                    kind=kind,
                    title=kind_title(kind),
                    meaning=kind_meaning(kind),
                    total_fen=sum(ln.amount_fen for ln in lines),
                    lines=[(ln.workshop_name, line_text(ln), ln.amount_fen) for ln in lines],
                )
            )
    return out


@get("/benefits/s/{token:str}", opt=PUBLIC, include_in_schema=False)
async def statement_page(request: Request[Any, Any, Any], db_session: AsyncSession, token: str) -> Template:
    """The statement by its private link: total first, then each amount explained; a big button for the PDF."""
    set_language(request)  # the plain-words lines below are built in the page's language
    try:
        month, member_id = await LinkService(db_session).resolve(token)
        st = await StatementService(db_session).statement(month, member_id)
    except NotFound:
        page = render(request, "statements/gone.html", status_code=404)
    else:
        page = render(
            request,
            "statements/statement.html",
            st=st,
            year=int(st.month[:4]),
            month_number=int(st.month[5:]),
            member_kind=member_kind_label(st.member_kind),
            groups=groups(st),
            pdf_url=f"/benefits/s/{token}/pdf",
        )
    for key, value in PRIVATE_HEADERS.items():
        page.set_header(key, value)
    return page


route_handlers = [statement_page]
