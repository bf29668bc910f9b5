"""Demo and synthetic catalogue data: `hub seed --demo` and `hub seed --synthetic N`."""

from __future__ import annotations

from catalog.seed.demo import DEMO_USERS, DemoSummary, load_demo
from catalog.seed.synthetic import iter_synthetic_products, load_synthetic

__all__ = ["DEMO_USERS", "DemoSummary", "iter_synthetic_products", "load_demo", "load_synthetic"]
