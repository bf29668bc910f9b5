"""Labour (劳务): the rate table per workshop and task, work logs (manual or CSV) and their approval.

A log's amount is fixed when it is recorded: pieces × piece rate, or round_half_up(minutes × hourly rate / 60).
Only approved logs count in the month of their work date; every change to a log of a closed month is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.audit import record
from shop.auth import Caller, ensure_workshop_scope
from shop.benefits.models import LabourRate, LogStatus, Member, WorkLog, WorkUnit
from shop.benefits.schemas import ImportReport, RateIn, RateOut, RejectedRow, WorkLogIn, WorkLogOut
from shop.benefits.services.members import get_or_404, require_workshop
from shop.benefits.services.months import ensure_open, month_of, today_shanghai
from shop.errors import Conflict, InvalidInput
from shop.money import round_half_up

CSV_COLUMNS = ("member_id", "workshop_id", "work_date", "task", "quantity")
MAX_IMPORT_ROWS = 20_000


def labour_amount(unit: WorkUnit, quantity: int, rate_fen: int) -> int:
    if unit is WorkUnit.PIECE:
        return quantity * rate_fen
    return round_half_up(quantity * rate_fen, 60)  # minutes × fen per hour


def log_out(log: WorkLog) -> WorkLogOut:
    return WorkLogOut(
        id=log.id,
        member_id=log.member_id,
        workshop_id=log.workshop_id,
        work_date=log.work_date,
        task=log.task,
        unit=log.unit,
        quantity=log.quantity,
        rate_fen=log.rate_fen,
        amount_fen=log.amount_fen,
        status=log.status,
        source=log.source,
    )


class LabourService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def set_rate(self, caller: Caller, workshop_id: int, data: RateIn) -> RateOut:
        """Rates apply to logs recorded from now on; logs already recorded keep the rate they were made with."""
        await require_workshop(self.session, workshop_id)
        ensure_workshop_scope(caller, workshop_id)
        rate = await self.session.scalar(
            select(LabourRate).where(LabourRate.workshop_id == workshop_id, LabourRate.task == data.task)
        )
        before = {"unit": rate.unit.value, "rate_fen": rate.rate_fen} if rate else {}
        if rate is None:
            rate = LabourRate(workshop_id=workshop_id, task=data.task, unit=data.unit, rate_fen=data.rate_fen)
            self.session.add(rate)
        else:
            rate.unit, rate.rate_fen = data.unit, data.rate_fen
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="set_rate",
            entity="benefit_labour_rate",
            entity_id=rate.id,
            changes={"before": before, "unit": data.unit.value, "rate_fen": data.rate_fen},
        )
        await self.session.commit()
        return RateOut(id=rate.id, workshop_id=workshop_id, task=rate.task, unit=rate.unit, rate_fen=rate.rate_fen)

    async def rates(self, workshop_id: int) -> list[RateOut]:
        rows = (
            await self.session.scalars(
                select(LabourRate).where(LabourRate.workshop_id == workshop_id).order_by(LabourRate.task)
            )
        ).all()
        return [
            RateOut(id=r.id, workshop_id=r.workshop_id, task=r.task, unit=r.unit, rate_fen=r.rate_fen) for r in rows
        ]

    async def _build(self, caller: Caller, data: WorkLogIn, source: str) -> WorkLog:
        """Validate one log (raises InvalidInput / Conflict / 403) and add it to the transaction."""
        if await self.session.get(Member, data.member_id) is None:
            raise InvalidInput(f"No member with id {data.member_id}.", field="member_id")
        await require_workshop(self.session, data.workshop_id)
        ensure_workshop_scope(caller, data.workshop_id)
        if data.work_date > today_shanghai():
            raise InvalidInput("The work date is in the future.", field="work_date")
        rate = await self.session.scalar(
            select(LabourRate).where(LabourRate.workshop_id == data.workshop_id, LabourRate.task == data.task)
        )
        if rate is None:
            raise InvalidInput(f"Workshop {data.workshop_id} has no rate for task {data.task!r}.", field="task")
        await ensure_open(self.session, month_of(data.work_date), "A work log")
        log = WorkLog(
            member_id=data.member_id,
            workshop_id=data.workshop_id,
            work_date=data.work_date,
            task=data.task,
            unit=rate.unit,
            quantity=data.quantity,
            rate_fen=rate.rate_fen,
            amount_fen=labour_amount(rate.unit, data.quantity, rate.rate_fen),
            source=source,
            recorded_by=caller.id,
            status=LogStatus.PENDING,
        )
        self.session.add(log)
        return log

    async def record(self, caller: Caller, data: WorkLogIn) -> WorkLogOut:
        log = await self._build(caller, data, "manual")
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="benefit_work_log",
            entity_id=log.id,
            changes={"amount_fen": log.amount_fen},
        )
        await self.session.commit()
        return log_out(log)

    async def import_csv(self, caller: Caller, content: str) -> ImportReport:
        """Import the good rows and report every rejected row with its reasons (nothing half-imported per row)."""
        reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(
                f"The CSV header must have the columns {', '.join(CSV_COLUMNS)}; missing {', '.join(missing)}.",
                field="file",
            )
        rejected: list[RejectedRow] = []
        logs: list[WorkLog] = []
        for number, row in enumerate(reader, start=2):
            if number - 1 > MAX_IMPORT_ROWS:
                raise InvalidInput(f"At most {MAX_IMPORT_ROWS} rows per import.", field="file")
            try:
                data = WorkLogIn(
                    member_id=_int(row, "member_id"),
                    workshop_id=_int(row, "workshop_id"),
                    work_date=_date(row, "work_date"),
                    task=(row.get("task") or "").strip(),
                    quantity=_int(row, "quantity"),
                )
                if not data.task or len(data.task) > 64:
                    raise InvalidInput("task must be 1–64 characters", field="task")
                if not 1 <= data.quantity <= 100_000:
                    raise InvalidInput("quantity must be 1–100000", field="quantity")
                async with self.session.begin_nested():
                    logs.append(await self._build(caller, data, "csv"))
                    await self.session.flush()
            except (InvalidInput, Conflict) as exc:
                rejected.append(RejectedRow(row=number, errors=[f"{exc.field or 'row'}: {exc.detail}"]))
            except Exception as exc:  # a 403 for another workshop's row is a rejected row, not a failed import
                if type(exc).__name__ != "PermissionDeniedException":
                    raise
                rejected.append(RejectedRow(row=number, errors=[f"workshop_id: {exc}"]))
        record(
            self.session,
            actor_id=caller.id,
            action="import",
            entity="benefit_work_log",
            entity_id=None,
            changes={"imported": len(logs), "rejected": len(rejected)},
        )
        await self.session.commit()
        return ImportReport(imported=len(logs), rejected=rejected, log_ids=[log.id for log in logs])

    async def review(self, caller: Caller, log_id: int, approve: bool) -> WorkLogOut:
        log = await get_or_404(self.session, WorkLog, log_id, "work log")
        ensure_workshop_scope(caller, log.workshop_id)
        await ensure_open(self.session, month_of(log.work_date), "Approving this work log")
        if log.status is not LogStatus.PENDING:
            raise Conflict(f"Work log {log_id} is already {log.status.value}.")
        log.status = LogStatus.APPROVED if approve else LogStatus.REJECTED
        log.reviewed_by = caller.id
        record(
            self.session,
            actor_id=caller.id,
            action="approve" if approve else "reject",
            entity="benefit_work_log",
            entity_id=log.id,
            changes={"status": log.status.value},
        )
        await self.session.commit()
        return log_out(log)

    async def list(self, workshop_id: int, month: str | None, status: LogStatus | None) -> list[WorkLogOut]:
        query = select(WorkLog).where(WorkLog.workshop_id == workshop_id)
        if status is not None:
            query = query.where(WorkLog.status == status)
        rows = (await self.session.scalars(query.order_by(WorkLog.work_date, WorkLog.id).limit(5000))).all()
        return [log_out(r) for r in rows if month is None or month_of(r.work_date) == month]


def _int(row: dict[str, str], key: str) -> int:
    try:
        return int((row.get(key) or "").strip())
    except ValueError:
        raise InvalidInput(f"{key} must be a whole number", field=key) from None


def _date(row: dict[str, str], key: str) -> dt.date:
    try:
        return dt.date.fromisoformat((row.get(key) or "").strip())
    except ValueError:
        raise InvalidInput(f"{key} must be a date like 2026-10-05", field=key) from None
