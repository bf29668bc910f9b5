"""`hub benefits ...`: close a month (with a progress bar), write its CSV, render its PDF statements."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from shop.settings import get_settings

console = Console(stderr=True)


@click.group(name="benefits")
def group() -> None:
    """Benefit settlement and monthly statements (利益联结 月结与对账单)."""


@group.command()
@click.argument("month")
def close(month: str) -> None:
    """Close MONTH (e.g. 2026-10, Asia/Shanghai): settlements and statements in one transaction; idempotent."""
    asyncio.run(_close(month))


async def _close(month: str) -> None:
    from shop.benefits.services.close import STEPS, CloseService
    from shop.db import create_engine, create_session_factory
    from shop.errors import DomainError
    from shop.money import format_yuan

    engine = create_engine(get_settings().db)
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(f"Closing {month}", total=STEPS)

            def tick(step: str, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total, description=f"{month}: {step}")

            async with create_session_factory(engine)() as session:
                try:
                    out = await CloseService(session).close(month, None, tick)
                except DomainError as exc:
                    raise click.ClickException(exc.detail) from exc
        state = "was already closed" if out.already_closed else "closed"
        console.print(
            f"[green]{out.month} {state}[/]: {out.workshops} workshops, {out.statements} statements, "
            f"paid out {format_yuan(out.paid_out_fen)} (labour {format_yuan(out.labour_fen)}, purchase "
            f"{format_yuan(out.purchase_fen)}, dividends {format_yuan(out.dividend_fen)}, commissions "
            f"{format_yuan(out.commission_fen)}, adjustments {format_yuan(out.adjustment_fen)})"
        )
        if out.unmatched_commission_fen:
            console.print(
                f"[yellow]Commissions of streamers without a member record: "
                f"{format_yuan(out.unmatched_commission_fen)}[/]"
            )
    finally:
        await engine.dispose()


@group.command()
@click.argument("month")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="CSV file to write.")
def csv(month: str, out_path: Path) -> None:
    """Write MONTH's statement lines as CSV for the accountant."""

    async def run() -> None:
        from shop.benefits.services.statements import StatementService
        from shop.db import create_engine, create_session_factory

        engine = create_engine(get_settings().db)
        try:
            async with create_session_factory(engine)() as session:
                with out_path.open("w", encoding="utf-8", newline="") as fh:
                    async for row in StatementService(session).month_csv(month):
                        fh.write(row)
        finally:
            await engine.dispose()

    asyncio.run(run())
    console.print(f"[green]Wrote {out_path}[/]")
