"""Live figures (实时数据): the seam the shop calls after a payment or refund commits, viewers, and the push.

The shop calls, after its transaction commits::

    figures = LiveFigures.for_app(app)
    await figures.on_order_paid(order.id, [(session_id, streamer_id, line_net_fen), ...], paid_at)
    await figures.on_order_refunded(order.id, refund.id, [(session_id, streamer_id, refunded_net_fen), ...], at)

A line may carry a fourth item, the product id, for the session's top products. Each call is idempotent per
order (per refund for refunds): a retry or a duplicate webhook changes nothing. A Redis failure is logged and
reported as False; `hub live rebuild-leaderboards` restores the sales figures from the ledger.

Changes are published to the channels `live:{session_id}` and `live:all` (the studio screen and the kiosk
subscribe through `/ws/live/...`), coalesced: a session's figures go out at most every 100 ms, so a flash sale of
thousands of orders a second sends each screen ten updates a second, not thousands.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import structlog
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from redis.asyncio import BlockingConnectionPool, Redis

from livestream.schemas import FiguresOut
from livestream.services.common import month_key, to_utc
from livestream.services.livestore import (
    STORE_ERRORS,
    Figures,
    Line,
    LiveStore,
    MemoryLiveStore,
    RedisLiveStore,
)

log = structlog.get_logger(__name__)

VIEWER_TTL_SECONDS = 45.0  # a viewer who misses a heartbeat for this long has left
PUBLISH_INTERVAL = 0.1  # seconds; coalesces bursts of orders and heartbeats into one push per session
ALL_CHANNEL = "live:all"

LineLike = Line | Sequence[Any]


def live_redis(url: str) -> Redis:
    """The live store's own client: a blocking pool, so a burst (a thousand screens connecting, a flash sale) waits
    briefly for a connection instead of failing with "Too many connections" as redis-py's default pool does."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=64, timeout=2.0, socket_connect_timeout=1.0, socket_timeout=2.0
    )
    return Redis(connection_pool=pool)


def channel_for(session_id: int) -> str:
    return f"live:{session_id}"


def as_line(item: LineLike, sign: int = 1) -> Line:
    if isinstance(item, Line):
        return Line(item.live_session_id, item.streamer_user_id, sign * abs(item.amount_fen), item.product_id)
    session_id, streamer_id, amount = int(item[0]), int(item[1]), int(item[2])
    product_id = int(item[3]) if len(item) > 3 and item[3] is not None else None
    if amount < 0:
        raise ValueError("line amounts are given as positive fen; the refund call subtracts them")
    return Line(session_id, streamer_id, sign * amount, product_id)


def figures_out(f: Figures) -> FiguresOut:
    return FiguresOut(f.session_id, f.viewers, f.peak_viewers, f.total_viewers, f.orders, f.gmv_fen)


class LiveFigures:
    def __init__(
        self, store: LiveStore, channels: ChannelsPlugin | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self._dirty: set[int] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_app(cls, app: Litestar) -> LiveFigures:
        """The app's one instance (Redis store when REDIS_URL is set, memory otherwise)."""
        existing = getattr(app.state, "live_figures", None)
        if existing is None:
            url = app.state.settings.redis.url
            store: LiveStore = RedisLiveStore(live_redis(url)) if url else MemoryLiveStore()
            channels = next((p for p in app.plugins if isinstance(p, ChannelsPlugin)), None)
            existing = cls(store, channels)
            app.state.live_figures = existing
        return existing  # type: ignore[no-any-return]

    # ---- the shop's seam -------------------------------------------------------------------------------------
    async def on_order_paid(self, order_id: int, lines: Iterable[LineLike], paid_at: dt.datetime) -> bool:
        """Count a paid order's attributed lines once; True when applied now, False when already applied."""
        parsed = [as_line(item) for item in lines]
        return await self._apply(f"paid:{order_id}", order_id, month_key(to_utc(paid_at)), parsed)

    async def on_order_refunded(
        self, order_id: int, refund_id: int, lines: Iterable[LineLike], refunded_at: dt.datetime
    ) -> bool:
        """Take a refund off the figures of the month the order was paid in; once per refund."""
        parsed = [as_line(item, sign=-1) for item in lines]
        return await self._apply(f"refund:{order_id}:{refund_id}", order_id, month_key(to_utc(refunded_at)), parsed)

    async def _apply(self, event: str, order_id: int, month: str, lines: list[Line]) -> bool:
        if not lines:
            return False
        try:
            applied = await self.store.apply(event, order_id, month, lines)
            if applied:
                self.changed({line.live_session_id for line in lines})
        except STORE_ERRORS as exc:
            log.warning("live_figures_unavailable", event=event, error=str(exc)[:200])
            return False
        return applied

    # ---- viewers ---------------------------------------------------------------------------------------------
    async def heartbeat(self, session_id: int, viewer_id: str) -> FiguresOut:
        now = self.clock()
        await self.store.heartbeat(session_id, viewer_id, now, VIEWER_TTL_SECONDS)
        return await self._viewers_changed(session_id, now)

    async def leave(self, session_id: int, viewer_id: str) -> FiguresOut:
        await self.store.leave(session_id, viewer_id)
        return await self._viewers_changed(session_id, self.clock())

    async def _viewers_changed(self, session_id: int, now: float) -> FiguresOut:
        current = (await self.store.figures([session_id], now))[session_id]
        self.changed({session_id})
        return figures_out(current)

    # ---- coalesced pushes ------------------------------------------------------------------------------------
    def changed(self, session_ids: set[int]) -> None:
        """Schedule a push of these sessions' figures (one per session per interval, whatever the burst)."""
        if self.channels is None:
            return
        self._dirty.update(session_ids)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(PUBLISH_INTERVAL, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_handle = None
        ids, self._dirty = sorted(self._dirty), set()
        task = asyncio.get_running_loop().create_task(self._flush(ids))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self, session_ids: list[int]) -> None:
        try:
            await self.publish_figures(session_ids)
        except STORE_ERRORS as exc:
            log.warning("live_figures_unavailable", error=str(exc)[:200])

    # ---- reads and pushes ------------------------------------------------------------------------------------
    async def figures(self, session_ids: list[int]) -> dict[int, FiguresOut]:
        if not session_ids:
            return {}
        try:
            raw = await self.store.figures(session_ids, self.clock())
        except STORE_ERRORS as exc:
            log.warning("live_figures_unavailable", error=str(exc)[:200])
            return {}
        return {sid: figures_out(f) for sid, f in raw.items()}

    async def publish_figures(self, session_ids: list[int]) -> None:
        for sid, f in (await self.store.figures(session_ids, self.clock())).items():
            self.publish({"type": "figures", **_as_dict(f)}, sid)

    async def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        redis = getattr(self.store, "redis", None)
        if redis is not None:
            await redis.aclose()

    def publish(self, message: dict[str, Any], session_id: int) -> None:
        """Push to the session's screen and to the kiosk; never fails the caller."""
        if self.channels is None:
            return
        try:
            self.channels.publish(message, [channel_for(session_id), ALL_CHANNEL])
        except Exception as exc:  # a stopped plugin (tests, shutdown) must not fail a payment
            log.warning("live_publish_failed", session_id=session_id, error=str(exc)[:200])


def _as_dict(f: Figures) -> dict[str, int]:
    return {
        "session_id": f.session_id,
        "viewers": f.viewers,
        "peak_viewers": f.peak_viewers,
        "total_viewers": f.total_viewers,
        "orders": f.orders,
        "gmv_fen": f.gmv_fen,
    }
