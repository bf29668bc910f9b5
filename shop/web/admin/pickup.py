"""Admin pages: village pickup points (自提点) — list, add, edit, and the staff who work there — through the
logistics NetworkService."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Region, RegionLevel
from logistics.models import LogisticsNode, NodeKind, PointKind, PointStaff
from logistics.schemas import NodeCreate, NodeUpdate
from logistics.services.network import NetworkService
from shop.accounts.models import User
from shop.auth import Caller
from shop.errors import DomainError, InvalidInput
from shop.web.admin.forms import FormData, convert, form_error_page, notice, requires_admin_page, see_other, text
from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language

EDIT_FIELDS = ("name", "address", "contact_name", "contact_phone", "opening_hours", "capacity")
CREATE_FIELDS = ("code", "region_id", "parent_id", "point_kind", *EDIT_FIELDS)


def labels() -> dict[str, str]:
    return {
        "code": _("编号（字母、数字）"),
        "name": _("名称"),
        "region_id": _("所在村"),
        "parent_id": _("所属乡镇服务站"),
        "point_kind": _("类型"),
        "address": _("地址"),
        "contact_name": _("联系人"),
        "contact_phone": _("联系电话"),
        "opening_hours": _("营业时间"),
        "capacity": _("每天最多可存包裹数"),
        "is_active": _("启用"),
        "username": _("工作人员的用户名"),
        "user_id": _("工作人员的用户名"),
        "form": _("表单"),
    }


def point_kinds() -> list[tuple[str, str]]:
    return [(PointKind.SERVICE_POINT.value, _("村级服务点")), (PointKind.VEHICLE_STOP.value, _("流动供销车停靠点"))]


async def _choices(session: AsyncSession) -> dict[str, Any]:
    """Villages (with their township and county in the label) and township stations for the add form."""
    regions = {r.id: r for r in await session.scalars(select(Region))}
    villages = sorted(
        (r for r in regions.values() if r.level is RegionLevel.VILLAGE),
        key=lambda r: (r.county_id or 0, r.township_id or 0, r.name),
    )

    def place(r: Region) -> str:
        county = regions.get(r.county_id or 0)
        township = regions.get(r.township_id or 0)
        return " ".join(x.name for x in (county, township, r) if x is not None)

    stations = await NetworkService(session).list_nodes(NodeKind.STATION)
    return {
        "villages": [("", _("请选择"))] + [(str(v.id), place(v)) for v in villages],
        "stations": [("", _("请选择"))] + [(str(s.id), s.name) for s in stations],
        "place": {v.id: place(v) for v in villages},
    }


def _payload(values: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: values[k] for k in names if values.get(k, "") != ""}


@get("/admin/pickup-points", guards=[requires_admin_page], include_in_schema=False)
async def point_list(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    set_language(request)
    points = await NetworkService(db_session).list_nodes(NodeKind.POINT)
    staff_counts: dict[int, int] = {}
    for (point_id,) in (await db_session.execute(select(PointStaff.point_id))).all():
        staff_counts[point_id] = staff_counts.get(point_id, 0) + 1
    choices = await _choices(db_session)
    return render(
        request,
        "admin/points.html",
        points=points,
        staff_counts=staff_counts,
        place=choices["place"],
        flash=notice(request, {"created": _("自提点已添加。")}),
    )


async def _new_page(
    request: Request[Any, Any, Any], session: AsyncSession, values: dict[str, str], error: DomainError | None = None
) -> Template:
    context = dict(values=values, kinds=point_kinds(), **await _choices(session))
    if error is not None:
        return form_error_page(request, "admin/point_new.html", error, labels(), **context)
    return render(request, "admin/point_new.html", errors={}, labels=labels(), **context)


@get("/admin/pickup-points/new", guards=[requires_admin_page], include_in_schema=False)
async def point_new(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    set_language(request)
    return await _new_page(request, db_session, {"point_kind": PointKind.SERVICE_POINT.value})


@post("/admin/pickup-points", guards=[requires_admin_page], include_in_schema=False)
async def point_create(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, data: FormData
) -> Redirect | Template:
    set_language(request)
    values = {name: text(data, name) for name in CREATE_FIELDS}
    try:
        for required in ("code", "name", "region_id", "parent_id"):
            if not values[required]:
                raise InvalidInput(_("这一项必须填写。"), field=required)
        node = await NetworkService(db_session).create_node(
            caller, convert(NodeCreate, {"kind": NodeKind.POINT.value, **_payload(values, CREATE_FIELDS)})
        )
    except DomainError as exc:
        await db_session.rollback()
        return await _new_page(request, db_session, values, exc)
    return see_other(f"/admin/pickup-points/{node.id}", "created")


async def _edit_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    point_id: int,
    values: dict[str, str] | None = None,
    error: DomainError | None = None,
) -> Template:
    service = NetworkService(session)
    node = await service.node(point_id, NodeKind.POINT)
    staff = (
        await session.execute(
            select(User.id, User.username, User.display_name)
            .join(PointStaff, PointStaff.user_id == User.id)
            .where(PointStaff.point_id == point_id)
            .order_by(User.username)
        )
    ).all()
    parent = await session.get(LogisticsNode, node.parent_id) if node.parent_id else None
    region = await session.get(Region, node.region_id)
    current = {name: str(getattr(node, name) or "") for name in EDIT_FIELDS}
    current["is_active"] = "on" if node.is_active else ""
    context: dict[str, Any] = dict(
        node=node,
        station=parent.name if parent else "",
        village=region.name if region else "",
        staff=staff,
        values=values or current,
        flash=notice(
            request,
            {"created": _("自提点已添加。"), "saved": _("自提点已保存。"), "staff": _("工作人员已添加。")},
        ),
    )
    if error is not None:
        return form_error_page(request, "admin/point.html", error, labels(), **context)
    return render(request, "admin/point.html", errors={}, labels=labels(), **context)


@get("/admin/pickup-points/{point_id:int}", guards=[requires_admin_page], include_in_schema=False)
async def point_detail(request: Request[Any, Any, Any], db_session: AsyncSession, point_id: int) -> Template:
    set_language(request)
    return await _edit_page(request, db_session, point_id)


@post("/admin/pickup-points/{point_id:int}", guards=[requires_admin_page], include_in_schema=False)
async def point_update(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, point_id: int, data: FormData
) -> Redirect | Template:
    set_language(request)
    values = {name: text(data, name) for name in EDIT_FIELDS}
    values["is_active"] = "on" if text(data, "is_active") else ""
    try:
        service = NetworkService(db_session)
        await service.node(point_id, NodeKind.POINT)
        if not values["name"]:
            raise InvalidInput(_("这一项必须填写。"), field="name")
        payload: dict[str, Any] = {k: values[k] for k in EDIT_FIELDS if k not in ("contact_phone", "capacity")}
        if values["contact_phone"]:
            payload["contact_phone"] = values["contact_phone"]
        payload["capacity"] = values["capacity"] or "0"
        payload["is_active"] = bool(values["is_active"])
        await service.update_node(caller, point_id, convert(NodeUpdate, payload))
    except DomainError as exc:
        await db_session.rollback()
        if exc.status_code == 404:
            raise
        return await _edit_page(request, db_session, point_id, values, exc)
    return see_other(f"/admin/pickup-points/{point_id}", "saved")


@post("/admin/pickup-points/{point_id:int}/staff", guards=[requires_admin_page], include_in_schema=False)
async def point_add_staff(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: Caller, point_id: int, data: FormData
) -> Redirect | Template:
    """Staff are named by username (what the centre knows them by); the service takes the account's id."""
    set_language(request)
    username = text(data, "username")
    try:
        user_id = await db_session.scalar(select(User.id).where(User.username == username)) if username else None
        if user_id is None:
            raise InvalidInput(_("没有这个用户名的账号：%(u)s") % {"u": username or "—"}, field="username")
        await NetworkService(db_session).add_staff(caller, point_id, user_id)
    except DomainError as exc:
        await db_session.rollback()
        if exc.status_code == 404:
            raise
        if exc.field == "user_id":
            exc.field = "username"
        return await _edit_page(request, db_session, point_id, error=exc)
    return see_other(f"/admin/pickup-points/{point_id}", "staff")


route_handlers = [point_list, point_new, point_create, point_detail, point_update, point_add_staff]
