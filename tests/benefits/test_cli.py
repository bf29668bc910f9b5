"""`hub benefits close 2026-10`: closes with a progress bar, and a second run says it was already closed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shop.db import create_engine, create_session_factory
from shop.settings import DatabaseSettings
from tests.benefits.test_seed_examples import brown_sugar_october
from tests.conftest import empty_database


def _hub(*args: str, url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "VAR_DIR": str(tmp_path), "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-c", "from shop.cli import cli; cli()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the CLI against this test's own SQLite copy
async def test_hub_benefits_close(db_url: str, tmp_path: Path) -> None:
    sqlite_url = db_url
    # given
    await empty_database(sqlite_url)
    engine = create_engine(DatabaseSettings.model_validate({"DATABASE_URL": sqlite_url}), null_pool=True)
    async with create_session_factory(engine)() as session:
        await brown_sugar_october(session)
    await engine.dispose()
    # when
    first = _hub("benefits", "close", "2026-10", url=sqlite_url, tmp_path=tmp_path)
    second = _hub("benefits", "close", "2026-10", url=sqlite_url, tmp_path=tmp_path)
    bad = _hub("benefits", "close", "2026-13", url=sqlite_url, tmp_path=tmp_path)
    out = _hub("benefits", "csv", "2026-10", "--out", str(tmp_path / "m.csv"), url=sqlite_url, tmp_path=tmp_path)
    # then
    assert first.returncode == 0, first.stderr
    assert "2026-10 closed" in first.stderr and "paid out ¥380,000.00" in first.stderr
    assert "2026-10 was already closed" in second.stderr
    assert bad.returncode != 0 and "is not a month like 2026-10" in bad.stderr
    assert out.returncode == 0 and len((tmp_path / "m.csv").read_text(encoding="utf-8").splitlines()) == 7
