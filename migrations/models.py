"""Import every model module so `Base.metadata` holds the whole schema (for Alembic and the drift test)."""

from __future__ import annotations

import importlib

from shop.db import Base

MODEL_MODULES = [
    "shop.accounts.models",
    "shop.audit",
    "shop.outbox",
    "catalog.models",
    "shop.ledger.models",
    "livestream.models",
    "search.models",
    "logistics.models",
    "shop.vouchers.models",
    "shop.orders.models",
    "shop.cart.models",
    "shop.stock.models",
    "shop.checkout.models",
    "shop.payments.models",
    "shop.benefits.models",
]


def load_all_models() -> type[Base]:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base
