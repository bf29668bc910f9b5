"""Voucher bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from shop.vouchers.models import VoucherKind

Fen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]


class VoucherCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=3, max_length=32, pattern=r"^[A-Z0-9_-]+$")]
    kind: VoucherKind
    valid_from: dt.datetime
    valid_until: dt.datetime
    amount_fen: Fen = 0
    percent_bp: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    min_spend_fen: Fen = 0
    per_buyer_limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    usage_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=200)] = ""


class VoucherOut(msgspec.Struct):
    id: int
    code: str
    kind: VoucherKind
    amount_fen: int
    percent_bp: int
    min_spend_fen: int
    per_buyer_limit: int
    usage_limit: int | None
    used_count: int
    valid_from: dt.datetime
    valid_until: dt.datetime
    is_active: bool
    description: str
