"""The money module: exact integer arithmetic, largest-remainder splits that always add up."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.money import (
    allocate,
    apply_rate,
    floor_div,
    format_yuan,
    parse_yuan,
    round_half_up,
    split_by_rates,
    weight_price,
)

amounts = st.integers(min_value=-(10**12), max_value=10**12)
weights = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40).filter(lambda w: sum(w) > 0)


@given(total=amounts, parts=weights)
def test_allocate_adds_up_exactly_and_stays_within_one_fen_of_exact(total: int, parts: list[int]) -> None:
    shares = allocate(total, parts)
    assert sum(shares) == total
    weight_sum = sum(parts)
    for share, weight in zip(shares, parts, strict=True):
        exact = Fraction(total * weight, weight_sum)
        assert abs(share - exact) < 1
        if total >= 0:
            assert share >= 0


@given(total=st.integers(min_value=0, max_value=10**9), parts=weights)
def test_allocate_is_deterministic_and_mirrors_for_refunds(total: int, parts: list[int]) -> None:
    assert allocate(total, parts) == allocate(total, parts)
    assert allocate(-total, parts) == [-s for s in allocate(total, parts)]


def test_allocate_breaks_ties_by_key() -> None:
    # 1 fen over three equal holders goes to the smallest key
    assert allocate(1, [1, 1, 1], keys=[30, 10, 20]) == [0, 1, 0]
    assert allocate(2, [1, 1, 1], keys=[30, 10, 20]) == [0, 1, 1]
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]


def test_allocate_refuses_impossible_splits() -> None:
    with pytest.raises(ValueError):
        allocate(5, [])
    with pytest.raises(ValueError):
        allocate(5, [0, 0])
    with pytest.raises(ValueError):
        allocate(5, [1, -1])
    assert allocate(0, [0, 0]) == [0, 0]


@pytest.mark.parametrize(
    ("num", "den", "expected"), [(5, 2, 3), (-5, 2, -3), (4, 3, 1), (5, 3, 2), (7, -2, -4), (0, 7, 0), (1, 2, 1)]
)
def test_round_half_up(num: int, den: int, expected: int) -> None:
    assert round_half_up(num, den) == expected


@given(num=amounts, den=st.integers(min_value=1, max_value=10**6))
def test_round_half_up_is_nearest(num: int, den: int) -> None:
    result = round_half_up(num, den)
    assert abs(Fraction(num, den) - result) <= Fraction(1, 2)


def test_floor_div_rounds_toward_zero() -> None:
    assert floor_div(999, 10) == 99
    assert floor_div(-999, 10) == -99


@given(amount=st.integers(min_value=0, max_value=10**10), rates=st.lists(st.integers(0, 5000), max_size=2))
def test_split_by_rates_adds_up(amount: int, rates: list[int]) -> None:
    shares, rest = split_by_rates(amount, rates)
    assert sum(shares) + rest == amount
    assert rest >= 0 and all(s >= 0 for s in shares)


def test_rate_and_weight_examples() -> None:
    assert apply_rate(3800, 500) == 190  # 5% of ¥38.00
    assert apply_rate(3333, 333) == 111  # 110.9889 → 111
    # the seeds' sweet potatoes: 1,234 g at ¥2.20/kg (wholesale ¥2.00 + ¥0.20 premium)
    assert weight_price(1234, 220) == 271  # 271.48 → 271
    assert weight_price(2500, 1) == 3  # 2.5 → 3 (half up)
    with pytest.raises(ValueError):
        split_by_rates(100, [6000, 5000])


def test_format_and_parse_yuan() -> None:
    assert format_yuan(123456) == "¥1,234.56"
    assert format_yuan(-5) == "-¥0.05"
    assert parse_yuan("12.3") == 1230
    assert parse_yuan("¥1,000.05") == 100005
    with pytest.raises(ValueError):
        parse_yuan("1.005")
