"""Proration of mid-cycle changes (CONTRACT §6); no Django.

``prorate``: amount × (days left ÷ days in the period), where days left are the whole calendar days
from the change date to the period end (the change date itself counts, the end does not) and the
period is half-open ``[start, end)``. Rounded half-up per line to the currency, from the exact
rational value. So a change on the first day prorates the full amount and one on the last day
1/days of it. The change date must lie in ``[start, end)``: a change on the end date belongs to
the next period and raises ``ProrationError``. Negative amounts round symmetrically (half away
from zero), so prorate(-x) == -prorate(x).

``prorate_change`` compares the items before and after a change, matched by key, and shows both
sides of every changed item as separate lines — a credit (negative) for the unused part of the
old amount and a charge (positive) for the remaining part of the new one — because billing teams
want to see both. Added items get only a charge, removed items only a credit, items whose
amount is unchanged nothing. Lines whose prorated amount rounds to zero are left out. Order:
items in the order of ``old_items``, then items only in ``new_items`` in their order; for each
item the credit comes before the charge. Item amounts are whole-period amounts and must be >= 0.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from billing_ops.money import exponent, from_minor, to_decimal


class ProrationError(ValueError):
    """A change that cannot be prorated (date outside the period, bad amounts or items)."""


CHARGE = "charge"
CREDIT = "credit"


def _days(period_start: date, period_end: date, change_date: date) -> tuple[int, int]:
    days = (period_end - period_start).days
    if days <= 0:
        raise ProrationError(
            f"Empty period {period_start.isoformat()} → {period_end.isoformat()}"
        )
    if not period_start <= change_date < period_end:
        raise ProrationError(
            f"Change date {change_date.isoformat()} is outside the period "
            f"{period_start.isoformat()} → {period_end.isoformat()}"
        )
    return (period_end - change_date).days, days


def _half_up(value: Fraction, currency: str) -> Decimal:
    scaled = abs(value) * 10 ** exponent(currency)
    minor = math.floor(scaled + Fraction(1, 2))
    result = from_minor(-minor if value < 0 else minor, currency)
    return abs(result) if result == 0 else result


def _amount(value, what: str) -> Decimal:
    try:
        return to_decimal(value)
    except ValueError as exc:
        raise ProrationError(f"{what}: {exc}") from None


def prorate(*, amount, currency: str, period_start: date, period_end: date, change_date: date) -> Decimal:
    """``amount`` × days left ÷ days in the period, rounded half-up to ``currency``."""
    value = _amount(amount, "Amount")
    try:
        exponent(currency)
    except ValueError as exc:
        raise ProrationError(str(exc)) from None
    left, days = _days(period_start, period_end, change_date)
    return _half_up(Fraction(value) * left / days, currency)


@dataclass(frozen=True)
class ProrationLine:
    key: str | int
    description: str
    direction: str  # CHARGE or CREDIT
    full_amount: Decimal  # the item's amount for a whole period (>= 0)
    amount: Decimal  # prorated: positive for a charge, negative for a credit
    days_remaining: int
    days_in_period: int
    period_start: date
    period_end: date
    change_date: date


def _items(items, which: str) -> dict:
    result = {}
    for entry in items:
        try:
            key, description, amount = entry
        except (TypeError, ValueError):
            raise ProrationError(f"{which} entries must be (key, description, amount)") from None
        if key in result:
            raise ProrationError(f"Item {key!r} appears twice in {which}")
        value = _amount(amount, f"Amount of {key!r}")
        if value < 0:
            raise ProrationError(f"Amount of {key!r} must not be negative (got {value})")
        result[key] = (description, value)
    return result


def prorate_change(
    *,
    currency: str,
    period_start: date,
    period_end: date,
    change_date: date,
    old_items: Sequence[tuple[str | int, str, Decimal]],
    new_items: Sequence[tuple[str | int, str, Decimal]],
) -> list[ProrationLine]:
    """Proration lines for changing ``old_items`` into ``new_items`` on ``change_date``.

    Items are ``(key, description, amount for a whole period)``; see the module docstring.
    """
    left, days = _days(period_start, period_end, change_date)
    old = _items(old_items, "old_items")
    new = _items(new_items, "new_items")
    until = period_end.isoformat()

    def line(key, description, full, direction):
        signed = full if direction == CHARGE else -full
        prorated = prorate(
            amount=signed,
            currency=currency,
            period_start=period_start,
            period_end=period_end,
            change_date=change_date,
        )
        if prorated == 0:
            return None
        label = "Remaining time on" if direction == CHARGE else "Unused time on"
        return ProrationLine(
            key=key,
            description=f"{label} {description} ({change_date.isoformat()} to {until}, {left}/{days} days)",
            direction=direction,
            full_amount=full,
            amount=prorated,
            days_remaining=left,
            days_in_period=days,
            period_start=period_start,
            period_end=period_end,
            change_date=change_date,
        )

    lines = []
    for key in list(old) + [k for k in new if k not in old]:
        before, after = old.get(key), new.get(key)
        if before is not None and after is not None and before[1] == after[1]:
            continue
        if before is not None:
            lines.append(line(key, before[0], before[1], CREDIT))
        if after is not None:
            lines.append(line(key, after[0], after[1], CHARGE))
    return [entry for entry in lines if entry is not None]
