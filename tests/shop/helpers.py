"""Shop test helpers: a small shop (workshop, products, people) and signed Stripe webhook bodies."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import StockLevel, Workshop
from shop.accounts.models import Role, User
from tests import factories
from tests.factories import Catalogue, ProductBundle

WEBHOOK_SECRET = "whsec_test_secret_for_the_hub"
_event_ids = itertools.count(1)


@dataclass
class Shop:
    cat: Catalogue
    sugar: ProductBundle  # 青田红糖 3800 fen, 50 in stock
    tea: ProductBundle  # 1250 fen, 20 in stock, second workshop
    tea_workshop: Workshop
    buyer: User
    other_buyer: User
    manager: User  # manages the sugar workshop only
    admin: User
    kiosk: User
    streamer: User

    def __post_init__(self) -> None:
        self._auth = {
            id(u): factories.auth(u)
            for u in (self.buyer, self.other_buyer, self.manager, self.admin, self.kiosk, self.streamer)
        }

    def h(self, user: User, **extra: str) -> dict[str, str]:
        return {**self._auth[id(user)], **extra}


async def make_shop(session: AsyncSession) -> Shop:
    cat = await factories.small_catalogue(session)
    tea_ws = await factories.workshop(
        session,
        cat.village,
        "松阳茶叶工坊",
        service_fee_bp=300,
        benefit_models=["guaranteed_purchase", "equity_dividend"],
    )
    tea = await factories.product(session, tea_ws, cat.sub_brand, "松阳银猴茶", price_fen=1250, on_hand=20)
    buyer = await factories.user(session, Role.BUYER)
    other = await factories.user(session, Role.BUYER)
    manager = await factories.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[cat.workshop.id])
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    kiosk = await factories.user(session, Role.KIOSK)
    streamer = await factories.user(session, Role.STREAMER)
    await session.commit()
    return Shop(cat, cat.product, tea, tea_ws, buyer, other, manager, admin, kiosk, streamer)


async def stock_of(session: AsyncSession, variant_id: int) -> tuple[int, int]:
    row = (
        await session.execute(
            select(StockLevel.on_hand, StockLevel.reserved).where(StockLevel.variant_id == variant_id)
        )
    ).one()
    await session.commit()  # never hold SQLite's write lock (or a snapshot) across the app's requests
    return int(row.on_hand), int(row.reserved)


async def fetch(session: AsyncSession, stmt: Any) -> list[Any]:
    """All ORM rows of a select, read in a transaction that ends at once (expire_on_commit is off)."""
    rows = list((await session.scalars(stmt)).all())
    await session.commit()
    return rows


PICKUP = {"method": "pickup", "pickup_point_id": 7}


def checkout_body(*lines: tuple[int, int], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"delivery": PICKUP, "payment_method": "offline"}
    if lines:
        body["lines"] = [{"variant_id": v, "quantity": q} for v, q in lines]
    body.update(extra)
    return body


def stripe_event(event_type: str, intent: dict[str, Any], event_id: str | None = None) -> bytes:
    event = {
        "id": event_id or f"evt_test_{next(_event_ids)}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "api_version": "2024-06-20",
        "livemode": False,
        "data": {"object": intent},
    }
    return json.dumps(event).encode()


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    ts = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


@dataclass
class RoundTrips:
    statements: list[str] = field(default_factory=list)  # each statement's first word, in order
    begun: int = 0  # transactions begun on the driver (each also costs a BEGIN and a COMMIT round trip)


@contextmanager
def round_trips(app: Litestar, monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    """What the app sends to PostgreSQL meanwhile: its statements, and the transactions begun on the driver."""
    seen = RoundTrips()
    start_transaction = AsyncAdapt_asyncpg_connection._start_transaction

    async def counted(adapted: AsyncAdapt_asyncpg_connection) -> None:
        await start_transaction(adapted)
        if adapted._started:
            seen.begun += 1

    def on_execute(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.statements.append(statement.split(None, 1)[0])

    engine = app.state.engine.sync_engine
    with monkeypatch.context() as patched:
        patched.setattr(AsyncAdapt_asyncpg_connection, "_start_transaction", counted)
        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
