"""`hub logistics …`: plan a day's dispatch, return uncollected parcels."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import click
from rich.console import Console

from logistics.config import local, utc_now
from shop.settings import get_settings

console = Console(stderr=True)


@click.group(name="logistics")
def group() -> None:
    """丽水山递: dispatch batches and returns."""


def _run(work: Callable[[Any], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        from shop.db import create_engine, create_session_factory

        engine = create_engine(get_settings().db)
        try:
            async with create_session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


@group.command()
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Service date (Asia/Shanghai); default today.",
)
def dispatch(day: dt.datetime | None) -> None:
    """Plan the day's dispatch batches per route departure."""
    from logistics.services.dispatch import plan_day

    service_date = day.date() if day else local(utc_now()).date()
    summary = _run(lambda session: plan_day(session, service_date))
    console.print(
        f"[green]{summary.service_date}: {summary.legs_planned} parcel legs in {summary.batches} "
        f"batches ({summary.elapsed_ms} ms)[/]"
    )


@group.command(name="returns")
def returns() -> None:
    """Send back parcels not collected in time and run the refund hook."""
    from logistics.services.returns import return_uncollected

    result = _run(return_uncollected)
    console.print(f"[green]{result.returned} returned, {result.refunds_notified} refunds notified[/]")
