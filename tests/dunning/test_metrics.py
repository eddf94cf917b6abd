"""Recovery metrics: the rate is by the month the failure happened, so it never exceeds 100%."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dunning.metrics import recovery_metrics
from dunning.models import DunningCase
from tests.dunning.factories import open_case

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def test_recovery_of_an_older_failure_does_not_push_this_month_above_100_percent():
    old = open_case(total="300.00")
    new = open_case(total="100.00")
    recovered_later = open_case(total="100.00")
    # October: 300 failed. November: 200 failed; the October case and one November case are paid in November.
    DunningCase.objects.filter(pk=old.pk).update(opened_at=_at(dt.date(2026, 10, 5)), status="recovered",
                                                  closed_at=_at(dt.date(2026, 11, 10)), recovered_amount=Decimal("300.00"))
    DunningCase.objects.filter(pk=new.pk).update(opened_at=_at(dt.date(2026, 11, 2)), status="recovered",
                                                  closed_at=_at(dt.date(2026, 11, 12)), recovered_amount=Decimal("100.00"))
    DunningCase.objects.filter(pk=recovered_later.pk).update(opened_at=_at(dt.date(2026, 11, 3)))

    figures = recovery_metrics(today=TODAY)
    chart = next(c for c in figures["charts"] if c["currency"] == "NGN") if isinstance(figures, dict) and "charts" in figures else None
    bars = {b["month"]: b for b in chart["bars"]} if chart else None
    assert bars is not None, figures
    november, october = bars[dt.date(2026, 11, 1)], bars[dt.date(2026, 10, 1)]
    assert november["failed"] == Decimal("200.00") and november["recovered"] == Decimal("400.00")
    assert november["rate"] == Decimal("50")  # 100 of the 200 that failed in November
    assert october["rate"] == Decimal("100")  # the October failure was recovered (in November)
