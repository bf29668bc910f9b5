"""The `hub` command: migrate, seed, serve, and each context's commands (search, logistics, benefits, live)."""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from rich.console import Console

from shop.settings import BASE_DIR, get_settings

console = Console(stderr=True)

# Context command groups, each a click group named `group` in the listed module.
CONTEXT_COMMANDS: list[str] = ["livestream.cli", "search.cli", "logistics.cli", "shop.orders.cli", "shop.benefits.cli"]


# Each context's demo data (`async def load_demo(session) -> summary`), loaded in order after catalogue and accounts.
DEMO_MODULES: list[str] = ["logistics.demo", "livestream.demo", "shop.benefits.demo"]


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(BASE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BASE_DIR / "migrations"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def migrate_to(revision: str = "head", database_url: str | None = None) -> None:
    settings = get_settings()
    url = database_url or settings.db.url
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


@click.group()
def cli() -> None:
    """共富工坊销售平台 Workshop Sales Hub."""


@cli.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate(revision: str) -> None:
    """Bring the database schema up to date (Alembic upgrade)."""
    settings = get_settings()
    migrate_to(revision)
    console.print(f"[green]Database migrated to {revision}[/] ({settings.db.url.split('://')[0]})")


@cli.command()
@click.argument("revision", default="-1")
def downgrade(revision: str) -> None:
    """Step the schema back (default: one revision)."""
    command.downgrade(alembic_config(get_settings().db.url), revision)
    console.print(f"[yellow]Database downgraded to {revision}[/]")


@cli.command()
@click.option("--demo", is_flag=True, help="Load the demo catalogue drawn from the seed documents.")
@click.option("--synthetic", type=click.IntRange(1, 10_000_000), default=None, help="Generate N synthetic products.")
@click.option("--seed", "random_seed", default=42, show_default=True, help="Random seed for --synthetic.")
def seed(demo: bool, synthetic: int | None, random_seed: int) -> None:
    """Load demo data (`--demo`) or a large synthetic catalogue (`--synthetic 100000`)."""
    if not demo and synthetic is None:
        raise click.UsageError("Choose --demo or --synthetic N.")
    asyncio.run(_seed(demo, synthetic, random_seed))


async def _seed(demo: bool, synthetic: int | None, random_seed: int) -> None:
    from shop.db import create_engine, create_session_factory

    settings = get_settings()
    engine = create_engine(settings.db)
    factory = create_session_factory(engine)
    try:
        if demo:
            from catalog.seed.demo import load_demo

            async with factory() as session:
                summary = await load_demo(session)
            console.print(f"[green]Demo data loaded:[/] {summary}")
            for name in DEMO_MODULES:
                async with factory() as session:
                    loaded = await importlib.import_module(name).load_demo(session)
                console.print(f"[green]{name}:[/] {loaded}")
        if synthetic:
            from rich.progress import Progress

            from catalog.seed.synthetic import load_synthetic

            started = time.perf_counter()
            with Progress(console=console) as progress:
                task = progress.add_task("Synthetic products", total=synthetic)
                inserted = await load_synthetic(
                    factory,
                    synthetic,
                    seed=random_seed,
                    progress=lambda done, _total: progress.update(task, completed=done),
                )
            elapsed = time.perf_counter() - started
            console.print(f"[green]{inserted} synthetic products in {elapsed:.1f}s ({inserted / elapsed:,.0f}/s)[/]")
    finally:
        await engine.dispose()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes (PostgreSQL only).")
@click.option("--reload", is_flag=True, help="Reload on code changes (development).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the hub with uvicorn."""
    import uvicorn

    settings = get_settings()
    if workers > 1 and settings.db.is_sqlite:
        console.print("[yellow]SQLite and in-memory state serve one process; starting 1 worker.[/]")
        workers = 1
    if workers > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from shop.metrics_dir import prepare_multiprocess_dir  # before uvicorn starts the workers, which inherit it

        prepare_multiprocess_dir()
    console.print(f"[green]Serving on http://{host}:{port}[/]")
    uvicorn.run(
        "shop.asgi:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        log_level="warning",
        access_log=False,
        # uvicorn kills a worker that does not answer its ping in time (default 5 s); a busy host starting several
        # workers at once takes longer than that to import the app, which restarts the workers forever.
        timeout_worker_healthcheck=30,
    )


@cli.command()
def worker() -> None:
    """Run the background jobs (outbox indexing, reservation expiry, parcel returns) until interrupted."""
    asyncio.run(_worker())


async def _worker() -> None:
    """The app's own start-up without HTTP: the same hooks between contexts (refunds for returned parcels, live
    figures, notifications) and every periodic job — reservation expiry, overdue live sessions, parcel returns,
    the search outbox — so app processes can run with INPROCESS_WORKER=false and none of it is lost."""
    import signal

    from shop.app import create_app
    from shop.jobs import all_jobs

    settings = get_settings()
    settings.app = settings.app.model_copy(update={"inprocess_worker": True})
    app = create_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    names = ["reservation-expiry", "live-overdue", "logistics-returns", *(j.name for j in all_jobs())]
    console.print(f"[green]Worker running:[/] {', '.join(dict.fromkeys(names))}")
    async with app.lifespan():
        await stop.wait()


for _module in CONTEXT_COMMANDS:
    cli.add_command(importlib.import_module(_module).group)
