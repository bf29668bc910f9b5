"""Order totals in fen: subtotal, the voucher discount spread over lines by largest remainder, shipping, total.

Pure functions so the property tests can hold every total to "the parts add up to the whole, exactly".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shop.money import allocate, apply_rate


@dataclass(frozen=True, slots=True)
class PricedLine:
    key: int  # a stable key (the line's position or id) for tie-breaking
    unit_price_fen: int
    quantity: int

    @property
    def gross_fen(self) -> int:
        return self.unit_price_fen * self.quantity


@dataclass(frozen=True, slots=True)
class VoucherTerms:
    kind: str  # "fixed" or "percent"
    amount_fen: int = 0
    percent_bp: int = 0
    min_spend_fen: int = 0


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal_fen: int
    discount_fen: int
    shipping_fen: int
    total_fen: int
    line_discounts: list[int]  # same order as the lines given

    def line_nets(self, lines: Sequence[PricedLine]) -> list[int]:
        return [line.gross_fen - d for line, d in zip(lines, self.line_discounts, strict=True)]


def voucher_discount(subtotal_fen: int, terms: VoucherTerms | None) -> int:
    """The discount a voucher gives on a subtotal: never more than the subtotal, nothing below the minimum spend."""
    if terms is None or subtotal_fen < terms.min_spend_fen:
        return 0
    raw = terms.amount_fen if terms.kind == "fixed" else apply_rate(subtotal_fen, terms.percent_bp)
    return max(0, min(raw, subtotal_fen))


def compute_totals(lines: Sequence[PricedLine], terms: VoucherTerms | None, shipping_fen: int) -> Totals:
    subtotal = sum(line.gross_fen for line in lines)
    discount = voucher_discount(subtotal, terms)
    # Spread in proportion to each line's gross, so each line's net (and its split) carries its fair share.
    spread = allocate(discount, [line.gross_fen for line in lines], [line.key for line in lines]) if lines else []
    return Totals(subtotal, discount, shipping_fen, subtotal - discount + shipping_fen, spread)
