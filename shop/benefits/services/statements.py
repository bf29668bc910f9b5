"""Reading closed months: member statements (with a description per line), workshop settlement reports, the
accountant's CSV of a whole month and the short SMS summary."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Workshop
from shop.auth import Caller
from shop.benefits.models import LineKind, Member, Settlement, Statement, StatementLine
from shop.benefits.schemas import LineOut, PayeeOut, SettlementOut, StatementOut
from shop.benefits.services.members import ensure_member_in_scope, get_or_404
from shop.benefits.services.months import is_closed, parse_month
from shop.errors import Forbidden, NotFound
from shop.money import format_yuan

KIND_ZH = {
    LineKind.LABOUR: "劳务",
    LineKind.PURCHASE: "保底收购",
    LineKind.DIVIDEND: "入股分红",
    LineKind.COMMISSION: "直播佣金",
    LineKind.ADJUSTMENT: "更正",
}


def kg(grams: int) -> str:
    whole, rest = divmod(grams, 1000)
    return f"{whole}.{rest:03d}".rstrip("0").rstrip(".")


def describe(line: StatementLine, workshop_name: str) -> str:
    """The line's source in words, as the member reads it (Chinese UI text)."""
    if line.kind is LineKind.LABOUR:
        if line.reference == 1:
            return f"{line.on_date} {line.label}：{line.quantity}分钟 × {format_yuan(line.rate)}/小时"
        return f"{line.on_date} {line.label}：{line.quantity}件 × {format_yuan(line.rate)}/件"
    if line.kind is LineKind.PURCHASE:
        return (
            f"{line.on_date} {line.label} {kg(line.quantity)}kg × {format_yuan(line.rate)}/kg"
            f"（当日市场价 {format_yuan(line.reference)}/kg）"
        )
    if line.kind is LineKind.DIVIDEND:
        return f"{workshop_name}：持股 {line.quantity}/{line.rate} 股，分红池 {format_yuan(line.reference)}"
    if line.kind is LineKind.COMMISSION:
        session = f"直播场次 #{line.source_id}" if line.source_id else "直播带货"
        return f"{session}：{line.quantity} 单佣金"
    corrects = f"（更正第 {line.reference} 行）" if line.reference else ""
    return f"更正 {line.label}{corrects}"


def sms_text(name: str, month: str, total: int, ytd: int, by_kind: dict[LineKind, int]) -> str:
    parts = "，".join(f"{KIND_ZH[k]}{format_yuan(v)}" for k, v in by_kind.items() if v)
    detail = f"（{parts}）" if parts else ""
    return (
        f"【共富工坊】{name}，您{month[:4]}年{int(month[5:])}月收益{format_yuan(total)}{detail}，"
        f"今年累计{format_yuan(ytd)}。"
    )


class StatementService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _names(self, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await self.session.execute(select(Workshop.id, Workshop.name).where(Workshop.id.in_(ids)))
        return {i: n for i, n in rows.all()}

    async def ensure_may_read(self, caller: Caller, member_id: int) -> None:
        """Admins see every statement, managers those of their workshops' members; others only their own."""
        if caller.role.value in ("centre_admin", "workshop_manager"):
            await ensure_member_in_scope(self.session, caller, member_id)
            return
        own = await self.session.scalar(select(Member.id).where(Member.user_id == caller.id))
        if own != member_id:
            raise Forbidden("You may read only your own statement.")

    async def statement(self, month: str, member_id: int) -> StatementOut:
        month = parse_month(month)
        await get_or_404(self.session, Member, member_id, "member")
        found = await self.statements(month, [member_id])
        if not found:
            if not await is_closed(self.session, month):
                raise NotFound(f"{month} is not closed yet; statements exist once the month is closed.")
            raise NotFound(f"Member {member_id} has no statement for {month} (nothing was earned).")
        return found[0]

    async def statements(self, month: str, member_ids: list[int]) -> list[StatementOut]:
        """Many members' statements in three queries (for printing a whole month), in member id order."""
        heads = {
            h.member_id: h
            for h in (
                await self.session.scalars(
                    select(Statement).where(Statement.month == month, Statement.member_id.in_(member_ids))
                )
            ).all()
        }
        if not heads:
            return []
        members = {
            m.id: m for m in (await self.session.scalars(select(Member).where(Member.id.in_(heads.keys())))).all()
        }
        lines: dict[int, list[StatementLine]] = {i: [] for i in heads}
        for ln in (
            await self.session.scalars(
                select(StatementLine)
                .where(StatementLine.month == month, StatementLine.member_id.in_(heads.keys()))
                .order_by(StatementLine.member_id, StatementLine.kind, StatementLine.on_date, StatementLine.id)
            )
        ).all():
            lines[ln.member_id].append(ln)
        names = await self._names({ln.workshop_id for group in lines.values() for ln in group if ln.workshop_id})
        return [self._out(month, members[i], heads[i], lines[i], names) for i in sorted(heads)]

    @staticmethod
    def _out(
        month: str, member: Member, head: Statement, lines: list[StatementLine], names: dict[int, str]
    ) -> StatementOut:
        out = [
            LineOut(
                id=ln.id,
                kind=ln.kind,
                workshop_id=ln.workshop_id,
                workshop_name=names.get(ln.workshop_id or 0, ""),
                source_id=ln.source_id,
                on_date=ln.on_date,
                label=ln.label,
                quantity=ln.quantity,
                rate=ln.rate,
                reference=ln.reference,
                amount_fen=ln.amount_fen,
                description=describe(ln, names.get(ln.workshop_id or 0, "")),
            )
            for ln in lines
        ]
        by_kind: dict[LineKind, int] = {}
        for ln in lines:
            by_kind[ln.kind] = by_kind.get(ln.kind, 0) + ln.amount_fen
        return StatementOut(
            month=month,
            member_id=member.id,
            member_name=member.name,
            member_kind=member.kind,
            lines=out,
            total_fen=head.total_fen,
            ytd_fen=head.ytd_fen,
            sms=sms_text(member.name, month, head.total_fen, head.ytd_fen, by_kind),
        )

    async def member_ids(self, month: str, limit: int | None = None) -> list[int]:
        query = select(Statement.member_id).where(Statement.month == month).order_by(Statement.member_id)
        return list((await self.session.scalars(query.limit(limit) if limit else query)).all())

    async def settlement(self, month: str, workshop_id: int) -> SettlementOut:
        month = parse_month(month)
        s = await self.session.scalar(
            select(Settlement).where(Settlement.month == month, Settlement.workshop_id == workshop_id)
        )
        if s is None:
            raise NotFound(f"No settlement of workshop {workshop_id} for {month} (is the month closed?).")
        name = (await self._names({workshop_id})).get(workshop_id, "")
        rows = await self.session.execute(
            select(StatementLine.member_id, Member.name, StatementLine.kind, StatementLine.amount_fen)
            .join(Member, Member.id == StatementLine.member_id)
            .where(StatementLine.month == month, StatementLine.workshop_id == workshop_id)
            .order_by(StatementLine.kind, StatementLine.member_id)
        )
        payees: dict[tuple[int, LineKind], PayeeOut] = {}
        for member_id, member_name, kind, amount in rows.all():
            key = (member_id, LineKind(kind))
            if key in payees:
                payees[key].amount_fen += amount
            else:
                payees[key] = PayeeOut(member_id=member_id, name=member_name, kind=LineKind(kind), amount_fen=amount)
        return SettlementOut(
            month=month,
            workshop_id=workshop_id,
            workshop_name=name,
            revenue_fen=s.revenue_fen,
            labour_fen=s.labour_fen,
            purchase_fen=s.purchase_fen,
            materials_fen=s.materials_fen,
            rent_fen=s.rent_fen,
            other_cost_fen=s.other_cost_fen,
            adjustment_fen=s.adjustment_fen,
            profit_fen=s.profit_fen,
            loss_brought_fen=s.loss_brought_fen,
            loss_carried_fen=s.loss_carried_fen,
            distributable_fen=s.distributable_fen,
            dividend_ratio_bp=s.dividend_ratio_bp,
            pool_fen=s.pool_fen,
            retained_fen=s.retained_fen,
            total_shares=s.total_shares,
            payees=list(payees.values()),
        )

    async def month_csv(self, month: str) -> AsyncIterator[str]:
        """The whole month, one row per statement line, for the collective's accountant (streamed)."""
        month = parse_month(month)
        if not await is_closed(self.session, month):
            raise NotFound(f"{month} is not closed yet.")
        head = [
            "month",
            "member_id",
            "member_name",
            "member_kind",
            "workshop_id",
            "workshop_name",
            "kind",
            "source_id",
            "date",
            "label",
            "quantity",
            "rate",
            "reference",
            "amount_fen",
            "amount_yuan",
            "description",
        ]
        names: dict[int, str] = {
            i: n for i, n in (await self.session.execute(select(Workshop.id, Workshop.name))).all()
        }
        result = await self.session.stream(
            select(StatementLine, Member.name, Member.kind)
            .join(Member, Member.id == StatementLine.member_id)
            .where(StatementLine.month == month)
            .order_by(StatementLine.member_id, StatementLine.id)
            .execution_options(yield_per=2000)
        )

        def row(values: Sequence[object]) -> str:
            buffer = io.StringIO()
            csv.writer(buffer).writerow(values)
            return buffer.getvalue()

        yield "\ufeff" + row(head)  # the BOM lets Excel open the Chinese text as UTF-8
        total = 0
        async for ln, member_name, member_kind in result:
            wname = names.get(ln.workshop_id, "") if ln.workshop_id else ""
            total += ln.amount_fen
            yield row(
                [
                    month,
                    ln.member_id,
                    member_name,
                    member_kind.value,
                    ln.workshop_id or "",
                    wname,
                    ln.kind.value,
                    ln.source_id or "",
                    ln.on_date or "",
                    ln.label,
                    ln.quantity,
                    ln.rate,
                    ln.reference,
                    ln.amount_fen,
                    _yuan(ln.amount_fen),
                    describe(ln, wname),
                ]
            )
        yield row([month, "", "合计 total", "", "", "", "", "", "", "", "", "", "", total, _yuan(total), ""])


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
