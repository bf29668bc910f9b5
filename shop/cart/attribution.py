"""Live-session attribution hook (直播归因): which session and streamer a purchase through a share code belongs to.

The livestream context registers its resolver at import/startup with `set_resolver`; until then nothing is
attributed. A resolver may be sync or async. Last touch wins: the cart keeps the latest attribution per line.
"""

from __future__ import annotations

import datetime as dt
import inspect
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Attribution:
    live_session_id: int
    streamer_user_id: int
    commission_bp: int


class AttributionResolver(Protocol):
    def resolve(self, share_code: str | None, at: dt.datetime) -> Any:
        """Return (live_session_id, streamer_user_id, commission_bp) or an Attribution, or None (or an awaitable)."""


class NoAttribution:
    def resolve(self, share_code: str | None, at: dt.datetime) -> None:
        return None


_resolver: AttributionResolver = NoAttribution()


def set_resolver(resolver: AttributionResolver | None) -> None:
    global _resolver
    _resolver = resolver or NoAttribution()


def get_resolver() -> AttributionResolver:
    return _resolver


async def resolve(share_code: str | None, at: dt.datetime) -> Attribution | None:
    """Ask the registered resolver; a failing resolver never blocks a purchase (logged, unattributed)."""
    if not share_code:
        return None
    try:
        result = _resolver.resolve(share_code, at)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        log.warning("attribution_failed", error=str(exc)[:200])
        return None
    if result is None:
        return None
    if isinstance(result, Attribution):
        return result
    session_id, streamer_id, bp = result
    if not 0 <= int(bp) <= 10_000:
        log.warning("attribution_rate_out_of_range", commission_bp=bp)
        return None
    return Attribution(int(session_id), int(streamer_id), int(bp))
