"""Cart request and response bodies."""

from __future__ import annotations

from typing import Annotated

import msgspec

Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
LineQuantity = Annotated[int, msgspec.Meta(ge=1, le=999)]
ShareCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class CartLineIn(msgspec.Struct, forbid_unknown_fields=True):
    variant_id: Id
    quantity: LineQuantity = 1
    share_code: ShareCode | None = None  # from a live session's share link


class CartLineUpdate(msgspec.Struct, forbid_unknown_fields=True):
    quantity: LineQuantity


class CartLineOut(msgspec.Struct):
    id: int
    variant_id: int
    product_id: int
    title: str
    variant_name: str
    quantity: int
    unit_price_fen: int  # the price when added
    current_price_fen: int
    line_total_fen: int
    available: int
    live_session_id: int | None


class CartOut(msgspec.Struct):
    id: int | None
    token: str | None  # anonymous carts only: send it back in X-Cart-Token (or the hub_cart cookie)
    lines: list[CartLineOut]
    subtotal_fen: int
    item_count: int
