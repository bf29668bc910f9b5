"""Property tests: every total, discount spread, split and refund reversal adds up exactly, in fen."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from shop.checkout.pricing import PricedLine, VoucherTerms, compute_totals
from shop.ledger.models import LedgerKind
from shop.ledger.services import (
    LedgerLine,
    payment_entries,
    refund_amount_for_units,
    refund_entries,
    refund_share,
    split_line,
)

AT = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
lines_st = st.lists(st.tuples(st.integers(0, 500_000), st.integers(1, 999)), min_size=1, max_size=12)
terms_st = st.one_of(
    st.none(),
    st.builds(
        VoucherTerms, kind=st.just("fixed"), amount_fen=st.integers(0, 2_000_000), min_spend_fen=st.integers(0, 100_000)
    ),
    st.builds(
        VoucherTerms, kind=st.just("percent"), percent_bp=st.integers(0, 10_000), min_spend_fen=st.integers(0, 100_000)
    ),
)
rates_st = st.tuples(st.integers(0, 5_000), st.one_of(st.none(), st.integers(0, 5_000)))


@settings(max_examples=300, deadline=None)
@given(lines=lines_st, terms=terms_st, shipping=st.integers(0, 5_000))
def test_totals_and_discount_spread_add_up(
    lines: list[tuple[int, int]], terms: VoucherTerms | None, shipping: int
) -> None:
    priced = [PricedLine(i, price, qty) for i, (price, qty) in enumerate(lines)]
    totals = compute_totals(priced, terms, shipping)
    assert totals.subtotal_fen == sum(price * qty for price, qty in lines)
    assert sum(totals.line_discounts) == totals.discount_fen
    assert 0 <= totals.discount_fen <= totals.subtotal_fen
    assert totals.total_fen == totals.subtotal_fen - totals.discount_fen + shipping
    nets = totals.line_nets(priced)
    assert all(0 <= n <= p.gross_fen for n, p in zip(nets, priced, strict=True))
    assert sum(nets) + shipping == totals.total_fen


@settings(max_examples=300, deadline=None)
@given(
    lines=lines_st, terms=terms_st, shipping=st.integers(0, 5_000), rates=st.lists(rates_st, min_size=12, max_size=12)
)
def test_ledger_rows_add_up_to_the_amount_paid(
    lines: list[tuple[int, int]], terms: VoucherTerms | None, shipping: int, rates: list[tuple[int, int | None]]
) -> None:
    priced = [PricedLine(i, price, qty) for i, (price, qty) in enumerate(lines)]
    totals = compute_totals(priced, terms, shipping)
    ledger_lines = [
        LedgerLine(i + 1, 1, net, rates[i][0], rates[i][1], 9 if rates[i][1] is not None else None, 5)
        for i, net in enumerate(totals.line_nets(priced))
    ]
    rows = payment_entries(1, ledger_lines, shipping, AT)
    assert sum(r.amount_fen for r in rows) == totals.total_fen
    for line in ledger_lines:
        line_rows = [r for r in rows if r.order_line_id == line.id]
        assert sum(r.amount_fen for r in line_rows) == line.net_fen
        assert all(r.amount_fen >= 0 for r in line_rows)


@settings(max_examples=300, deadline=None)
@given(net=st.integers(0, 5_000_000), fee=st.integers(0, 5_000), commission=st.one_of(st.none(), st.integers(0, 5_000)))
def test_split_is_exact(net: int, fee: int, commission: int | None) -> None:
    split = split_line(net, fee, commission)
    assert split.service_fee_fen + split.commission_fen + split.workshop_revenue_fen == net
    assert split.workshop_revenue_fen >= 0
    if commission is None:
        assert split.commission_fen == 0


@settings(max_examples=300, deadline=None)
@given(
    net=st.integers(0, 5_000_000),
    qty=st.integers(1, 50),
    fee=st.integers(0, 5_000),
    commission=st.one_of(st.none(), st.integers(0, 5_000)),
    data=st.data(),
)
def test_refunds_in_parts_reverse_the_split_exactly(
    net: int, qty: int, fee: int, commission: int | None, data: st.DataObject
) -> None:
    # refund the line's units in random chunks; each chunk's rows add up to its amount; all chunks → exact reverse
    line = LedgerLine(1, 1, net, fee, commission, 9 if commission is not None else None, None)
    original = split_line(net, fee, commission)
    done_qty = done_fen = 0
    reversed_by_kind = dict.fromkeys(LedgerKind, 0)
    while done_qty < qty:
        chunk = data.draw(st.integers(1, qty - done_qty))
        amount = refund_amount_for_units(net, qty, done_qty, chunk)
        rows = refund_entries(1, 1, line, done_fen, done_fen + amount, AT)
        assert sum(r.amount_fen for r in rows) == -amount
        for r in rows:
            reversed_by_kind[r.kind] += r.amount_fen
        done_qty += chunk
        done_fen += amount
    assert done_fen == net
    assert reversed_by_kind[LedgerKind.SERVICE_FEE] == -original.service_fee_fen
    assert reversed_by_kind[LedgerKind.STREAMER_COMMISSION] == -original.commission_fen
    assert reversed_by_kind[LedgerKind.WORKSHOP_REVENUE] == -original.workshop_revenue_fen


@given(net=st.integers(1, 100_000), before=st.integers(0, 100_000), after=st.integers(0, 100_000))
def test_refund_share_refuses_impossible_amounts(net: int, before: int, after: int) -> None:
    original = split_line(net, 500, None)
    if 0 <= before <= after <= net:
        assert sum(refund_share(original, net, before, after).values()) == after - before
    else:
        try:
            refund_share(original, net, before, after)
        except ValueError:
            return
        raise AssertionError("expected ValueError")
