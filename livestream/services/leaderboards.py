"""Leaderboards (直播销售大比拼) per month, by session and by streamer, by paid sales and by orders.

Read from sorted sets in the live store; rebuilt from the shop's ledger (`ledger_entry`), the source of truth:
an order line is attributed when its ledger rows carry a `live_session_id` (at least its streamer-commission row);
its sales are the line's net amount = workshop revenue + service fee + streamer commission rows. Payment rows
(no refund id) count in the month they occurred (Asia/Shanghai); refund rows are taken off the month the order
was paid in, as the live path does.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession
from livestream.schemas import Board, LeaderboardEntry, LeaderboardOut, Metric, RebuildOut
from livestream.services.common import month_key, parse_month
from livestream.services.figures import LiveFigures
from livestream.services.livestore import Line
from shop.accounts.models import User
from shop.db import utcnow
from shop.ledger.models import LedgerEntry, LedgerKind

SALE_KINDS = (LedgerKind.WORKSHOP_REVENUE, LedgerKind.SERVICE_FEE, LedgerKind.STREAMER_COMMISSION)


class LeaderboardService:
    def __init__(self, session: AsyncSession, figures: LiveFigures) -> None:
        self.session = session
        self.figures = figures

    async def read(self, board: Board, metric: Metric, month: str | None, limit: int) -> LeaderboardOut:
        key = parse_month(month, utcnow())
        rows = await self.figures.store.top(f"lb:{key}:{board}:{metric}", limit, board)
        missing = [member for member, _, name in rows if not name]
        names: dict[int, str] = {}
        if missing:  # labels are written at go-live and by the rebuild; fall back to the database
            names = await self._names(board, missing)
            await self.figures.store.set_labels(board, names)
        entries = [
            LeaderboardEntry(rank, member, name or names.get(member, ""), score)
            for rank, (member, score, name) in enumerate(rows, start=1)
        ]
        return LeaderboardOut(f"{key[:4]}-{key[4:]}", board, metric, entries)

    async def _names(self, board: Board, ids: list[int]) -> dict[int, str]:
        if board == "session":
            query = select(LiveSession.id, LiveSession.title).where(LiveSession.id.in_(ids))
        else:
            query = select(User.id, User.display_name).where(User.id.in_(ids))
        return {int(i): str(n) for i, n in (await self.session.execute(query)).tuples()}

    async def rebuild(self) -> RebuildOut:
        """Replace every sales figure and leaderboard with what the ledger says (`hub live rebuild-leaderboards`).

        Viewer figures and product tops are kept (the ledger does not hold them). Orders paid while the rebuild
        runs may be counted twice or not at all; run it when the shop is quiet, or run it again.
        """
        attributed = {
            line_id: (sid, streamer)
            for line_id, sid, streamer in (
                await self.session.execute(
                    select(LedgerEntry.order_line_id, LedgerEntry.live_session_id, LedgerEntry.streamer_user_id)
                    .where(
                        LedgerEntry.live_session_id.is_not(None),
                        LedgerEntry.streamer_user_id.is_not(None),
                        LedgerEntry.order_line_id.is_not(None),
                    )
                    .distinct()
                )
            ).tuples()
        }
        tagged_lines = select(LedgerEntry.order_line_id).where(LedgerEntry.live_session_id.is_not(None))
        rows = await self.session.execute(
            select(
                LedgerEntry.order_id,
                LedgerEntry.refund_id,
                LedgerEntry.order_line_id,
                LedgerEntry.live_session_id,
                LedgerEntry.streamer_user_id,
                LedgerEntry.amount_fen,
                LedgerEntry.occurred_at,
            )
            .where(
                LedgerEntry.kind.in_(SALE_KINDS),
                or_(LedgerEntry.live_session_id.is_not(None), LedgerEntry.order_line_id.in_(tagged_lines)),
            )
            .order_by(LedgerEntry.order_id, LedgerEntry.id)
        )
        events: dict[tuple[int, int | None], dict[tuple[int, int], int]] = defaultdict(lambda: defaultdict(int))
        first_at: dict[tuple[int, int | None], dt.datetime] = {}
        for order_id, refund_id, line_id, sid, streamer, amount, at in rows:
            if sid is None or streamer is None:
                # A row of an attributed line without the tag (the centre's fee…) counts for that line's session;
                # a line whose streamer is unknown (an account since removed) counts for no one.
                sid, streamer = attributed.get(line_id, (None, None))
                if sid is None or streamer is None:
                    continue
            key = (order_id, refund_id)
            events[key][(sid, streamer)] += amount
            first_at.setdefault(key, at)
        await self.session.rollback()  # done reading; do not hold the (SQLite) transaction through the replay
        store = self.figures.store
        await store.reset_sales()
        months: set[str] = set()
        sessions: set[int] = set()
        paid_orders = 0
        # Payments first, so every refund finds the month its order was paid in.
        for (order_id, refund_id), lines in sorted(events.items(), key=lambda kv: (kv[0][1] is not None, kv[0])):
            event = f"paid:{order_id}" if refund_id is None else f"refund:{order_id}:{refund_id}"
            parsed = [Line(sid, streamer, amount) for (sid, streamer), amount in sorted(lines.items()) if amount]
            month = month_key(first_at[(order_id, refund_id)])
            if parsed and await store.apply(event, order_id, month, parsed):
                sessions.update(line.live_session_id for line in parsed)
                if refund_id is None:
                    months.add(month)
                    paid_orders += 1
        await store.set_labels("session", await self._names("session", sorted(sessions)))
        streamers = await self.session.scalars(
            select(LiveSession.streamer_user_id).where(LiveSession.id.in_(sorted(sessions))).distinct()
        )
        await store.set_labels("streamer", await self._names("streamer", list(streamers)))
        return RebuildOut(sorted(months), paid_orders, len(sessions))
