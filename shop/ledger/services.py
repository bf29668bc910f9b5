"""Writing the ledger: the split of each paid line, shipping, and the exact reverse on refund.

Per paid line: net → service-centre fee (workshop rate), streamer commission (when attributed), workshop revenue
(the remainder, which absorbs rounding) via `shop.money.split_by_rates`. A refund reverses a share of the line's
original rows by largest remainder; computed cumulatively (refunded-so-far after minus before) so a line refunded
in several parts is reversed exactly once it is refunded in full.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from shop.ledger.models import LedgerEntry, LedgerKind
from shop.money import allocate, split_by_rates

KIND_ORDER = (LedgerKind.SERVICE_FEE, LedgerKind.STREAMER_COMMISSION, LedgerKind.WORKSHOP_REVENUE)


@dataclass(frozen=True, slots=True)
class LineSplit:
    service_fee_fen: int
    commission_fen: int
    workshop_revenue_fen: int

    def by_kind(self) -> dict[LedgerKind, int]:
        return {
            LedgerKind.SERVICE_FEE: self.service_fee_fen,
            LedgerKind.STREAMER_COMMISSION: self.commission_fen,
            LedgerKind.WORKSHOP_REVENUE: self.workshop_revenue_fen,
        }


def split_line(net_fen: int, service_fee_bp: int, commission_bp: int | None) -> LineSplit:
    (fee, commission), rest = split_by_rates(net_fen, [service_fee_bp, commission_bp or 0])
    return LineSplit(fee, commission, rest)


def refund_share(original: LineSplit, net_fen: int, refunded_before: int, refunded_after: int) -> dict[LedgerKind, int]:
    """The (positive) amounts to reverse per kind when a line's refunded total goes from before to after."""
    if not 0 <= refunded_before <= refunded_after <= net_fen:
        raise ValueError("refunded amounts must satisfy 0 <= before <= after <= net")
    kinds = list(KIND_ORDER)
    weights = [original.by_kind()[k] for k in kinds]
    keys = [k.value for k in kinds]
    if sum(weights) == 0:
        return dict.fromkeys(kinds, 0)
    after = allocate(refunded_after, weights, keys)
    before = allocate(refunded_before, weights, keys)
    return {k: a - b for k, a, b in zip(kinds, after, before, strict=True)}


def unit_amounts(net_fen: int, quantity: int) -> list[int]:
    """A line's net per unit (largest remainder); refunding k units returns the first k of them."""
    return allocate(net_fen, [1] * quantity)


def refund_amount_for_units(net_fen: int, quantity: int, refunded_before_qty: int, refund_qty: int) -> int:
    units = unit_amounts(net_fen, quantity)
    return sum(units[refunded_before_qty : refunded_before_qty + refund_qty])


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """What the ledger needs to know about an order line."""

    id: int
    workshop_id: int
    net_fen: int
    service_fee_bp: int
    commission_bp: int | None
    streamer_user_id: int | None
    live_session_id: int | None


def payment_entries(
    order_id: int, lines: Sequence[LedgerLine], shipping_fen: int, at: dt.datetime
) -> list[LedgerEntry]:
    rows: list[LedgerEntry] = []
    for line in lines:
        split = split_line(line.net_fen, line.service_fee_bp, line.commission_bp)
        rows.extend(_rows_for(order_id, line, split.by_kind(), at, sign=1, refund_id=None))
    if shipping_fen:
        rows.append(
            LedgerEntry(
                kind=LedgerKind.SHIPPING, amount_fen=shipping_fen, occurred_at=at, order_id=order_id, note="运费"
            )
        )
    return rows


def refund_entries(
    order_id: int,
    refund_id: int,
    line: LedgerLine,
    refunded_before: int,
    refunded_after: int,
    at: dt.datetime,
) -> list[LedgerEntry]:
    original = split_line(line.net_fen, line.service_fee_bp, line.commission_bp)
    amounts = refund_share(original, line.net_fen, refunded_before, refunded_after)
    return _rows_for(order_id, line, amounts, at, sign=-1, refund_id=refund_id)


def shipping_refund_entry(order_id: int, refund_id: int, shipping_fen: int, at: dt.datetime) -> LedgerEntry:
    return LedgerEntry(
        kind=LedgerKind.SHIPPING,
        amount_fen=-shipping_fen,
        occurred_at=at,
        order_id=order_id,
        refund_id=refund_id,
        note="退运费",
    )


def _rows_for(
    order_id: int,
    line: LedgerLine,
    amounts: dict[LedgerKind, int],
    at: dt.datetime,
    *,
    sign: int,
    refund_id: int | None,
) -> list[LedgerEntry]:
    rows = []
    for kind in KIND_ORDER:
        amount = amounts[kind]
        attributed = line.streamer_user_id is not None and line.commission_bp is not None
        if kind is LedgerKind.STREAMER_COMMISSION and not attributed:
            continue  # no streamer, no row (the amount is 0 by construction)
        if kind is LedgerKind.SERVICE_FEE and amount == 0 and line.service_fee_bp == 0:
            continue
        rate = {LedgerKind.SERVICE_FEE: line.service_fee_bp, LedgerKind.STREAMER_COMMISSION: line.commission_bp}
        rows.append(
            LedgerEntry(
                kind=kind,
                amount_fen=sign * amount,
                occurred_at=at,
                order_id=order_id,
                order_line_id=line.id,
                refund_id=refund_id,
                workshop_id=line.workshop_id,
                streamer_user_id=line.streamer_user_id if kind is LedgerKind.STREAMER_COMMISSION else None,
                live_session_id=line.live_session_id,
                rate_bp=rate.get(kind),
                note="退款冲销" if sign < 0 else "",
            )
        )
    return rows
