"""ASGI entry point: `uvicorn shop.asgi:app`."""

from __future__ import annotations

from shop.app import create_app

app = create_app()
