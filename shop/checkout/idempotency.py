"""`Idempotency-Key` for checkout and payment calls.

A key is scoped to its caller. The first successful call stores its response in the same transaction as its
effect; the same key with the same route and body returns that stored response; the same key with another body is
a 409. A call that failed stored nothing, so retrying it with the same key tries again.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.checkout.models import IdempotencyRecord
from shop.db import utcnow
from shop.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 128


def request_hash(route: str, body: Any) -> str:
    canonical = msgspec.json.encode([route, msgspec.to_builtins(body)], order="sorted")
    return hashlib.sha256(canonical).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii():
        raise InvalidInput("Idempotency-Key must be 1–128 ASCII characters.", field="Idempotency-Key")
    return key


class IdempotencyStore:
    def __init__(self, session: AsyncSession, scope: str, key: str | None, route: str, body: Any) -> None:
        self.session = session
        self.scope = scope
        self.key = check_key(key)
        self.hash = request_hash(route, body) if self.key else ""

    async def replay(self) -> dict[str, Any] | None:
        """The stored response for this key, or None; a 409 if the key was used with another request."""
        if self.key is None:
            return None
        row = (
            await self.session.execute(
                select(IdempotencyRecord.request_hash, IdempotencyRecord.response).where(
                    IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key
                )
            )
        ).first()
        if row is None:
            return None
        if row.request_hash != self.hash:
            raise Conflict(
                "This Idempotency-Key was already used with a different request.",
                field="Idempotency-Key",
                extra={"reason": "idempotency_key_reused"},
            )
        return dict(row.response)

    def remember(self, status_code: int, response: Any) -> None:
        """Add the record to the current transaction (it commits with the effect it describes)."""
        self.session.add_all(self.records(status_code, response))

    def records(self, status_code: int, response: Any) -> list[IdempotencyRecord]:
        """The record (none without a key), not yet in any session (for `shop.inserts.insert_together`)."""
        if self.key is None:
            return []
        return [
            IdempotencyRecord(
                scope=self.scope,
                key=self.key,
                request_hash=self.hash,
                status_code=status_code,
                response=msgspec.to_builtins(response),
                created_at=utcnow(),
            )
        ]
