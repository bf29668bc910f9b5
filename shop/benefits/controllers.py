"""Benefits API: members, labour, guaranteed purchase, equity, costs, adjustments, month close and statements."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from shop.auth import PUBLIC, Caller, ensure_workshop_scope, requires, requires_admin, requires_staff
from shop.benefits.models import LogStatus, Member, MemberKind
from shop.benefits.schemas import (
    AdjustmentIn,
    AgreementIn,
    ContractIn,
    ContractOut,
    CostIn,
    CreatedOut,
    DeliveryIn,
    DeliveryOut,
    ImportReport,
    LinkIn,
    LinkOut,
    MemberIn,
    MemberOut,
    MonthOut,
    ParticipationIn,
    RateIn,
    RateOut,
    RegisterOut,
    ReviewIn,
    SettlementOut,
    ShareChangeIn,
    StatementOut,
    WorkLogIn,
    WorkLogOut,
)
from shop.benefits.services.close import CloseService
from shop.benefits.services.equity import EquityService
from shop.benefits.services.labour import LabourService
from shop.benefits.services.links import LinkService
from shop.benefits.services.members import MemberService, ensure_member_in_scope, get_or_404
from shop.benefits.services.months import parse_month
from shop.benefits.services.pdf import render_pdf
from shop.benefits.services.purchase import PurchaseService
from shop.benefits.services.render import render_html
from shop.benefits.services.statements import StatementService
from shop.deps import Page
from shop.errors import InvalidInput
from shop.settings import Settings

requires_reader = requires(Role.CENTRE_ADMIN, Role.WORKSHOP_MANAGER, Role.MEMBER, Role.STREAMER)


class MemberPage(msgspec.Struct):
    items: list[MemberOut]
    total: int
    page: int
    per_page: int


class RecordsController(Controller):
    """Data entry: members, rates, work logs, contracts, deliveries, shares, agreements, costs, adjustments."""

    path = "/api/benefits"
    tags = ["benefits"]

    @post("/members", guards=[requires_admin], status_code=201, summary="Register a benefit-scheme member")
    async def create_member(self, db_session: AsyncSession, caller: Caller, data: MemberIn) -> MemberOut:
        return await MemberService(db_session).create(caller, data)

    @get("/members", guards=[requires_staff], summary="List members")
    async def list_members(
        self,
        db_session: AsyncSession,
        caller: Caller,
        paging: Page,
        kind: MemberKind | None = Parameter(query="kind", default=None),
    ) -> MemberPage:
        scope = None if caller.is_admin else caller.workshop_ids
        items, total = await MemberService(db_session).list(
            paging.offset, paging.per_page, kind=kind, workshop_ids=scope
        )
        return MemberPage(items=items, total=total, page=paging.page, per_page=paging.per_page)

    @get("/members/{member_id:int}", guards=[requires_staff], summary="A member and the schemes they take part in")
    async def get_member(self, db_session: AsyncSession, caller: Caller, member_id: int) -> MemberOut:
        await get_or_404(db_session, Member, member_id, "member")
        await ensure_member_in_scope(db_session, caller, member_id)
        return await MemberService(db_session).get(member_id)

    @post(
        "/members/{member_id:int}/participations",
        guards=[requires_admin],
        status_code=200,
        summary="Add a member to a workshop's benefit model",
    )
    async def join(self, db_session: AsyncSession, caller: Caller, member_id: int, data: ParticipationIn) -> MemberOut:
        return await MemberService(db_session).join(caller, member_id, data)

    @put("/workshops/{workshop_id:int}/rates", guards=[requires_staff], summary="Set a task's labour rate")
    async def set_rate(self, db_session: AsyncSession, caller: Caller, workshop_id: int, data: RateIn) -> RateOut:
        return await LabourService(db_session).set_rate(caller, workshop_id, data)

    @get("/workshops/{workshop_id:int}/rates", guards=[requires_staff], summary="A workshop's rate table")
    async def rates(self, db_session: AsyncSession, caller: Caller, workshop_id: int) -> list[RateOut]:
        ensure_workshop_scope(caller, workshop_id)
        return await LabourService(db_session).rates(workshop_id)

    @post("/work-logs", guards=[requires_staff], status_code=201, summary="Record a work log (pending approval)")
    async def record_log(self, db_session: AsyncSession, caller: Caller, data: WorkLogIn) -> WorkLogOut:
        return await LabourService(db_session).record(caller, data)

    @post(
        "/work-logs/import",
        guards=[requires_staff],
        status_code=200,
        summary="Import work logs from CSV (member_id,workshop_id,work_date,task,quantity); reports rejected rows",
    )
    async def import_logs(
        self, db_session: AsyncSession, caller: Caller, request: Request[Any, Any, Any]
    ) -> ImportReport:
        """The body is the CSV file itself (text/csv, UTF-8)."""
        try:
            content = (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("The CSV must be UTF-8 text.", field="file") from None
        return await LabourService(db_session).import_csv(caller, content)

    @post(
        "/work-logs/{log_id:int}/review",
        guards=[requires_staff],
        status_code=200,
        summary="Approve or reject a pending work log",
    )
    async def review_log(self, db_session: AsyncSession, caller: Caller, log_id: int, data: ReviewIn) -> WorkLogOut:
        return await LabourService(db_session).review(caller, log_id, data.approve)

    @get("/workshops/{workshop_id:int}/work-logs", guards=[requires_staff], summary="A workshop's work logs")
    async def list_logs(
        self,
        db_session: AsyncSession,
        caller: Caller,
        workshop_id: int,
        month: str | None = Parameter(query="month", default=None),
        status: LogStatus | None = Parameter(query="status", default=None),
    ) -> list[WorkLogOut]:
        ensure_workshop_scope(caller, workshop_id)
        return await LabourService(db_session).list(workshop_id, parse_month(month) if month else None, status)

    @post("/contracts", guards=[requires_staff], status_code=201, summary="Create a guaranteed-purchase contract")
    async def create_contract(self, db_session: AsyncSession, caller: Caller, data: ContractIn) -> ContractOut:
        return await PurchaseService(db_session).create_contract(caller, data)

    @post("/deliveries", guards=[requires_staff], status_code=201, summary="Record a delivery under a contract")
    async def record_delivery(self, db_session: AsyncSession, caller: Caller, data: DeliveryIn) -> DeliveryOut:
        return await PurchaseService(db_session).record_delivery(caller, data)

    @post("/shares", guards=[requires_admin], status_code=201, summary="Record a share-register change")
    async def change_shares(self, db_session: AsyncSession, caller: Caller, data: ShareChangeIn) -> CreatedOut:
        return await EquityService(db_session).change_shares(caller, data)

    @get("/workshops/{workshop_id:int}/register", guards=[requires_staff], summary="Shares held at a date")
    async def register(
        self, db_session: AsyncSession, caller: Caller, workshop_id: int, on: dt.date = Parameter(query="on")
    ) -> RegisterOut:
        ensure_workshop_scope(caller, workshop_id)
        return await EquityService(db_session).register(workshop_id, on)

    @post("/agreements", guards=[requires_admin], status_code=201, summary="Set a workshop's benefit agreement")
    async def set_agreement(self, db_session: AsyncSession, caller: Caller, data: AgreementIn) -> CreatedOut:
        return await EquityService(db_session).set_agreement(caller, data)

    @post("/costs", guards=[requires_staff], status_code=201, summary="Record a workshop cost")
    async def record_cost(self, db_session: AsyncSession, caller: Caller, data: CostIn) -> CreatedOut:
        return await EquityService(db_session).record_cost(caller, data)

    @post(
        "/adjustments",
        guards=[requires_admin],
        status_code=201,
        summary="Correct a closed month with an adjustment line in the next open month",
    )
    async def adjust(self, db_session: AsyncSession, caller: Caller, data: AdjustmentIn) -> CreatedOut:
        return await EquityService(db_session).adjust(caller, data)


class MonthController(Controller):
    """Month close, settlement reports, the accountant's CSV and member statements."""

    path = "/api/benefits"
    tags = ["benefits"]

    @post(
        "/months/{month:str}/close",
        guards=[requires_admin],
        status_code=200,
        summary="Close a month: settlements and statements in one transaction (idempotent)",
    )
    async def close(self, db_session: AsyncSession, caller: Caller, month: str) -> MonthOut:
        return await CloseService(db_session).close(month, caller.id)

    @get("/months/{month:str}", guards=[requires_staff], summary="A month's close status and payouts")
    async def month(self, db_session: AsyncSession, month: str) -> MonthOut:
        return await CloseService(db_session).status(month)

    @get(
        "/months/{month:str}/settlements/{workshop_id:int}",
        guards=[requires_staff],
        summary="A workshop's settlement report: revenue, costs, profit, loss carried, pool, every payee",
    )
    async def settlement(self, db_session: AsyncSession, caller: Caller, month: str, workshop_id: int) -> SettlementOut:
        ensure_workshop_scope(caller, workshop_id)
        return await StatementService(db_session).settlement(month, workshop_id)

    @get("/months/{month:str}/statements.csv", guards=[requires_admin], summary="All statement lines of a month")
    async def month_csv(self, db_session: AsyncSession, month: str) -> Response[str]:
        # Read whole before responding: the request's database session ends when the handler returns.
        rows = [row async for row in StatementService(db_session).month_csv(month)]
        return Response(
            "".join(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="benefits-{month}.csv"'},
        )

    @get("/statements/{month:str}/{member_id:int}", guards=[requires_reader], summary="A member's statement")
    async def statement(self, db_session: AsyncSession, caller: Caller, month: str, member_id: int) -> StatementOut:
        service = StatementService(db_session)
        await service.ensure_may_read(caller, member_id)
        return await service.statement(month, member_id)

    @get("/statements/{month:str}/{member_id:int}/html", guards=[requires_reader], summary="Statement page")
    async def statement_html(
        self, db_session: AsyncSession, caller: Caller, month: str, member_id: int
    ) -> Response[str]:
        service = StatementService(db_session)
        await service.ensure_may_read(caller, member_id)
        st = await service.statement(month, member_id)
        return Response(render_html(st, f"/api/benefits/statements/{month}/{member_id}/pdf"), media_type="text/html")

    @get("/statements/{month:str}/{member_id:int}/pdf", guards=[requires_reader], summary="Statement PDF")
    async def statement_pdf(
        self, db_session: AsyncSession, caller: Caller, month: str, member_id: int
    ) -> Response[bytes]:
        service = StatementService(db_session)
        await service.ensure_may_read(caller, member_id)
        return await _pdf_response(await service.statement(month, member_id))

    @get("/statements/{month:str}/{member_id:int}/sms", guards=[requires_staff], summary="SMS summary text")
    async def statement_sms(
        self, db_session: AsyncSession, caller: Caller, month: str, member_id: int
    ) -> Response[str]:
        service = StatementService(db_session)
        await service.ensure_may_read(caller, member_id)
        st = await service.statement(month, member_id)
        return Response(st.sms, media_type="text/plain; charset=utf-8")

    @post(
        "/statements/{month:str}/{member_id:int}/links",
        guards=[requires_staff],
        status_code=201,
        summary="Create a private, expiring link to a statement",
    )
    async def create_link(
        self, db_session: AsyncSession, caller: Caller, settings: Settings, month: str, member_id: int, data: LinkIn
    ) -> LinkOut:
        return await LinkService(db_session).create(caller, month, member_id, data.days, settings.app.base_url)

    @delete("/links/{link_id:int}", guards=[requires_staff], status_code=204, summary="Revoke a statement link")
    async def revoke_link(self, db_session: AsyncSession, caller: Caller, link_id: int) -> None:
        await LinkService(db_session).revoke(caller, link_id)


class PublicStatementController(Controller):
    """What a member opens from the private link (no login; the token is the key)."""

    path = "/benefits/s"
    tags = ["benefits"]

    # The page itself (GET /benefits/s/{token}) is in shop.benefits.pages: a large-type page for members.

    @get("/{token:str}/pdf", opt=PUBLIC, summary="Statement PDF by private link", include_in_schema=False)
    async def pdf(self, db_session: AsyncSession, token: str) -> Response[bytes]:
        month, member_id = await LinkService(db_session).resolve(token)
        return await _pdf_response(await StatementService(db_session).statement(month, member_id))


async def _pdf_response(st: StatementOut) -> Response[bytes]:
    data = await to_thread.run_sync(render_pdf, st)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="statement-{st.month}-{st.member_id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


route_handlers = [RecordsController, MonthController, PublicStatementController]
