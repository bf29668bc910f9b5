"""Money in integer fen, rates in basis points, weights in grams. Never floats.

Every split of an amount goes through `allocate` (largest remainder, ties broken by a stable key) so the parts add
up to the whole exactly; every rounding goes through `round_half_up` / `floor_div` on integers.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from fractions import Fraction

BP_SCALE = 10_000  # basis points in 100%
FEN_PER_YUAN = 100
GRAMS_PER_KG = 1000


def round_half_up(numerator: int, denominator: int) -> int:
    """round(numerator / denominator), halves away from zero, exactly on integers."""
    if denominator == 0:
        raise ZeroDivisionError("denominator must not be zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return sign * q


def floor_div(numerator: int, denominator: int) -> int:
    """Rounded down toward zero (a pool "rounded down to the fen" never pays out more than it has)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * (abs(numerator) // denominator)


def apply_rate(amount_fen: int, rate_bp: int) -> int:
    """amount × rate, rounded half up to the fen."""
    return round_half_up(amount_fen * rate_bp, BP_SCALE)


def allocate(total: int, weights: Sequence[int], keys: Sequence[Hashable] | None = None) -> list[int]:
    """Split `total` in proportion to `weights` by largest remainder; the parts sum to `total` exactly.

    Leftover units go to the largest fractional remainders; ties are broken by `keys` (ascending; default the
    position), so the same inputs always give the same split. A negative total is split as the mirror of its
    absolute value, which keeps refunds the exact reverse of the original split.
    """
    if len(weights) == 0:
        if total != 0:
            raise ValueError("cannot allocate a non-zero total over no parts")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    if keys is not None and len(keys) != len(weights):
        raise ValueError("keys and weights must have the same length")
    if total < 0:
        return [-p for p in allocate(-total, weights, keys)]
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total == 0:
            return [0] * len(weights)
        raise ValueError("cannot allocate a non-zero total over zero weights")
    base = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    leftover = total - sum(base)
    order_keys = list(keys) if keys is not None else list(range(len(weights)))
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], order_keys[i]))  # type: ignore[operator]
    for i in order[:leftover]:
        base[i] += 1
    return base


def split_by_rates(amount_fen: int, rates_bp: Sequence[int]) -> tuple[list[int], int]:
    """Take each rate's share of `amount_fen` and return (shares, remainder for the owner), adding up exactly.

    Used for a line's service-centre fee and streamer commission; the remainder is the workshop's revenue. The
    split is a largest-remainder allocation over (rates…, 100% − their sum), so each share is its exact value
    rounded to the nearest fen (ties to the earlier share), and rates that add up to 100% never overshoot by a
    rounding fen. Rates summing above 100% are refused.
    """
    if sum(rates_bp) > BP_SCALE or any(r < 0 for r in rates_bp):
        raise ValueError("rates must be non-negative and sum to at most 100%")
    parts = allocate(amount_fen, [*rates_bp, BP_SCALE - sum(rates_bp)])
    return parts[:-1], parts[-1]


def weight_price(grams: int, fen_per_kg: int) -> int:
    """Payment for `grams` at a price per kg, rounded half up to the fen."""
    return round_half_up(grams * fen_per_kg, GRAMS_PER_KG)


def exact_share(total: int, weight: int, weight_sum: int) -> Fraction:
    return Fraction(total * weight, weight_sum)


def format_yuan(fen: int) -> str:
    """¥12.30 style, for pages and statements."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def parse_yuan(text: str) -> int:
    """'12.3' → 1230 fen, exactly; refuses more than two decimals."""
    text = text.strip().replace("¥", "").replace(",", "")
    value = Fraction(text)
    fen = value * FEN_PER_YUAN
    if fen.denominator != 1:
        raise ValueError(f"{text!r} has more than two decimal places")
    return int(fen)
