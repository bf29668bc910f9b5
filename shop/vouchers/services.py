"""Vouchers: creation by the service centre, checking at checkout, and atomic redemption and release."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shop import audit
from shop.auth import Caller
from shop.checkout.pricing import VoucherTerms
from shop.errors import Conflict, InvalidInput, NotFound
from shop.vouchers.models import Voucher, VoucherKind, VoucherRedemption
from shop.vouchers.schemas import VoucherCreate, VoucherOut


def voucher_out(v: Voucher) -> VoucherOut:
    return VoucherOut(
        v.id,
        v.code,
        v.kind,
        v.amount_fen,
        v.percent_bp,
        v.min_spend_fen,
        v.per_buyer_limit,
        v.usage_limit,
        v.used_count,
        v.valid_from,
        v.valid_until,
        v.is_active,
        v.description,
    )


def terms_of(v: Voucher) -> VoucherTerms:
    return VoucherTerms(v.kind.value, v.amount_fen, v.percent_bp, v.min_spend_fen)


class VoucherService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, caller: Caller, data: VoucherCreate) -> VoucherOut:
        if data.valid_until <= data.valid_from:
            raise InvalidInput("valid_until must be after valid_from.", field="valid_until")
        if data.kind is VoucherKind.FIXED and data.amount_fen <= 0:
            raise InvalidInput("A fixed voucher needs amount_fen above 0.", field="amount_fen")
        if data.kind is VoucherKind.PERCENT and data.percent_bp <= 0:
            raise InvalidInput("A percent voucher needs percent_bp above 0.", field="percent_bp")
        if await self.session.scalar(select(Voucher.id).where(Voucher.code == data.code)):
            raise Conflict(f"Voucher code {data.code} already exists.", field="code")
        voucher = Voucher(
            code=data.code,
            kind=data.kind,
            amount_fen=data.amount_fen if data.kind is VoucherKind.FIXED else 0,
            percent_bp=data.percent_bp if data.kind is VoucherKind.PERCENT else 0,
            min_spend_fen=data.min_spend_fen,
            per_buyer_limit=data.per_buyer_limit,
            usage_limit=data.usage_limit,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            description=data.description,
        )
        self.session.add(voucher)
        await self.session.flush()
        audit.record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="voucher",
            entity_id=voucher.id,
            changes={"code": data.code, "kind": data.kind.value},
        )
        await self.session.commit()
        return voucher_out(voucher)

    async def list(self) -> list[VoucherOut]:
        return [voucher_out(v) for v in (await self.session.scalars(select(Voucher).order_by(Voucher.id))).all()]

    async def check(self, code: str, buyer_id: int, subtotal_fen: int, now: dt.datetime) -> Voucher:
        """The voucher if it may be used on this subtotal now by this buyer; otherwise a 404/422/409 naming why."""
        voucher = await self.session.scalar(select(Voucher).where(Voucher.code == code))
        if voucher is None or not voucher.is_active:
            raise NotFound(f"No voucher {code}.", field="voucher_code")
        if not voucher.valid_from <= now < voucher.valid_until:
            raise InvalidInput(f"Voucher {code} is not valid now.", field="voucher_code")
        if subtotal_fen < voucher.min_spend_fen:
            raise InvalidInput(
                f"Voucher {code} needs a minimum spend of {voucher.min_spend_fen} fen.", field="voucher_code"
            )
        if voucher.usage_limit is not None and voucher.used_count >= voucher.usage_limit:
            raise Conflict(
                f"Voucher {code} has been used up.", field="voucher_code", extra={"reason": "voucher_used_up"}
            )
        return voucher

    async def redeem(self, voucher: Voucher, buyer_id: int, order_id: int, discount_fen: int) -> None:
        """Count the use atomically (a conditional UPDATE locks the voucher row), then the buyer's limit."""
        result = await self.session.execute(
            update(Voucher)
            .where(
                Voucher.id == voucher.id,
                (Voucher.usage_limit.is_(None)) | (Voucher.used_count < Voucher.usage_limit),
            )
            .values(used_count=Voucher.used_count + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"Voucher {voucher.code} has been used up.", field="voucher_code", extra={"reason": "voucher_used_up"}
            )
        # The row lock taken above serialises this count per voucher, so two checkouts cannot both pass it.
        used = await self.session.scalar(
            select(func.count())
            .select_from(VoucherRedemption)
            .where(
                VoucherRedemption.voucher_id == voucher.id,
                VoucherRedemption.buyer_id == buyer_id,
                VoucherRedemption.released.is_(False),
            )
        )
        if (used or 0) >= voucher.per_buyer_limit:
            raise Conflict(
                f"You have already used voucher {voucher.code} {voucher.per_buyer_limit} time(s).",
                field="voucher_code",
                extra={"reason": "voucher_buyer_limit"},
            )
        self.session.add(
            VoucherRedemption(voucher_id=voucher.id, buyer_id=buyer_id, order_id=order_id, discount_fen=discount_fen)
        )

    async def revive(self, order_id: int, buyer_id: int) -> bool:
        """A cancelled order is being paid after all (a late payment): count its voucher use again.

        False, changing nothing, when the voucher has been used up or the buyer has reached their limit meanwhile
        (the payment is then refunded). True when the order had no released use to revive.
        """
        redemption = await self.session.scalar(
            select(VoucherRedemption).where(
                VoucherRedemption.order_id == order_id, VoucherRedemption.released.is_(True)
            )
        )
        if redemption is None:
            return True
        voucher = await self.session.get(Voucher, redemption.voucher_id)
        if voucher is None:
            return False
        counted = await self.session.execute(
            update(Voucher)
            .where(
                Voucher.id == voucher.id,
                (Voucher.usage_limit.is_(None)) | (Voucher.used_count < Voucher.usage_limit),
            )
            .values(used_count=Voucher.used_count + 1)
        )
        if counted.rowcount != 1:  # type: ignore[attr-defined]
            return False
        used = await self.session.scalar(
            select(func.count())
            .select_from(VoucherRedemption)
            .where(
                VoucherRedemption.voucher_id == voucher.id,
                VoucherRedemption.buyer_id == buyer_id,
                VoucherRedemption.released.is_(False),
            )
        )
        if (used or 0) >= voucher.per_buyer_limit:
            return False  # the caller rolls back its savepoint, undoing the count above
        redemption.released = False
        await self.session.flush()  # inside the caller's savepoint, so its rollback undoes this too
        return True

    async def release(self, order_id: int) -> None:
        """An unpaid order was cancelled: its voucher use no longer counts."""
        redemption = await self.session.scalar(
            select(VoucherRedemption).where(
                VoucherRedemption.order_id == order_id, VoucherRedemption.released.is_(False)
            )
        )
        if redemption is None:
            return
        redemption.released = True
        await self.session.execute(
            update(Voucher)
            .where(Voucher.id == redemption.voucher_id, Voucher.used_count > 0)
            .values(used_count=Voucher.used_count - 1)
        )
