"""Typed settings, one class per concern, read from the environment in one place (`get_settings`)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEFAULT_SECRET = "dev-insecure-secret-change-me-not-for-production"


class _Env(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)


class AppSettings(_Env):
    """Process-wide settings: environment name, secrets, where files live."""

    environment: Literal["development", "test", "production"] = Field("development", alias="APP_ENV")
    secret_key: str = Field(DEFAULT_SECRET, alias="SECRET_KEY")
    debug: bool = Field(False, alias="APP_DEBUG")
    base_url: str = Field("http://127.0.0.1:8000", alias="BASE_URL")
    var_dir: Path = Field(VAR_DIR, alias="VAR_DIR")
    upload_max_bytes: int = Field(5 * 1024 * 1024, alias="UPLOAD_MAX_BYTES")
    jwt_ttl_minutes: int = Field(60 * 24, alias="JWT_TTL_MINUTES")
    # Requests per minute per caller (see shop/ratelimit.py); 0 turns a limit off. Log-in counts per client address;
    # the others per account (a kiosk per device), else per address.
    login_rate_per_minute: int = Field(10, ge=0, alias="LOGIN_RATE_PER_MINUTE")
    pickup_code_rate_per_minute: int = Field(20, ge=0, alias="PICKUP_CODE_RATE_PER_MINUTE")
    # Generous: the showroom kiosk serves a queue of visitors, and a village's phones can share one address.
    search_rate_per_minute: int = Field(300, ge=0, alias="SEARCH_RATE_PER_MINUTE")
    checkout_rate_per_minute: int = Field(30, ge=0, alias="CHECKOUT_RATE_PER_MINUTE")
    secure_cookies: bool = Field(False, alias="SECURE_COOKIES")
    inprocess_worker: bool = Field(True, alias="INPROCESS_WORKER")
    # `/metrics`: unset → readable from loopback only; set → the scraper sends `Authorization: Bearer <token>`.
    metrics_token: str | None = Field(None, alias="METRICS_TOKEN")

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> AppSettings:
        if self.environment == "production" and (self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 characters when APP_ENV=production"
            )
        return self

    @property
    def upload_dir(self) -> Path:
        return self.var_dir / "uploads"


class DatabaseSettings(_Env):
    """SQLite file under ./var by default; PostgreSQL in production (postgresql+asyncpg://...)."""

    url: str = Field(f"sqlite+aiosqlite:///{VAR_DIR / 'hub.sqlite3'}", alias="DATABASE_URL")
    echo: bool = Field(False, alias="DATABASE_ECHO")
    pool_size: int = Field(10, alias="DATABASE_POOL_SIZE")
    max_overflow: int = Field(20, alias="DATABASE_MAX_OVERFLOW")
    # "null" opens a connection per session (tests, which run the app and the test on different event loops).
    pool: Literal["queue", "null"] = Field("queue", alias="DATABASE_POOL")

    @model_validator(mode="after")
    def _normalise_driver(self) -> DatabaseSettings:
        # Operators paste the URLs their hosting gives them; map them onto the async drivers.
        if self.url.startswith("postgres://"):
            self.url = "postgresql+asyncpg://" + self.url.removeprefix("postgres://")
        elif self.url.startswith("postgresql://"):
            self.url = "postgresql+asyncpg://" + self.url.removeprefix("postgresql://")
        elif self.url.startswith("sqlite:///"):
            self.url = "sqlite+aiosqlite:///" + self.url.removeprefix("sqlite:///")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


class RedisSettings(_Env):
    """Unset: in-memory stores, cache and pub/sub (one process)."""

    url: str | None = Field(None, alias="REDIS_URL")


class SearchSettings(_Env):
    backend: Literal["embedded", "meilisearch"] = Field("embedded", alias="SEARCH_BACKEND")


class MeilisearchSettings(_Env):
    url: str = Field("http://127.0.0.1:7700", alias="MEILISEARCH_URL")
    api_key: str | None = Field(None, alias="MEILISEARCH_API_KEY")
    index_prefix: str = Field("hub_", alias="MEILISEARCH_INDEX_PREFIX")
    timeout_seconds: float = Field(2.0, alias="MEILISEARCH_TIMEOUT")


class StripeSettings(_Env):
    """Without a secret key the shop offers only the offline payment (pay at pickup / kiosk counter)."""

    secret_key: str | None = Field(None, alias="STRIPE_SECRET_KEY")
    publishable_key: str | None = Field(None, alias="STRIPE_PUBLISHABLE_KEY")
    webhook_secret: str | None = Field(None, alias="STRIPE_WEBHOOK_SECRET")
    api_base: str | None = Field(None, alias="STRIPE_API_BASE")

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)


class Settings:
    """All settings, built once from the environment."""

    def __init__(self) -> None:
        self.app = AppSettings()
        self.db = DatabaseSettings()
        self.redis = RedisSettings()
        self.search = SearchSettings()
        self.meilisearch = MeilisearchSettings()
        self.stripe = StripeSettings()


@functools.cache
def get_settings() -> Settings:
    return Settings()
