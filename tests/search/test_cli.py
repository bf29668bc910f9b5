"""`hub search reindex` and `hub search check` against a migrated SQLite file holding the demo catalogue.

The database is migrated with ``shop.cli.migrate_to`` and loaded once for the module; each command runs through
click's CliRunner with DATABASE_URL (and, for Meilisearch, SEARCH_BACKEND and MEILISEARCH_URL) in the environment.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from catalog.seed import load_demo
from shop.cli import cli, migrate_to
from shop.db import create_engine, create_session_factory
from shop.settings import DatabaseSettings, get_settings
from tests.search.meili_standin import MeiliStandIn


def _in_thread(fn: Callable[..., Any], *args: Any) -> None:
    """Alembic and the commands run their own event loops: keep them off the test's."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # re-raised in the test
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


async def _load_demo(url: str) -> None:
    engine = create_engine(DatabaseSettings.model_validate({"DATABASE_URL": url}))
    try:
        async with create_session_factory(engine)() as session:
            await load_demo(session)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('cli') / 'hub.sqlite3'}"
    _in_thread(migrate_to, "head", url)
    _in_thread(asyncio.run, _load_demo(url))
    return url


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """Runs `hub …` with the given environment; settings are read afresh for each run."""

    def run(*args: str, **env: str) -> Result:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        results: list[Result] = []
        _in_thread(lambda: results.append(CliRunner().invoke(cli, list(args))))
        return results[0]

    monkeypatch.setenv("SEARCH_BACKEND", "embedded")
    yield run
    get_settings.cache_clear()


def table_rows(result: Result) -> list[list[str]]:
    """The cells of the drift table (rich's box drawing), header first."""
    return [line.split() for line in result.output.splitlines() if line.startswith(("│", "┃"))]


def test_check_passes_on_a_fresh_catalogue(hub: Callable[..., Result], demo_url: str) -> None:
    result = hub("search", "check", DATABASE_URL=demo_url)
    assert result.exit_code == 0, result.output
    # The table lists both indexes, every document present, nothing missing, stale or extra
    assert [row[1] for row in table_rows(result)] == ["index", "products", "workshops"]
    assert table_rows(result)[1:] == [
        ["│", "products", "│", "79", "│", "79", "│", "0", "│", "0", "│", "0", "│"],
        ["│", "workshops", "│", "26", "│", "26", "│", "0", "│", "0", "│", "0", "│"],
    ]


def test_reindex_prints_the_counts(hub: Callable[..., Result], demo_url: str) -> None:
    result = hub("search", "reindex", DATABASE_URL=demo_url)
    assert result.exit_code == 0, result.output
    assert "Reindexed 79 products and 26 workshops" in result.output
    assert "rebuilt when the app starts" in result.output  # the embedded index lives in each app process


def test_check_on_meilisearch_reports_drift_and_exits_1(
    hub: Callable[..., Result], demo_url: str, standin: MeiliStandIn
) -> None:
    env = {
        "DATABASE_URL": demo_url,
        "SEARCH_BACKEND": "meilisearch",
        "MEILISEARCH_URL": standin.url,
        "MEILISEARCH_INDEX_PREFIX": f"cli{uuid.uuid4().hex[:6]}_",
    }
    prefix = env["MEILISEARCH_INDEX_PREFIX"]
    # Given a Meilisearch index built by `hub search reindex`
    reindexed = hub("search", "reindex", **env)
    assert reindexed.exit_code == 0, reindexed.output
    assert "Reindexed 79 products and 26 workshops" in reindexed.output
    docs = standin.indexes[f"{prefix}products"]["docs"]
    assert len(docs) == 79
    assert hub("search", "check", **env).exit_code == 0
    # When a document disappears and another goes stale behind the catalogue's back
    gone, stale = sorted(docs, key=int)[:2]
    del docs[gone]
    docs[stale] = docs[stale] | {"version": "0" * 16}
    # Then check names them and exits 1
    result = hub("search", "check", **env)
    assert result.exit_code == 1, result.output
    products = [cell for cell in table_rows(result)[1] if cell != "│"]
    assert products == ["products", "79", "78", "1:", gone, "1:", stale, "0"]
