"""Logistics settings and local-time helpers (丽水山递 runs on Asia/Shanghai time).

Times that the dispatch planner compares in SQL are stored as integer *epoch minutes* (UTC), so the same set-based
statements run on SQLite and PostgreSQL without dialect-specific date arithmetic.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
WEEKDAY_LABELS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


class LogisticsSettings(BaseSettings):
    """Tunable rules; defaults follow the issue (7 days to collect, 5 wrong codes lock a parcel)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    return_after_days: int = Field(7, alias="LOGISTICS_RETURN_AFTER_DAYS", ge=1, le=60)
    max_wrong_codes: int = Field(5, alias="LOGISTICS_MAX_WRONG_CODES", ge=1, le=20)
    # Time for a workshop to pack a paid order and hand it to its county hub.
    handover_minutes: int = Field(120, alias="LOGISTICS_HANDOVER_MINUTES", ge=0, le=7 * 24 * 60)
    # The in-process periodic job (returns of uncollected parcels) runs this often.
    job_interval_seconds: float = Field(3600.0, alias="LOGISTICS_JOB_INTERVAL_SECONDS", gt=0)
    job_enabled: bool = Field(True, alias="LOGISTICS_JOB_ENABLED")


@functools.cache
def get_logistics_settings() -> LogisticsSettings:
    return LogisticsSettings()


def epoch_minutes(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return int(moment.timestamp()) // 60


def from_epoch_minutes(minutes: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(minutes * 60, dt.UTC)


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(LOCAL_TZ)


def local_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), LOCAL_TZ)


def format_minute(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def parse_hhmm(value: str) -> int:
    """'08:30' → 510 (minute of day); ValueError when malformed."""
    hours, _, minutes = value.strip().partition(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 23 and 0 <= m <= 59) or len(minutes) != 2:
        raise ValueError(value)
    return h * 60 + m


def utc_now() -> dt.datetime:
    """Now, in UTC (time_machine-friendly: reads the clock at call time)."""
    return dt.datetime.now(dt.UTC)
