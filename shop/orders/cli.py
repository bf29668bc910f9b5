"""`hub shop ...`: shop maintenance commands."""

from __future__ import annotations

import asyncio

import click

from shop.settings import get_settings


@click.group(name="shop")
def group() -> None:
    """Shop: orders, reservations."""


@group.command("expire-reservations")
def expire_reservations() -> None:
    """Cancel unpaid orders whose 15-minute stock reservation ran out (what the in-process worker does)."""
    from shop.db import create_engine, create_session_factory
    from shop.orders.services import OrderService

    async def run() -> int:
        engine = create_engine(get_settings().db)
        try:
            async with create_session_factory(engine)() as session:
                return await OrderService(session).expire_due()
        finally:
            await engine.dispose()

    click.echo(f"{asyncio.run(run())} order(s) expired")
