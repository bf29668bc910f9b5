"""Answer from the embedded engine when the configured backend fails: search degrades, it never errors.

Writes go to both: the embedded copy stays warm so it can answer at once, and a failed write to the primary is
re-raised so the caller (the outbox worker) retries it; the index never silently drifts. After a failure the
primary is skipped for ``cooldown`` seconds so a dead server costs one timeout, not one per request; the next call
after that probes it again, and ``health()`` reports ``degraded: <reason>`` until it answers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import structlog

from search.engine.base import IndexSpec, SearchEngine, SearchQuery, SearchResult, SearchUnavailable, Suggestion
from search.engine.embedded import EmbeddedEngine

log = structlog.get_logger(__name__)
T = TypeVar("T")


class FallbackEngine:
    def __init__(self, primary: SearchEngine, embedded: EmbeddedEngine, *, cooldown: float = 10.0) -> None:
        self.primary = primary
        self.embedded = embedded
        self.spec: IndexSpec = primary.spec
        self.name = f"{primary.name}+fallback"
        self.cooldown = cooldown
        self.degraded_reason: str | None = None
        self._skip_until = 0.0

    @property
    def degraded(self) -> bool:
        return self.degraded_reason is not None

    def _failed(self, operation: str, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        if self.degraded_reason is None:
            log.warning(
                "search.backend_degraded",
                backend=self.primary.name,
                operation=operation,
                reason=reason,
                index=self.spec.uid,
            )
        self.degraded_reason = reason
        self._skip_until = time.monotonic() + self.cooldown

    def _recovered(self) -> None:
        if self.degraded_reason is not None:
            log.info("search.backend_recovered", backend=self.primary.name, index=self.spec.uid)
        self.degraded_reason = None
        self._skip_until = 0.0

    async def _read(
        self, operation: str, primary: Callable[[], Awaitable[T]], fallback: Callable[[], Awaitable[T]]
    ) -> tuple[T, bool]:
        if time.monotonic() >= self._skip_until:
            try:
                result = await primary()
            except (SearchUnavailable, TimeoutError, OSError) as exc:
                self._failed(operation, exc)
            else:
                self._recovered()
                return result, False
        log.warning(
            "search.answered_by_fallback",
            backend=self.primary.name,
            operation=operation,
            reason=self.degraded_reason,
            index=self.spec.uid,
        )
        return await fallback(), True

    async def search(self, query: SearchQuery) -> SearchResult:
        result, fell_back = await self._read(
            "search", lambda: self.primary.search(query), lambda: self.embedded.search(query)
        )
        if fell_back:
            result.degraded = True
        return result

    async def suggest(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        result, _ = await self._read(
            "suggest", lambda: self.primary.suggest(prefix, limit), lambda: self.embedded.suggest(prefix, limit)
        )
        return result

    async def _write(self, operation: str, primary: Callable[[], Awaitable[None]]) -> None:
        try:
            await primary()
        except (SearchUnavailable, TimeoutError, OSError) as exc:
            self._failed(operation, exc)
            raise SearchUnavailable(f"{operation} not applied to {self.primary.name}: {exc}") from exc
        self._recovered()

    async def upsert(self, docs: Sequence[Mapping[str, Any]]) -> None:
        await self.embedded.upsert(docs)
        await self._write("upsert", lambda: self.primary.upsert(docs))

    async def delete(self, ids: Sequence[int]) -> None:
        await self.embedded.delete(ids)
        await self._write("delete", lambda: self.primary.delete(ids))

    async def rebuild(self, docs: Sequence[Mapping[str, Any]]) -> None:
        await self.embedded.rebuild(docs)
        await self._write("rebuild", lambda: self.primary.rebuild(docs))

    async def health(self) -> str:
        try:
            status = await self.primary.health()
        except (SearchUnavailable, TimeoutError, OSError) as exc:
            self._failed("health", exc)
            return f"degraded: {self.degraded_reason}"
        if status != "ok":
            return f"degraded: {status}"
        self._recovered()
        return "ok"

    async def count(self) -> int:
        return await self.primary.count()

    async def document_versions(self) -> dict[int, str]:
        return await self.primary.document_versions()
