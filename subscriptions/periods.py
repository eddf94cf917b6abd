"""Billing period arithmetic on ``datetime.date``; no Django.

Periods are half-open ``[start, end)``: the end of one period is the start of the next, and a
period is never empty. Intervals: ``daily``, ``weekly``, ``monthly``, ``quarterly``, ``yearly``.

Cycles:

- ``anniversary``: period n starts at ``add_interval(anchor, interval, n)``. Month arithmetic is
  always computed from the anchor (never by repeated addition), so an anchor on the 31st gives
  Jan 31 → Feb 28 (29 in leap years) → Mar 31 → Apr 30; a Feb 29 yearly anchor gives Feb 28 in
  common years and Feb 29 again in leap years.
- ``calendar``: the first period runs from the anchor (the start date) to the next boundary
  strictly after it — tomorrow (daily), the next Monday (weekly), the next 1st of a month
  (monthly), the next Jan/Apr/Jul/Oct 1 (quarterly), the next Jan 1 (yearly); a start date that is
  itself on a boundary therefore gets a full first period. Every later period is a full aligned one.

Dates before the anchor belong to no period (``PeriodError``).
"""
from __future__ import annotations

import calendar as _calendar
from datetime import date, timedelta


class Interval:
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"

    ALL = (DAILY, WEEKLY, MONTHLY, QUARTERLY, YEARLY)
    CHOICES = tuple((i, i.capitalize()) for i in ALL)


class Cycle:
    ANNIVERSARY = "anniversary"
    CALENDAR = "calendar"

    ALL = (ANNIVERSARY, CALENDAR)
    CHOICES = ((ANNIVERSARY, "Anniversary"), (CALENDAR, "Calendar"))


class PeriodError(ValueError):
    """An unknown interval or cycle, or a date outside the schedule."""


_MONTHS = {Interval.MONTHLY: 1, Interval.QUARTERLY: 3, Interval.YEARLY: 12}
_DAYS = {Interval.DAILY: 1, Interval.WEEKLY: 7}


def _check(interval: str, cycle: str | None = None) -> None:
    if interval not in Interval.ALL:
        raise PeriodError(f"Unknown interval {interval!r}; use one of {', '.join(Interval.ALL)}")
    if cycle is not None and cycle not in Cycle.ALL:
        raise PeriodError(f"Unknown billing cycle {cycle!r}; use one of {', '.join(Cycle.ALL)}")


def _add_months(anchor: date, months: int) -> date:
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if not 1 <= year <= 9999:
        raise PeriodError("Date out of range")
    day = min(anchor.day, _calendar.monthrange(year, month)[1])
    return date(year, month, day)


def add_interval(anchor: date, interval: str, count: int) -> date:
    """The date ``count`` intervals after ``anchor`` (negative counts go back), keeping its day.

    For month-based intervals the day is ``min(anchor.day, length of the target month)``.
    """
    _check(interval)
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError("count must be an int")
    if interval in _DAYS:
        try:
            return anchor + timedelta(days=_DAYS[interval] * count)
        except OverflowError:
            raise PeriodError("Date out of range") from None
    return _add_months(anchor, _MONTHS[interval] * count)


def _aligned_start(on: date, interval: str) -> date:
    """Start of the calendar-aligned period containing ``on``."""
    if interval == Interval.DAILY:
        return on
    if interval == Interval.WEEKLY:
        return on - timedelta(days=on.weekday())
    if interval == Interval.MONTHLY:
        return on.replace(day=1)
    if interval == Interval.QUARTERLY:
        return date(on.year, (on.month - 1) // 3 * 3 + 1, 1)
    return date(on.year, 1, 1)


def _anniversary_index(anchor: date, interval: str, on: date) -> int:
    """The n with add_interval(anchor, n) <= on < add_interval(anchor, n + 1), for on >= anchor."""
    if interval in _DAYS:
        return (on - anchor).days // _DAYS[interval]
    months = (on.year - anchor.year) * 12 + (on.month - anchor.month)
    n = months // _MONTHS[interval]
    if add_interval(anchor, interval, n) > on:
        n -= 1
    return n


def period_containing(*, anchor: date, interval: str, cycle: str, on: date) -> tuple[date, date]:
    """The ``(start, end)`` period of the schedule starting at ``anchor`` that contains ``on``."""
    _check(interval, cycle)
    if on < anchor:
        raise PeriodError(f"{on.isoformat()} is before the schedule starts on {anchor.isoformat()}")
    if cycle == Cycle.ANNIVERSARY:
        n = _anniversary_index(anchor, interval, on)
        return add_interval(anchor, interval, n), add_interval(anchor, interval, n + 1)
    first_end = add_interval(_aligned_start(anchor, interval), interval, 1)
    if on < first_end:
        return anchor, first_end
    start = _aligned_start(on, interval)
    return start, add_interval(start, interval, 1)


def first_period(*, start: date, interval: str, cycle: str) -> tuple[date, date]:
    """The first period of a schedule starting on ``start``."""
    return period_containing(anchor=start, interval=interval, cycle=cycle, on=start)


def next_period(*, anchor: date, interval: str, cycle: str, current_start: date) -> tuple[date, date]:
    """The period after the one starting on ``current_start`` (which must be a period start)."""
    start, end = period_containing(anchor=anchor, interval=interval, cycle=cycle, on=current_start)
    if start != current_start:
        raise PeriodError(
            f"{current_start.isoformat()} is not the start of a period (that period starts {start.isoformat()})"
        )
    return period_containing(anchor=anchor, interval=interval, cycle=cycle, on=end)


def days_in_period(start: date, end: date) -> int:
    """Whole days in ``[start, end)``; the period must not be empty."""
    days = (end - start).days
    if days <= 0:
        raise PeriodError(f"Empty period {start.isoformat()} → {end.isoformat()}")
    return days
