"""Key-value stores and pub/sub: Redis when REDIS_URL is set, in-memory otherwise (one process)."""

from __future__ import annotations

from typing import Any

import structlog
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from redis.asyncio import Redis

from shop.settings import Settings

log = structlog.get_logger(__name__)


def redis_client(settings: Settings) -> Redis | None:
    if not settings.redis.url:
        return None
    # Short timeouts: a stalled Redis must degrade a feature, not hang a checkout.
    return Redis.from_url(settings.redis.url, socket_connect_timeout=1.0, socket_timeout=1.0, health_check_interval=10)


def build_stores(settings: Settings, redis: Redis | None) -> StoreRegistry:
    if redis is None:
        return StoreRegistry(default_factory=lambda name: MemoryStore())
    return StoreRegistry(default_factory=lambda name: RedisStore(redis, namespace=f"hub:{name}"))


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
