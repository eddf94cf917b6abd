"""Proration of mid-cycle changes: CONTRACT §6 example, edges and properties."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subscriptions.proration import (
    CHARGE,
    CREDIT,
    ProrationError,
    prorate,
    prorate_change,
)

D = Decimal
NOV_START, NOV_END = date(2026, 11, 1), date(2026, 12, 1)


def p(amount, change_date, start=NOV_START, end=NOV_END, currency="NGN"):
    return prorate(amount=amount, currency=currency, period_start=start, period_end=end, change_date=change_date)


def test_contract_example():
    assert p(D("3000.00"), date(2026, 11, 16)) == D("1500.00")


def test_first_day_is_full_amount_and_last_day_is_one_day():
    assert p(D("3000.00"), NOV_START) == D("3000.00")
    assert p(D("3000.00"), date(2026, 11, 30)) == D("100.00")


def test_rounding_half_up_from_the_exact_value():
    assert p(D("1000.00"), date(2026, 11, 21)) == D("333.33")  # 10/30
    assert p(D("1000.00"), date(2026, 11, 11)) == D("666.67")  # 20/30
    assert p(D("0.15"), date(2026, 11, 30)) == D("0.01")  # 0.005 rounds up
    assert p(D("-0.15"), date(2026, 11, 30)) == D("-0.01")  # symmetric
    assert p(D("0.14"), date(2026, 11, 30)) == D("0.00")


def test_february_and_year_periods():
    assert p(D("280.00"), date(2026, 2, 15), date(2026, 2, 1), date(2026, 3, 1)) == D("140.00")
    assert p(D("366.00"), date(2028, 12, 31), date(2028, 1, 1), date(2029, 1, 1)) == D("1.00")


def test_change_date_outside_the_period():
    with pytest.raises(ProrationError, match="outside the period"):
        p(D("10.00"), date(2026, 10, 31))
    with pytest.raises(ProrationError, match="outside the period"):
        p(D("10.00"), NOV_END)  # the end belongs to the next period
    with pytest.raises(ProrationError, match="Empty period"):
        p(D("10.00"), NOV_START, NOV_START, NOV_START)
    with pytest.raises(ProrationError, match="Unsupported currency"):
        p(D("10.00"), NOV_START, currency="XXX")
    with pytest.raises(TypeError):
        p(10.0, NOV_START)


def change(old, new, change_date=date(2026, 11, 16)):
    return prorate_change(
        currency="NGN",
        period_start=NOV_START,
        period_end=NOV_END,
        change_date=change_date,
        old_items=old,
        new_items=new,
    )


def test_added_item_is_charged():
    (line,) = change([("plan", "Pro plan", D("10000.00"))], [("plan", "Pro plan", D("10000.00")), ("seats", "Seats", D("3000.00"))])
    assert (line.key, line.direction, line.amount, line.full_amount) == ("seats", CHARGE, D("1500.00"), D("3000.00"))
    assert (line.days_remaining, line.days_in_period) == (15, 30)
    assert line.description.startswith("Remaining time on Seats")


def test_removed_item_is_credited():
    (line,) = change([("seats", "Seats", D("3000.00"))], [])
    assert (line.key, line.direction, line.amount) == ("seats", CREDIT, D("-1500.00"))
    assert line.description.startswith("Unused time on Seats")


def test_changed_item_shows_credit_and_charge():
    lines = change(
        [("plan", "Basic", D("5000.00")), ("seats", "Seats ×2", D("2000.00"))],
        [("seats", "Seats ×3", D("3000.00")), ("plan", "Pro", D("10000.00"))],
    )
    assert [(l.key, l.direction, l.amount) for l in lines] == [
        ("plan", CREDIT, D("-2500.00")),
        ("plan", CHARGE, D("5000.00")),
        ("seats", CREDIT, D("-1000.00")),
        ("seats", CHARGE, D("1500.00")),
    ]
    assert sum(l.amount for l in lines) == D("3000.00")


def test_unchanged_items_and_zero_lines_are_left_out():
    assert change([("plan", "Pro", D("10.00"))], [("plan", "Pro", D("10.00"))]) == []
    assert change([("free", "Free", D("0"))], [("free", "Free", D("0.00"))]) == []
    # 0.01 for 1 of 30 days rounds to 0.00: no line
    assert change([], [("tiny", "Tiny", D("0.01"))], change_date=date(2026, 11, 30)) == []
    (line,) = change([("free", "Free", D("0"))], [("free", "Free", D("30.00"))])
    assert line.direction == CHARGE


def test_change_errors():
    with pytest.raises(ProrationError, match="appears twice"):
        change([("a", "A", D("1")), ("a", "A", D("2"))], [])
    with pytest.raises(ProrationError, match="must not be negative"):
        change([], [("a", "A", D("-1"))])
    with pytest.raises(ProrationError, match=r"\(key, description, amount\)"):
        change([("a", D("1"))], [])
    with pytest.raises(ProrationError, match="outside the period"):
        change([], [("a", "A", D("1"))], change_date=NOV_END)


period_starts = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1))
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@given(start=period_starts, length=st.integers(1, 400), offset=st.data(), amount=amounts)
def test_prorate_properties(start, length, offset, amount):
    end = start + timedelta(days=length)
    day = start + timedelta(days=offset.draw(st.integers(0, length - 1)))
    result = prorate(amount=amount, currency="USD", period_start=start, period_end=end, change_date=day)
    assert isinstance(result, Decimal) and result.as_tuple().exponent == -2
    assert D("0") <= result <= amount
    exact = amount * (end - day).days / length
    assert abs(result - exact) <= D("0.005")
    # the same item added then removed on the same day nets to exactly zero
    assert prorate(amount=-amount, currency="USD", period_start=start, period_end=end, change_date=day) == -result
    if day == start:
        assert result == amount


@given(start=period_starts, length=st.integers(1, 400), data=st.data(), old=amounts, new=amounts)
def test_upgrade_then_back_nets_to_zero(start, length, data, old, new):
    end = start + timedelta(days=length)
    day = start + timedelta(days=data.draw(st.integers(0, length - 1)))
    kwargs = {"currency": "USD", "period_start": start, "period_end": end, "change_date": day}
    up = prorate_change(old_items=[("x", "X", old)], new_items=[("x", "X", new)], **kwargs)
    down = prorate_change(old_items=[("x", "X", new)], new_items=[("x", "X", old)], **kwargs)
    assert sum(l.amount for l in up) + sum(l.amount for l in down) == 0
    for line in up:
        assert (line.amount > 0) == (line.direction == CHARGE)
        assert line.amount != 0
