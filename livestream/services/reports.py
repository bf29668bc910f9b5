"""The session report after the end (直播复盘): viewers, orders, sales, top products, commission, conversion.

Sales, orders and commission come from the ledger (what was actually paid and refunded, including purchases in
the attribution window after the end); viewers from the figures copied onto the session when it ended; top
products from the live store (the ledger rows do not name products).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Product
from livestream.models import SessionStatus
from livestream.schemas import SessionReport, TopProduct
from livestream.services.common import ensure_streamer_or_centre, get_session
from livestream.services.figures import LiveFigures
from livestream.services.leaderboards import SALE_KINDS
from livestream.services.livestore import STORE_ERRORS
from shop.auth import Caller
from shop.errors import Conflict
from shop.ledger.models import LedgerEntry, LedgerKind
from shop.money import BP_SCALE, round_half_up

TOP_PRODUCTS = 5


class ReportService:
    def __init__(self, session: AsyncSession, figures: LiveFigures) -> None:
        self.session = session
        self.figures = figures

    async def report(self, caller: Caller, session_id: int) -> SessionReport:
        live = await get_session(self.session, session_id)
        ensure_streamer_or_centre(caller, live.streamer_user_id)
        if live.status is not SessionStatus.ENDED:
            raise Conflict(
                f"Session {live.id} is {live.status.value}; the report is ready after the end.", field="status"
            )
        tagged_lines = select(LedgerEntry.order_line_id).where(LedgerEntry.live_session_id == live.id)
        rows = await self.session.execute(
            select(LedgerEntry.kind, LedgerEntry.order_id, LedgerEntry.refund_id, LedgerEntry.amount_fen).where(
                LedgerEntry.kind.in_(SALE_KINDS),
                or_(LedgerEntry.live_session_id == live.id, LedgerEntry.order_line_id.in_(tagged_lines)),
            )
        )
        per_order: dict[int, int] = defaultdict(int)
        refunded = commission = 0
        for kind, order_id, refund_id, amount in rows.tuples():
            per_order[order_id] += amount
            if refund_id is not None:
                refunded -= amount
            if kind is LedgerKind.STREAMER_COMMISSION:
                commission += amount
        orders = sum(1 for net in per_order.values() if net > 0)
        gmv = sum(per_order.values())
        current = (await self.figures.figures([live.id])).get(live.id)
        peak = max(live.peak_viewers, current.peak_viewers if current else 0)
        total = max(live.total_viewers, current.total_viewers if current else 0)
        conversion = round_half_up(orders * BP_SCALE, total) if total else 0
        top = await self._top_products(live.id)
        return SessionReport(
            live.id,
            live.title,
            live.status,
            live.streamer_user_id,
            live.went_live_at,
            live.ended_at,
            peak,
            total,
            orders,
            gmv,
            refunded,
            commission,
            conversion,
            top,
        )

    async def _top_products(self, session_id: int) -> list[TopProduct]:
        try:
            ranked = await self.figures.store.top_products(session_id, TOP_PRODUCTS)
        except STORE_ERRORS:
            return []
        if not ranked:
            return []
        titles = dict(
            (
                await self.session.execute(
                    select(Product.id, Product.title).where(Product.id.in_([p for p, _ in ranked]))
                )
            )
            .tuples()
            .all()
        )
        return [TopProduct(pid, titles.get(pid, ""), amount) for pid, amount in ranked]
