"""Health, liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from shop.auth import PUBLIC
from shop.cache import ping_redis


async def database_status(state: State) -> str:
    try:
        async with state.session_factory() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return "unavailable"
    return "ok"


async def search_status(state: State) -> str:
    checker = getattr(state, "search_health", None)
    if checker is None:
        return "ok"
    return str(await checker())


class HealthController(Controller):
    tags = ["health"]

    @get("/health", opt=PUBLIC, summary="Status of the database, cache and search backend", cache=False)
    async def health(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """200 when the database answers (cache or search may be degraded); 503 when the database is down."""
        state = request.app.state
        db = await database_status(state)
        cache = await ping_redis(state.redis)
        search = await search_status(state)
        checks = {
            "database": {"status": db, "backend": "sqlite" if state.settings.db.is_sqlite else "postgresql"},
            "cache": {
                "status": "ok" if cache in ("ok", "memory") else "degraded",
                "backend": "memory" if cache == "memory" else "redis",
            },
            "search": {
                "status": "ok" if search == "ok" else "degraded",
                "backend": state.settings.search.backend,
                "detail": search,
            },
        }
        if db != "ok":
            overall = "unavailable"
        elif any(c["status"] != "ok" for c in checks.values()):
            overall = "degraded"
        else:
            overall = "ok"
        return Response({"status": overall, "checks": checks}, status_code=503 if db != "ok" else 200)

    @get("/health/live", opt=PUBLIC, summary="Liveness: the process is up", cache=False)
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/health/ready", opt=PUBLIC, summary="Readiness: the database answers", cache=False)
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
        db = await database_status(request.app.state)
        return Response({"status": db}, status_code=200 if db == "ok" else 503)
