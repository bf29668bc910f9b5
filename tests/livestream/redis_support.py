"""Real Redis for livestream tests: one database number per xdist worker, keys under a per-test prefix."""

from __future__ import annotations

import os

REDIS_HOST = "redis://127.0.0.1:6379"


def redis_db() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 11 + int(worker.removeprefix("gw") or 0) % 4  # 11–14: kept clear of the other contexts' databases


def redis_url() -> str:
    return f"{REDIS_HOST}/{redis_db()}"
