"""Live figures and leaderboards: idempotent paid/refund events, months, viewers; both stores; rebuild."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.services.figures import LiveFigures
from livestream.services.leaderboards import LeaderboardService
from livestream.services.livestore import MemoryLiveStore, RedisLiveStore
from shop.ledger.models import LedgerEntry, LedgerKind
from tests.livestream.helpers import SH
from tests.livestream.redis_support import redis_url

NOV = dt.datetime(2026, 11, 20, 20, 0, tzinfo=SH)
DEC_1_LOCAL = dt.datetime(2026, 12, 1, 0, 30, tzinfo=SH)  # still 30 November in UTC


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def figures(request: pytest.FixtureRequest) -> AsyncIterator[LiveFigures]:
    if request.param == "memory":
        yield LiveFigures(MemoryLiveStore(), clock=Clock())
        return
    redis = Redis.from_url(redis_url())
    prefix = f"livetest:{uuid.uuid4().hex[:8]}:"
    yield LiveFigures(RedisLiveStore(redis, prefix=prefix), clock=Clock())
    keys = [k async for k in redis.scan_iter(match=prefix + "*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def board(figures: LiveFigures, key: str) -> list[tuple[int, int]]:
    return [(member, score) for member, score, _ in await figures.store.top(key, 10, "session")]


async def test_a_paid_order_counts_once_per_session_and_streamer(figures: LiveFigures) -> None:
    # when an order with two lines in session 1 and one in session 2 is paid — twice (a retried webhook)
    lines = [(1, 10, 3800, 7), (1, 10, 1200, 8), (2, 20, 5000, 7)]
    assert await figures.on_order_paid(900, lines, NOV) is True
    assert await figures.on_order_paid(900, lines, NOV) is False
    # then
    figs = await figures.figures([1, 2])
    assert (figs[1].orders, figs[1].gmv_fen) == (1, 5000)
    assert (figs[2].orders, figs[2].gmv_fen) == (1, 5000)
    assert await board(figures, "lb:202611:session:gmv") == [(2, 5000), (1, 5000)]
    assert await board(figures, "lb:202611:streamer:gmv") == [(20, 5000), (10, 5000)]
    assert await board(figures, "lb:202611:streamer:orders") == [(20, 1), (10, 1)]
    assert await figures.store.top_products(1, 5) == [(7, 3800), (8, 1200)]


async def test_the_month_is_local_and_a_refund_comes_off_the_month_of_the_sale(figures: LiveFigures) -> None:
    # given an order paid at 00:30 on 1 December in Shanghai (30 November UTC): a December sale
    await figures.on_order_paid(901, [(3, 30, 10_000)], DEC_1_LOCAL)
    await figures.on_order_paid(902, [(3, 30, 2_000)], DEC_1_LOCAL)
    assert await board(figures, "lb:202612:session:gmv") == [(3, 12_000)]
    assert await board(figures, "lb:202611:session:gmv") == []
    # when part of order 901 is refunded in January, then the rest
    january = dt.datetime(2027, 1, 5, 10, 0, tzinfo=SH)
    assert await figures.on_order_refunded(901, 1, [(3, 30, 4_000)], january)
    assert await figures.on_order_refunded(901, 1, [(3, 30, 4_000)], january) is False  # same refund again
    assert await board(figures, "lb:202612:session:gmv") == [(3, 8_000)]
    assert await board(figures, "lb:202612:session:orders") == [(3, 2)]
    await figures.on_order_refunded(901, 2, [(3, 30, 6_000)], january)
    # then December keeps only order 902, January is untouched
    assert await board(figures, "lb:202612:session:gmv") == [(3, 2_000)]
    assert await board(figures, "lb:202612:session:orders") == [(3, 1)]
    assert await board(figures, "lb:202701:session:gmv") == []
    figs = (await figures.figures([3]))[3]
    assert (figs.orders, figs.gmv_fen) == (1, 2_000)


async def test_viewers_by_heartbeat_expire_and_leave(figures: LiveFigures) -> None:
    clock = figures.clock
    assert isinstance(clock, Clock)
    for viewer in ("viewer-aaaa", "viewer-bbbb", "viewer-cccc"):
        await figures.heartbeat(5, viewer)
    after_leave = await figures.leave(5, "viewer-bbbb")
    assert (after_leave.viewers, after_leave.peak_viewers, after_leave.total_viewers) == (2, 3, 3)
    clock.now += 30
    await figures.heartbeat(5, "viewer-aaaa")
    clock.now += 20  # viewer-cccc's last heartbeat is 50 s old: gone
    figs = (await figures.figures([5]))[5]
    assert (figs.viewers, figs.peak_viewers, figs.total_viewers) == (1, 3, 3)


def ledger_rows(order_id: int, line_id: int, session_id: int, streamer_id: int, net: int, rate_bp: int,
                at: dt.datetime, refund_id: int | None = None, sign: int = 1) -> list[LedgerEntry]:
    """What the shop writes for one attributed line: fee 5%, commission at the session's rate, the rest revenue."""
    fee = net * 500 // 10_000
    commission = net * rate_bp // 10_000
    common = dict(order_id=order_id, order_line_id=line_id, refund_id=refund_id, occurred_at=at, workshop_id=1)
    return [
        LedgerEntry(kind=LedgerKind.SERVICE_FEE, amount_fen=sign * fee, **common),
        LedgerEntry(kind=LedgerKind.STREAMER_COMMISSION, amount_fen=sign * commission, live_session_id=session_id,
                    streamer_user_id=streamer_id, rate_bp=rate_bp, **common),
        LedgerEntry(kind=LedgerKind.WORKSHOP_REVENUE, amount_fen=sign * (net - fee - commission), **common),
        LedgerEntry(kind=LedgerKind.SHIPPING, amount_fen=sign * 800, order_id=order_id, occurred_at=at),
    ]


async def test_rebuild_from_the_ledger_matches_the_live_path(session: AsyncSession) -> None:
    # given the shop's ledger: two paid orders, one partly refunded, and an unattributed order
    session.add_all(
        ledger_rows(1, 11, 1, 10, 3800, 800, NOV) + ledger_rows(1, 12, 2, 20, 5000, 1000, NOV)
        + ledger_rows(2, 21, 1, 10, 1200, 800, DEC_1_LOCAL)
        + ledger_rows(1, 11, 1, 10, 1000, 800, dt.datetime(2027, 1, 2, tzinfo=SH), refund_id=5, sign=-1)
        + [LedgerEntry(kind=LedgerKind.WORKSHOP_REVENUE, amount_fen=9_999, order_id=3, order_line_id=31,
                       occurred_at=NOV)]
    )
    await session.commit()
    live = LiveFigures(MemoryLiveStore())
    await live.on_order_paid(1, [(1, 10, 3800), (2, 20, 5000)], NOV)
    await live.on_order_paid(2, [(1, 10, 1200)], DEC_1_LOCAL)
    await live.on_order_refunded(1, 5, [(1, 10, 1000)], dt.datetime(2027, 1, 2, tzinfo=SH))
    # when the leaderboards are rebuilt from the ledger into an empty store
    rebuilt = LiveFigures(MemoryLiveStore())
    result = await LeaderboardService(session, rebuilt).rebuild()
    # then every board and figure is the same as the live path's
    assert (result.months, result.orders, result.sessions) == (["202611", "202612"], 2, 2)
    for key in ("lb:202611:session:gmv", "lb:202611:session:orders", "lb:202611:streamer:gmv",
                "lb:202612:session:gmv", "lb:202612:streamer:orders"):
        assert await board(rebuilt, key) == await board(live, key), key
    assert await board(rebuilt, "lb:202611:session:gmv") == [(2, 5000), (1, 2800)]
    assert await rebuilt.figures([1, 2]) == await live.figures([1, 2])
    # and the events it replayed are marked applied: the shop's retry of order 1 changes nothing
    assert await rebuilt.on_order_paid(1, [(1, 10, 3800)], NOV) is False
