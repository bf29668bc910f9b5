"""Hooks the shop provides: when a parcel goes back uncollected, the shop refunds the order by its rules.

Called after the return is committed, and retried by the job until it returns without raising (the shop's
hook must be idempotent per shipment_id).
"""

from __future__ import annotations

from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class ReturnHook(Protocol):
    async def on_parcel_returned(self, order_id: int, shipment_id: int) -> None: ...


class LogReturnHook:
    async def on_parcel_returned(self, order_id: int, shipment_id: int) -> None:
        log.info("logistics_parcel_returned", order_id=order_id, shipment_id=shipment_id, refund="no hook installed")


_hook: ReturnHook = LogReturnHook()


def set_return_hook(hook: ReturnHook | None) -> None:
    """Install the shop's refund hook (None restores the logging default)."""
    global _hook  # a process-wide registry, set once at start-up
    _hook = hook or LogReturnHook()


def get_return_hook() -> ReturnHook:
    return _hook
