"""Delivery choice at checkout: a village pickup point (村级自提点) or home delivery (送货上门).

The logistics context owns the network (pickup points, routes, shelf-life checks) and replaces the default quoter
with `set_quoter`. The default: pickup is free at any pickup point id; home delivery costs a flat fee by county.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from shop.errors import InvalidInput

# Flat home-delivery fees in fen by county name; other counties pay DEFAULT_HOME_FEE_FEN.
HOME_DELIVERY_FEE_BY_COUNTY: dict[str, int] = {
    "莲都区": 600,
    "青田县": 800,
    "缙云县": 800,
    "遂昌县": 1000,
    "松阳县": 1000,
    "云和县": 1000,
    "庆元县": 1200,
    "景宁畲族自治县": 1200,
    "龙泉市": 1000,
}
DEFAULT_HOME_FEE_FEN = 1500


@dataclass(frozen=True, slots=True)
class DeliveryRequest:
    method: str  # "pickup" or "home"
    pickup_point_id: int | None = None
    address: dict[str, Any] | None = None  # name, phone, county, township, village, detail
    # The values of the quoter's `read_with_lines` columns, by label, as the checkout's read of the lines found them.
    read_with_lines: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuoteLine:
    variant_id: int
    product_id: int
    workshop_id: int
    quantity: int
    weight_g: int
    shelf_life_days: int | None
    # Where the parcel leaves from, as the checkout read it with the line (the quoter need not read the workshop).
    workshop_county_id: int | None = None
    workshop_name: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryQuote:
    shipping_fen: int
    pickup_point_id: int | None
    address: dict[str, Any] | None = None
    ready_date: dt.date | None = None
    notes: list[str] = field(default_factory=list)


class DeliveryQuoter(Protocol):
    # Labelled scalar columns (bound by `pickup_point_id`) the checkout adds to its read of the lines, so that the
    # quote needs no round trip of its own for them; their values come back in `DeliveryRequest.read_with_lines`.
    read_with_lines: tuple[Any, ...]

    async def quote(self, session: AsyncSession, request: DeliveryRequest, lines: Sequence[QuoteLine]) -> DeliveryQuote:
        """Price and validate the delivery; raise shop.errors.InvalidInput/NotFound naming the field."""


class FlatRateQuoter:
    read_with_lines: tuple[Any, ...] = ()

    async def quote(self, session: AsyncSession, request: DeliveryRequest, lines: Sequence[QuoteLine]) -> DeliveryQuote:
        if request.method == "pickup":
            if request.pickup_point_id is None:
                raise InvalidInput("Choose a pickup point.", field="delivery.pickup_point_id")
            return DeliveryQuote(0, request.pickup_point_id, None, None)
        address = request.address or {}
        county = str(address.get("county") or "").strip()
        if not county:
            raise InvalidInput("A home delivery address needs its county.", field="delivery.address.county")
        fee = HOME_DELIVERY_FEE_BY_COUNTY.get(county, DEFAULT_HOME_FEE_FEN)
        return DeliveryQuote(fee, None, dict(address), None)


_quoter: DeliveryQuoter = FlatRateQuoter()


def set_quoter(quoter: DeliveryQuoter | None) -> None:
    global _quoter
    _quoter = quoter or FlatRateQuoter()


def get_quoter() -> DeliveryQuoter:
    return _quoter
