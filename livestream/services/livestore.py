"""Where live figures and leaderboards live: Redis (shared by every app process) or memory (embedded default).

Both stores keep the same keys and semantics:
- `applied` — event keys already applied ("paid:{order}", "refund:{order}:{refund}"): each event counts once;
- `order:{id}` — per order: the competition month it was paid in and the amount still attributed per session
  and per streamer, so a refund is taken off the month of the sale and an order stops counting when nothing is
  left of it;
- `fig:{session}` — orders, gmv_fen, peak viewers; `viewers:{session}` — viewers with their heartbeat expiry;
  `uv:{session}` — unique viewers (HyperLogLog on Redis);
- `lb:{YYYYMM}:{session|streamer}:{gmv|orders}` — sorted sets; `prod:{session}` — sales by product;
- `label:{session|streamer}` — display names for leaderboards.
Applying an event is one Lua script on Redis (atomic, so concurrent app processes cannot double count).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

DEFAULT_PREFIX = "live:"
# What a failing Redis raises (redis-py's errors are not the builtin ConnectionError/TimeoutError).
STORE_ERRORS = (RedisError, ConnectionError, TimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class Line:
    """An attributed order line as the live figures see it: signed amount (negative for a refund)."""

    live_session_id: int
    streamer_user_id: int
    amount_fen: int
    product_id: int | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    session_id: int
    viewers: int
    peak_viewers: int
    total_viewers: int
    orders: int
    gmv_fen: int


class LiveStore(Protocol):
    prefix: str

    async def apply(self, event: str, order_id: int, month: str, lines: list[Line]) -> bool: ...
    async def heartbeat(self, session_id: int, viewer_id: str, now: float, ttl: float) -> None: ...
    async def leave(self, session_id: int, viewer_id: str) -> None: ...
    async def figures(self, session_ids: list[int], now: float) -> dict[int, Figures]: ...
    async def top(self, key: str, limit: int, label: str) -> list[tuple[int, int, str]]: ...
    async def top_products(self, session_id: int, limit: int) -> list[tuple[int, int]]: ...
    async def set_labels(self, kind: str, labels: dict[int, str]) -> None: ...
    async def reset_sales(self) -> None: ...


_APPLY = """
local p = ARGV[1]
if redis.call('SADD', p .. 'applied', ARGV[2]) == 0 then return 0 end
local okey = p .. 'order:' .. ARGV[3]
redis.call('HSETNX', okey, 'm', ARGV[4])
local m = redis.call('HGET', okey, 'm')
local n = tonumber(ARGV[5])
for i = 0, n - 1 do
  local sid, st, amt, prod = ARGV[6 + i * 4], ARGV[7 + i * 4], tonumber(ARGV[8 + i * 4]), ARGV[9 + i * 4]
  local before_s = tonumber(redis.call('HGET', okey, 's' .. sid) or '0')
  local before_t = tonumber(redis.call('HGET', okey, 't' .. st) or '0')
  redis.call('HINCRBY', okey, 's' .. sid, amt)
  redis.call('HINCRBY', okey, 't' .. st, amt)
  redis.call('HINCRBY', p .. 'fig:' .. sid, 'gmv_fen', amt)
  redis.call('ZINCRBY', p .. 'lb:' .. m .. ':session:gmv', amt, sid)
  redis.call('ZINCRBY', p .. 'lb:' .. m .. ':streamer:gmv', amt, st)
  local ds, dt = 0, 0
  if before_s <= 0 and before_s + amt > 0 then ds = 1 elseif before_s > 0 and before_s + amt <= 0 then ds = -1 end
  if before_t <= 0 and before_t + amt > 0 then dt = 1 elseif before_t > 0 and before_t + amt <= 0 then dt = -1 end
  if ds ~= 0 then
    redis.call('HINCRBY', p .. 'fig:' .. sid, 'orders', ds)
    redis.call('ZINCRBY', p .. 'lb:' .. m .. ':session:orders', ds, sid)
  end
  if dt ~= 0 then redis.call('ZINCRBY', p .. 'lb:' .. m .. ':streamer:orders', dt, st) end
  if prod ~= '' then redis.call('ZINCRBY', p .. 'prod:' .. sid, amt, prod) end
end
return 1
"""

_TOP = """
local rows = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if #rows == 0 then return {} end
local members = {}
for i = 1, #rows, 2 do members[#members + 1] = rows[i] end
local names = redis.call('HMGET', KEYS[2], unpack(members))
local out = {}
for i = 1, #members do
  out[#out + 1] = members[i]
  out[#out + 1] = rows[2 * i]
  out[#out + 1] = names[i] or ''
end
return out
"""

_HEARTBEAT = """
local p, sid, viewer, now, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local vkey = p .. 'viewers:' .. sid
redis.call('ZREMRANGEBYSCORE', vkey, '-inf', now)
redis.call('ZADD', vkey, now + ttl, viewer)
redis.call('EXPIRE', vkey, math.ceil(ttl) + 60)
redis.call('PFADD', p .. 'uv:' .. sid, viewer)
local current = redis.call('ZCARD', vkey)
local peak = tonumber(redis.call('HGET', p .. 'fig:' .. sid, 'peak') or '0')
if current > peak then redis.call('HSET', p .. 'fig:' .. sid, 'peak', current) end
return current
"""


class RedisLiveStore:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self._apply = redis.register_script(_APPLY)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._top = redis.register_script(_TOP)

    async def apply(self, event: str, order_id: int, month: str, lines: list[Line]) -> bool:
        args: list[str | int] = [self.prefix, event, order_id, month, len(lines)]
        for line in lines:
            args += [line.live_session_id, line.streamer_user_id, line.amount_fen, line.product_id or ""]
        return bool(await self._apply(args=args))

    async def heartbeat(self, session_id: int, viewer_id: str, now: float, ttl: float) -> None:
        await self._heartbeat(args=[self.prefix, session_id, viewer_id, now, ttl])

    async def leave(self, session_id: int, viewer_id: str) -> None:
        await self.redis.zrem(f"{self.prefix}viewers:{session_id}", viewer_id)

    async def figures(self, session_ids: list[int], now: float) -> dict[int, Figures]:
        pipe = self.redis.pipeline(transaction=False)
        for sid in session_ids:
            pipe.hmget(f"{self.prefix}fig:{sid}", "orders", "gmv_fen", "peak")
            pipe.zcount(f"{self.prefix}viewers:{sid}", f"({now}", "+inf")
            pipe.pfcount(f"{self.prefix}uv:{sid}")
        raw = await pipe.execute()
        result = {}
        for i, sid in enumerate(session_ids):
            (orders, gmv, peak), viewers, unique = raw[3 * i], raw[3 * i + 1], raw[3 * i + 2]
            result[sid] = Figures(sid, int(viewers), int(peak or 0), int(unique), int(orders or 0), int(gmv or 0))
        return result

    async def top(self, key: str, limit: int, label: str) -> list[tuple[int, int, str]]:
        """Members, scores and labels in one round trip (one Lua call)."""
        raw: Any = await self._top(keys=[self.prefix + key, f"{self.prefix}label:{label}"], args=[limit])
        return [
            (int(raw[i]), int(float(raw[i + 1])), raw[i + 2].decode() if raw[i + 2] else "")
            for i in range(0, len(raw), 3)
        ]

    async def top_products(self, session_id: int, limit: int) -> list[tuple[int, int]]:
        rows: Any = await self.redis.zrevrange(f"{self.prefix}prod:{session_id}", 0, limit - 1, withscores=True)
        return [(int(m), int(s)) for m, s in rows if int(s) > 0]

    async def set_labels(self, kind: str, labels: dict[int, str]) -> None:
        if labels:
            await self.redis.hset(f"{self.prefix}label:{kind}", mapping={str(k): v for k, v in labels.items()})

    async def reset_sales(self) -> None:
        """Forget every sales figure (not viewers, not product tops the ledger cannot restore) before a rebuild."""
        for pattern in ("lb:*", "order:*", "applied"):
            keys = [k async for k in self.redis.scan_iter(match=self.prefix + pattern, count=1000)]
            for start in range(0, len(keys), 500):
                await self.redis.delete(*keys[start : start + 500])
        async for key in self.redis.scan_iter(match=self.prefix + "fig:*", count=1000):
            await self.redis.hdel(key, "orders", "gmv_fen")


class MemoryLiveStore:
    """One process, no Redis: the same semantics in dictionaries (no awaits inside an update, so it is atomic)."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix
        self.applied: set[str] = set()
        self.orders: dict[int, dict[str, object]] = {}
        self.fig: dict[int, dict[str, int]] = defaultdict(lambda: {"orders": 0, "gmv_fen": 0, "peak": 0})
        self.viewers: dict[int, dict[str, float]] = defaultdict(dict)
        self.unique: dict[int, set[str]] = defaultdict(set)
        self.boards: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.products: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.labels: dict[str, dict[int, str]] = defaultdict(dict)

    async def apply(self, event: str, order_id: int, month: str, lines: list[Line]) -> bool:
        if event in self.applied:
            return False
        self.applied.add(event)
        state = self.orders.setdefault(order_id, {"m": month, "s": defaultdict(int), "t": defaultdict(int)})
        m = state["m"]
        per_session: dict[int, int] = state["s"]  # type: ignore[assignment]
        per_streamer: dict[int, int] = state["t"]  # type: ignore[assignment]
        for line in lines:
            sid, st, amount = line.live_session_id, line.streamer_user_id, line.amount_fen
            before_s, before_t = per_session[sid], per_streamer[st]
            per_session[sid] += amount
            per_streamer[st] += amount
            self.fig[sid]["gmv_fen"] += amount
            self.boards[f"lb:{m}:session:gmv"][sid] += amount
            self.boards[f"lb:{m}:streamer:gmv"][st] += amount
            ds = 1 if before_s <= 0 < before_s + amount else -1 if before_s > 0 >= before_s + amount else 0
            dt_ = 1 if before_t <= 0 < before_t + amount else -1 if before_t > 0 >= before_t + amount else 0
            if ds:
                self.fig[sid]["orders"] += ds
                self.boards[f"lb:{m}:session:orders"][sid] += ds
            if dt_:
                self.boards[f"lb:{m}:streamer:orders"][st] += dt_
            if line.product_id is not None:
                self.products[sid][line.product_id] += amount
        return True

    async def heartbeat(self, session_id: int, viewer_id: str, now: float, ttl: float) -> None:
        viewers = self.viewers[session_id]
        for key in [k for k, expiry in viewers.items() if expiry <= now]:
            del viewers[key]
        viewers[viewer_id] = now + ttl
        self.unique[session_id].add(viewer_id)
        fig = self.fig[session_id]
        fig["peak"] = max(fig["peak"], len(viewers))

    async def leave(self, session_id: int, viewer_id: str) -> None:
        self.viewers[session_id].pop(viewer_id, None)

    async def figures(self, session_ids: list[int], now: float) -> dict[int, Figures]:
        result = {}
        for sid in session_ids:
            fig = self.fig.get(sid, {"orders": 0, "gmv_fen": 0, "peak": 0})
            viewers = sum(1 for expiry in self.viewers.get(sid, {}).values() if expiry > now)
            result[sid] = Figures(
                sid, viewers, fig["peak"], len(self.unique.get(sid, ())), fig["orders"], fig["gmv_fen"]
            )
        return result

    async def top(self, key: str, limit: int, label: str) -> list[tuple[int, int, str]]:
        board = self.boards.get(key, {})
        rows = sorted(board.items(), key=lambda kv: (kv[1], str(kv[0])), reverse=True)[:limit]  # as Redis orders ties
        names = self.labels.get(label, {})
        return [(member, score, names.get(member, "")) for member, score in rows]

    async def top_products(self, session_id: int, limit: int) -> list[tuple[int, int]]:
        rows = sorted(self.products.get(session_id, {}).items(), key=lambda kv: (-kv[1], -kv[0]))
        return [(p, s) for p, s in rows if s > 0][:limit]

    async def set_labels(self, kind: str, labels: dict[int, str]) -> None:
        self.labels[kind].update(labels)

    async def reset_sales(self) -> None:
        self.applied.clear()
        self.orders.clear()
        self.boards.clear()
        for fig in self.fig.values():
            fig["orders"] = fig["gmv_fen"] = 0
