"""Key-value stores and pub/sub: Redis when REDIS_URL is set, in-memory otherwise (one process)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import anyio
import structlog
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shop.settings import Settings

log = structlog.get_logger(__name__)


def redis_client(settings: Settings) -> Redis | None:
    if not settings.redis.url:
        return None
    # Short timeouts: a stalled Redis must degrade a feature, not hang a checkout.
    return Redis.from_url(settings.redis.url, socket_connect_timeout=1.0, socket_timeout=1.0, health_check_interval=10)


class CountingMemoryStore(MemoryStore):
    """A MemoryStore that can also count hits in a fixed window (the rate limits' counter in one process)."""

    def __init__(self) -> None:
        super().__init__()
        self._hit_lock = anyio.Lock()
        self._next_sweep = 0.0

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one hit on `key`: (hits in the current window, seconds until it resets). The window starts at the
        first hit and lasts `window` seconds."""
        now = time.time()
        async with self._hit_lock:  # get-then-set must not interleave with another request's
            raw = await self.get(key)
            count, reset = (int(part) for part in raw.split()) if raw else (0, 0)
            if reset <= now:
                count, reset = 0, int(now) + window
            count += 1
            await self.set(key, f"{count} {reset}", expires_in=max(1, reset - int(now)))
        if now >= self._next_sweep:
            # Counters of callers who never come back would stay until read; drop them once a minute.
            self._next_sweep = now + 60
            await self.delete_expired()
        return count, max(1, reset - int(now))


# One round trip, atomic across processes: start the window (the TTL is set once, by its first hit), count the hit,
# and read how long the window has left.
async def _redis_hit(store: RedisStore, key: str, window: int) -> tuple[int, int]:
    name = store._make_key(key)
    async with store._redis.pipeline(transaction=True) as pipe:
        pipe.set(name, 0, ex=window, nx=True)
        pipe.incr(name)
        pipe.ttl(name)
        _, count, ttl = await pipe.execute()
    return int(count), int(ttl) if ttl > 0 else window


class RedisOrMemoryStore(Store):
    """Redis while it answers; this process's memory while it does not (rate limits then count per process instead
    of across them). Without it a Redis outage turned every log-in into a 500."""

    def __init__(self, redis_store: RedisStore) -> None:
        self.redis_store = redis_store
        self.memory = CountingMemoryStore()

    async def _either(self, op: str, *args: Any) -> Any:
        try:
            return await getattr(self.redis_store, op)(*args)
        except RedisError as exc:
            log.warning("store_fell_back_to_memory", operation=op, error=str(exc)[:200])
            return await getattr(self.memory, op)(*args)

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        try:
            return await _redis_hit(self.redis_store, key, window)
        except RedisError as exc:
            log.warning("store_fell_back_to_memory", operation="hit", error=str(exc)[:200])
            return await self.memory.hit(key, window)

    async def set(self, key: str, value: str | bytes, expires_in: int | dt.timedelta | None = None) -> None:
        await self._either("set", key, value, expires_in)

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        return await self._either("get", key, renew_for)  # type: ignore[no-any-return]

    async def delete(self, key: str) -> None:
        await self._either("delete", key)

    async def delete_all(self) -> None:
        await self._either("delete_all")

    async def exists(self, key: str) -> bool:
        return await self._either("exists", key)  # type: ignore[no-any-return]

    async def expires_in(self, key: str) -> int | None:
        return await self._either("expires_in", key)  # type: ignore[no-any-return]


def build_stores(settings: Settings, redis: Redis | None) -> StoreRegistry:
    if redis is None:
        return StoreRegistry(default_factory=lambda name: CountingMemoryStore())
    return StoreRegistry(default_factory=lambda name: RedisOrMemoryStore(RedisStore(redis, namespace=f"hub:{name}")))


def build_channels(settings: Settings, redis: Redis | None, channels: list[str] | None = None) -> ChannelsPlugin:
    backend: Any
    backend = MemoryChannelsBackend(history=50) if redis is None else RedisChannelsPubSubBackend(redis=redis)
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True, create_ws_route_handlers=False)


async def ping_redis(redis: Redis | None) -> str:
    if redis is None:
        return "memory"
    try:
        await redis.ping()
    except Exception as exc:
        log.warning("redis_unavailable", error=str(exc)[:200])
        return "unavailable"
    return "ok"
