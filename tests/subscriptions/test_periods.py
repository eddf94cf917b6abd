"""Billing periods: month ends, leap years, calendar alignment, and properties over 1900–2100."""
import calendar
import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subscriptions.periods import (
    Cycle,
    Interval,
    PeriodError,
    add_interval,
    days_in_period,
    first_period,
    next_period,
    period_containing,
)

INTERVALS = list(Interval.ALL)
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


def periods(anchor, interval, cycle, count):
    result = [first_period(start=anchor, interval=interval, cycle=cycle)]
    while len(result) < count:
        result.append(next_period(anchor=anchor, interval=interval, cycle=cycle, current_start=result[-1][0]))
    return result


# --- add_interval -----------------------------------------------------------------------------


def test_month_end_anchor_is_kept():
    anchor = date(2026, 1, 31)
    assert [add_interval(anchor, "monthly", n) for n in range(5)] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]
    assert add_interval(date(2028, 1, 31), "monthly", 1) == date(2028, 2, 29)


def test_leap_day_yearly_anchor():
    anchor = date(2024, 2, 29)
    assert [add_interval(anchor, "yearly", n) for n in range(5)] == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]
    assert add_interval(date(1896, 2, 29), "yearly", 4) == date(1900, 2, 28)  # 1900 is not a leap year
    assert add_interval(date(1996, 2, 29), "yearly", 4) == date(2000, 2, 29)


def test_quarterly_daily_weekly():
    assert add_interval(date(2026, 11, 30), "quarterly", 1) == date(2027, 2, 28)
    assert add_interval(date(2026, 11, 30), "quarterly", 2) == date(2027, 5, 30)
    assert add_interval(date(2026, 12, 31), "daily", 1) == date(2027, 1, 1)
    assert add_interval(date(2026, 12, 31), "weekly", 2) == date(2027, 1, 14)
    assert add_interval(date(2026, 3, 31), "monthly", -1) == date(2026, 2, 28)
    assert add_interval(date(2026, 3, 31), "monthly", 0) == date(2026, 3, 31)


def test_add_interval_errors():
    with pytest.raises(PeriodError, match="Unknown interval"):
        add_interval(date(2026, 1, 1), "fortnightly", 1)
    with pytest.raises(TypeError):
        add_interval(date(2026, 1, 1), "monthly", 1.0)
    with pytest.raises(TypeError):
        add_interval(date(2026, 1, 1), "monthly", True)
    with pytest.raises(PeriodError, match="out of range"):
        add_interval(date(9999, 12, 1), "monthly", 1)
    with pytest.raises(PeriodError, match="out of range"):
        add_interval(date(9999, 12, 31), "daily", 1)


# --- anniversary ------------------------------------------------------------------------------


def test_anniversary_monthly_from_the_31st():
    assert periods(date(2026, 1, 31), "monthly", "anniversary", 4) == [
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2026, 2, 28), date(2026, 3, 31)),
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 4, 30), date(2026, 5, 31)),
    ]


def test_anniversary_period_containing():
    anchor = date(2026, 1, 31)
    assert period_containing(anchor=anchor, interval="monthly", cycle="anniversary", on=date(2026, 2, 27)) == (
        date(2026, 1, 31),
        date(2026, 2, 28),
    )
    assert period_containing(anchor=anchor, interval="monthly", cycle="anniversary", on=date(2026, 2, 28)) == (
        date(2026, 2, 28),
        date(2026, 3, 31),
    )
    assert period_containing(anchor=anchor, interval="monthly", cycle="anniversary", on=date(2026, 3, 30)) == (
        date(2026, 2, 28),
        date(2026, 3, 31),
    )
    assert period_containing(anchor=date(2026, 11, 1), interval="monthly", cycle="anniversary", on=date(2026, 11, 16)) == (
        date(2026, 11, 1),
        date(2026, 12, 1),
    )


def test_anniversary_weekly_and_daily():
    assert first_period(start=date(2026, 11, 18), interval="weekly", cycle="anniversary") == (
        date(2026, 11, 18),
        date(2026, 11, 25),
    )
    assert first_period(start=date(2026, 11, 18), interval="daily", cycle="anniversary") == (
        date(2026, 11, 18),
        date(2026, 11, 19),
    )


# --- calendar ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "interval, start, first, second",
    [
        ("monthly", date(2026, 11, 16), (date(2026, 11, 16), date(2026, 12, 1)), (date(2026, 12, 1), date(2027, 1, 1))),
        ("monthly", date(2026, 11, 1), (date(2026, 11, 1), date(2026, 12, 1)), (date(2026, 12, 1), date(2027, 1, 1))),
        ("monthly", date(2026, 1, 31), (date(2026, 1, 31), date(2026, 2, 1)), (date(2026, 2, 1), date(2026, 3, 1))),
        ("quarterly", date(2026, 11, 16), (date(2026, 11, 16), date(2027, 1, 1)), (date(2027, 1, 1), date(2027, 4, 1))),
        ("quarterly", date(2026, 4, 1), (date(2026, 4, 1), date(2026, 7, 1)), (date(2026, 7, 1), date(2026, 10, 1))),
        ("quarterly", date(2026, 3, 31), (date(2026, 3, 31), date(2026, 4, 1)), (date(2026, 4, 1), date(2026, 7, 1))),
        ("yearly", date(2026, 11, 16), (date(2026, 11, 16), date(2027, 1, 1)), (date(2027, 1, 1), date(2028, 1, 1))),
        ("yearly", date(2026, 1, 1), (date(2026, 1, 1), date(2027, 1, 1)), (date(2027, 1, 1), date(2028, 1, 1))),
        # 2026-11-18 is a Wednesday; weeks start on Monday
        ("weekly", date(2026, 11, 18), (date(2026, 11, 18), date(2026, 11, 23)), (date(2026, 11, 23), date(2026, 11, 30))),
        ("weekly", date(2026, 11, 16), (date(2026, 11, 16), date(2026, 11, 23)), (date(2026, 11, 23), date(2026, 11, 30))),
        ("weekly", date(2026, 11, 22), (date(2026, 11, 22), date(2026, 11, 23)), (date(2026, 11, 23), date(2026, 11, 30))),
        ("daily", date(2026, 11, 18), (date(2026, 11, 18), date(2026, 11, 19)), (date(2026, 11, 19), date(2026, 11, 20))),
    ],
)
def test_calendar_periods(interval, start, first, second):
    assert periods(start, interval, "calendar", 2) == [first, second]


def test_calendar_period_containing_later_dates():
    anchor = date(2026, 11, 16)
    assert period_containing(anchor=anchor, interval="monthly", cycle="calendar", on=date(2027, 2, 28)) == (
        date(2027, 2, 1),
        date(2027, 3, 1),
    )
    assert period_containing(anchor=anchor, interval="quarterly", cycle="calendar", on=date(2027, 8, 15)) == (
        date(2027, 7, 1),
        date(2027, 10, 1),
    )


# --- errors -----------------------------------------------------------------------------------


def test_errors():
    with pytest.raises(PeriodError, match="before the schedule starts"):
        period_containing(anchor=date(2026, 1, 1), interval="monthly", cycle="anniversary", on=date(2025, 12, 31))
    with pytest.raises(PeriodError, match="Unknown billing cycle"):
        first_period(start=date(2026, 1, 1), interval="monthly", cycle="fiscal")
    with pytest.raises(PeriodError, match="Unknown interval"):
        first_period(start=date(2026, 1, 1), interval="hourly", cycle="calendar")
    with pytest.raises(PeriodError, match="not the start of a period"):
        next_period(anchor=date(2026, 1, 31), interval="monthly", cycle="anniversary", current_start=date(2026, 2, 1))
    with pytest.raises(PeriodError, match="Empty period"):
        days_in_period(date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(PeriodError, match="Empty period"):
        days_in_period(date(2026, 1, 2), date(2026, 1, 1))


def test_days_in_period():
    assert days_in_period(date(2026, 11, 1), date(2026, 12, 1)) == 30
    assert days_in_period(date(2028, 2, 1), date(2028, 3, 1)) == 29
    assert days_in_period(date(2026, 1, 1), date(2027, 1, 1)) == 365


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=300)
@given(anchor=dates, interval=st.sampled_from(INTERVALS), cycle=st.sampled_from(list(Cycle.ALL)))
def test_periods_are_contiguous_and_never_empty(anchor, interval, cycle):
    sequence = periods(anchor, interval, cycle, 15)
    assert sequence[0][0] == anchor
    for (start, end), (next_start, _) in itertools.pairwise(sequence):
        assert end == next_start
    for start, end in sequence:
        assert days_in_period(start, end) >= 1


@settings(max_examples=300)
@given(anchor=dates, interval=st.sampled_from(INTERVALS), n=st.integers(min_value=0, max_value=30))
def test_anniversary_nth_period_starts_at_add_interval(anchor, interval, n):
    sequence = periods(anchor, interval, "anniversary", n + 1)
    assert sequence[n][0] == add_interval(anchor, interval, n)
    assert sequence[n][1] == add_interval(anchor, interval, n + 1)


@settings(max_examples=300)
@given(anchor=dates, interval=st.sampled_from(["monthly", "quarterly", "yearly"]), n=st.integers(0, 2400))
def test_anniversary_day_kept(anchor, interval, n):
    result = add_interval(anchor, interval, n)
    months = {"monthly": 1, "quarterly": 3, "yearly": 12}[interval] * n
    assert (result.year * 12 + result.month) - (anchor.year * 12 + anchor.month) == months
    assert result.day == min(anchor.day, calendar.monthrange(result.year, result.month)[1])


@given(year=st.integers(1900, 2096).filter(calendar.isleap), n=st.integers(0, 100))
def test_leap_day_yearly(year, n):
    result = add_interval(date(year, 2, 29), "yearly", n)
    assert result.month == 2
    assert result.day == (29 if calendar.isleap(year + n) else 28)


@settings(max_examples=300)
@given(anchor=dates, interval=st.sampled_from(INTERVALS))
def test_calendar_periods_are_aligned_after_the_first(anchor, interval):
    for start, end in periods(anchor, interval, "calendar", 8)[1:]:
        if interval == "daily":
            assert end == start + timedelta(days=1)
        elif interval == "weekly":
            assert start.weekday() == 0 and end == start + timedelta(days=7)
        else:
            assert start.day == 1
            if interval == "quarterly":
                assert start.month in (1, 4, 7, 10)
            if interval == "yearly":
                assert start.month == 1
            assert end == add_interval(start, interval, 1)


@settings(max_examples=300)
@given(
    anchor=dates,
    interval=st.sampled_from(INTERVALS),
    cycle=st.sampled_from(list(Cycle.ALL)),
    offset=st.integers(min_value=0, max_value=3000),
)
def test_period_containing_contains_and_is_a_schedule_period(anchor, interval, cycle, offset):
    on = anchor + timedelta(days=offset)
    start, end = period_containing(anchor=anchor, interval=interval, cycle=cycle, on=on)
    assert start <= on < end
    # it is one of the periods reached by walking the schedule from the start
    if start == anchor:
        assert (start, end) == first_period(start=anchor, interval=interval, cycle=cycle)
    else:
        before = period_containing(anchor=anchor, interval=interval, cycle=cycle, on=start - timedelta(days=1))
        assert before[1] == start
        assert next_period(anchor=anchor, interval=interval, cycle=cycle, current_start=before[0]) == (start, end)
