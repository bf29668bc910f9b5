"""Settings come from the environment with safe defaults; production refuses the default secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shop.settings import DEFAULT_SECRET, AppSettings, DatabaseSettings, RedisSettings, SearchSettings


def test_defaults_are_the_embedded_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SEARCH_BACKEND", "APP_ENV", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert DatabaseSettings().url.startswith("sqlite+aiosqlite:///") and DatabaseSettings().url.endswith(
        "var/hub.sqlite3"
    )
    assert RedisSettings().url is None
    assert SearchSettings().backend == "embedded"


def test_production_refuses_the_default_or_a_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        AppSettings()
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        AppSettings()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert AppSettings().secret_key == "x" * 40
    assert DEFAULT_SECRET != "x" * 40


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_are_mapped_to_async_drivers(monkeypatch: pytest.MonkeyPatch, given: str, expected: str) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert DatabaseSettings().url == expected
