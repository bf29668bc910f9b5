"""Admin page: the search synonym groups (同义词), one group per line, through the search service."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from search.services import SearchService
from shop.errors import DomainError, ServiceUnavailable
from shop.web.admin.forms import FormData, form_error_page, notice, requires_admin_page, see_other, text
from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language

# Words in a line may be separated by spaces, commas (either width), 、, = or /.
_SEPARATORS = re.compile(r"[\s,，、=/＝]+")


def _service(request: Request[Any, Any, Any]) -> SearchService:
    service = getattr(request.app.state, "search", None)
    if service is None:
        raise ServiceUnavailable(_("搜索服务正在启动，请稍后再试。"))
    return service  # type: ignore[no-any-return]


def parse_groups(body: str) -> list[list[str]]:
    """One group per non-empty line."""
    return [words for line in body.splitlines() if (words := [w for w in _SEPARATORS.split(line) if w])]


def format_groups(groups: list[list[str]]) -> str:
    return "\n".join(" = ".join(g) for g in groups)


def labels() -> dict[str, str]:
    return {"groups": _("同义词（每行一组，用 = 或空格隔开）"), "form": _("表单")}


@get("/admin/search/synonyms", guards=[requires_admin_page], include_in_schema=False)
async def synonyms_page(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    set_language(request)
    groups = await _service(request).load_synonyms(db_session)
    return render(
        request,
        "admin/synonyms.html",
        body=format_groups(groups),
        count=len(groups),
        errors={},
        labels=labels(),
        flash=notice(request, {"saved": _("同义词已保存，下一次搜索就生效。")}),
    )


@post("/admin/search/synonyms", guards=[requires_admin_page], include_in_schema=False)
async def synonyms_save(
    request: Request[Any, Any, Any], db_session: AsyncSession, data: FormData
) -> Redirect | Template:
    set_language(request)
    body = text(data, "groups")
    groups = parse_groups(body)
    try:
        await _service(request).replace_synonyms(db_session, groups)
    except DomainError as exc:
        await db_session.rollback()
        if exc.field and exc.field.startswith("groups["):
            index = int(exc.field[7:-1])
            exc.detail = _("第 %(n)s 组（%(g)s）：%(why)s") % {
                "n": index + 1,
                "g": " = ".join(groups[index]),
                "why": exc.detail,
            }
            exc.field = "groups"
        return form_error_page(request, "admin/synonyms.html", exc, labels(), body=body, count=len(groups))
    return see_other("/admin/search/synonyms", "saved")


route_handlers = [synonyms_page, synonyms_save]
