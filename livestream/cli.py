"""`hub live ...`: rebuild the leaderboards from the ledger, end overdue sessions."""

from __future__ import annotations

import asyncio

import click
from rich.console import Console

from shop.settings import get_settings

console = Console(stderr=True)


@click.group("live")
def group() -> None:
    """Livestream (直播) maintenance."""


async def _with_figures(action: str) -> object:
    from livestream.jobs import end_overdue
    from livestream.services.figures import LiveFigures, live_redis
    from livestream.services.leaderboards import LeaderboardService
    from livestream.services.livestore import LiveStore, MemoryLiveStore, RedisLiveStore
    from shop.db import create_engine, create_session_factory

    settings = get_settings()
    engine = create_engine(settings.db)
    factory = create_session_factory(engine)
    redis = live_redis(settings.redis.url) if settings.redis.url else None
    store: LiveStore = RedisLiveStore(redis) if redis is not None else MemoryLiveStore()
    figures = LiveFigures(store)
    try:
        if action == "rebuild":
            async with factory() as session:
                return await LeaderboardService(session, figures).rebuild()
        return await end_overdue(factory, figures)
    finally:
        await engine.dispose()
        if redis is not None:
            await redis.aclose()


@group.command("rebuild-leaderboards")
def rebuild_leaderboards() -> None:
    """Rebuild live sales figures and monthly leaderboards from the ledger (Redis)."""
    if not get_settings().redis.url:
        console.print(
            "[yellow]REDIS_URL is not set: the embedded server keeps leaderboards in its own memory and "
            "rebuilds them at start; nothing to do here.[/]"
        )
        return
    result = asyncio.run(_with_figures("rebuild"))
    console.print(f"[green]Leaderboards rebuilt:[/] {result}")


@group.command("end-overdue")
def end_overdue_command() -> None:
    """End sessions still live 30 minutes after their booked end."""
    ended = asyncio.run(_with_figures("end"))
    console.print(f"[green]Ended sessions:[/] {ended}")
