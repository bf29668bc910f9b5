"""ASGI entry point: `uvicorn shop.asgi:app`."""

from __future__ import annotations

import gc

from shop.app import create_app

app = create_app()

# The modules, the app and its routes live as long as the process: moved out of the cyclic collector's reach, they are
# not scanned again on every collection; a request's short-lived objects are collected less often, in larger batches.
gc.collect()
gc.freeze()
gc.set_threshold(7_000, 10, 10)
