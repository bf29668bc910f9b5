"""`hub search reindex` and `hub search check`."""

from __future__ import annotations

import asyncio
import sys

import click
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from search.services import SearchService
from shop.db import create_engine, create_session_factory
from shop.settings import get_settings

console = Console(stderr=True)


@click.group(name="search")
def group() -> None:
    """Search index maintenance."""


@group.command()
def reindex() -> None:
    """Rebuild the product and workshop indexes from the catalogue (Meilisearch, or warm an embedded copy)."""

    async def run() -> dict[str, int]:
        settings = get_settings()
        engine = create_engine(settings.db)
        factory = create_session_factory(engine)
        service = SearchService.from_settings(settings, factory)
        try:
            with Progress(console=console) as progress:
                tasks: dict[str, TaskID] = {}

                def report(name: str, done: int, total: int) -> None:
                    if name not in tasks:
                        tasks[name] = progress.add_task(f"Indexing {name}", total=max(total, 1))
                    progress.update(tasks[name], completed=done, total=max(total, 1))

                async with factory() as session:
                    return await service.reindex(session, progress=report)
        finally:
            await engine.dispose()

    counts = asyncio.run(run())
    console.print(f"[green]Reindexed[/] {counts['products']} products and {counts['workshops']} workshops")
    if get_settings().search.backend == "embedded":
        console.print("The embedded index lives in each app process and is rebuilt when the app starts.")


@group.command()
def check() -> None:
    """Report documents missing from, stale in, or extra in the index; exits 1 when it has drifted."""

    async def run() -> list[object]:
        settings = get_settings()
        engine = create_engine(settings.db)
        factory = create_session_factory(engine)
        service = SearchService.from_settings(settings, factory)
        try:
            async with factory() as session:
                if settings.search.backend == "embedded":
                    await service.reindex(session)  # an embedded index is per process: check a fresh one
                return list(await service.check(session))
        finally:
            await engine.dispose()

    reports = asyncio.run(run())
    table = Table("index", "expected", "indexed", "missing", "stale", "extra")
    drifted = False
    for r in reports:
        missing, stale, extra = r.missing, r.stale, r.extra  # type: ignore[attr-defined]
        drifted = drifted or bool(missing or stale or extra)
        table.add_row(r.index, str(r.expected), str(r.indexed), _ids(missing), _ids(stale), _ids(extra))  # type: ignore[attr-defined]
    console.print(table)
    sys.exit(1 if drifted else 0)


def _ids(ids: list[int]) -> str:
    return "0" if not ids else f"{len(ids)}: {', '.join(map(str, ids[:10]))}{' …' if len(ids) > 10 else ''}"
