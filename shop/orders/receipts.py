"""Receipts (收据): where this purchase's money went, from the ledger rows (net of refunds)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import BenefitModel, Workshop
from shop.accounts.models import User
from shop.auth import Caller
from shop.errors import NotFound
from shop.ledger.models import LedgerEntry, LedgerKind
from shop.money import format_yuan
from shop.orders.mapping import line_out
from shop.orders.schemas import ReceiptOut, StreamerShare, WorkshopShare
from shop.orders.services import can_view, load_order

BENEFIT_LABELS = {
    BenefitModel.LABOUR.value: "劳务（务工收入）",
    BenefitModel.GUARANTEED_PURCHASE.value: "保底收购（合同+保护价）",
    BenefitModel.EQUITY_DIVIDEND.value: "入股分红",
}


class ReceiptService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def receipt(self, caller: Caller, order_id: int) -> ReceiptOut:
        order = await load_order(self.session, order_id)
        if not can_view(caller, order):
            raise NotFound(f"No order {order_id}.", field="order_id")
        rows = (await self.session.scalars(select(LedgerEntry).where(LedgerEntry.order_id == order.id))).all()
        to_workshop: dict[int, int] = defaultdict(int)
        to_streamer: dict[tuple[int, int | None], int] = defaultdict(int)
        centre = shipping = 0
        for row in rows:
            if row.kind is LedgerKind.WORKSHOP_REVENUE and row.workshop_id is not None:
                to_workshop[row.workshop_id] += row.amount_fen
            elif row.kind is LedgerKind.STREAMER_COMMISSION and row.streamer_user_id is not None:
                to_streamer[(row.streamer_user_id, row.live_session_id)] += row.amount_fen
            elif row.kind is LedgerKind.SERVICE_FEE:
                centre += row.amount_fen
            elif row.kind is LedgerKind.SHIPPING:
                shipping += row.amount_fen
        workshop_ids = sorted({ln.workshop_id for ln in order.lines})
        workshops = {
            w.id: w for w in (await self.session.scalars(select(Workshop).where(Workshop.id.in_(workshop_ids)))).all()
        }
        streamer_ids = sorted({sid for sid, _ in to_streamer})
        names: dict[int, str] = {}
        if streamer_ids:
            rows_ = (
                await self.session.execute(select(User.id, User.display_name).where(User.id.in_(streamer_ids)))
            ).all()
            names = {uid: name for uid, name in rows_}
        workshop_shares = []
        for wid in workshop_ids:
            w = workshops.get(wid)
            models = [str(m) for m in (w.benefit_models if w else [])]
            workshop_shares.append(
                WorkshopShare(
                    wid,
                    w.name if w else "",
                    to_workshop.get(wid, 0),
                    models,
                    [BENEFIT_LABELS.get(m, m) for m in models],
                )
            )
        streamers = [
            StreamerShare(sid, str(names.get(sid, "")), session_id, amount)
            for (sid, session_id), amount in sorted(to_streamer.items(), key=lambda kv: kv[0][0])
        ]
        parts = [f"工坊 {format_yuan(sum(s.amount_fen for s in workshop_shares))}"]
        if streamers:
            parts.append(f"村播 {format_yuan(sum(s.amount_fen for s in streamers))}")
        parts.append(f"服务中心 {format_yuan(centre)}")
        if shipping:
            parts.append(f"运费 {format_yuan(shipping)}")
        summary = "本次购买：" + "，".join(parts) if rows else "订单尚未付款，暂无资金去向。"
        return ReceiptOut(
            order.id,
            order.status,
            order.paid_at,
            order.total_fen,
            order.refunded_fen,
            [line_out(ln) for ln in order.lines],
            workshop_shares,
            streamers,
            centre,
            shipping,
            summary,
        )
