"""Recovery metrics for the dashboard: per currency, never summed across currencies.

- failed: amount at risk of cases opened in the month;
- recovered: amount of cases recovered in the month (by any route);
- rate: of the amount that failed in the month, the share recovered so far (by the month the case
  opened, so a recovery of an older failure never pushes a month above 100%);
- at-risk MRR: the monthly value of subscriptions with an open or suspended case (invoice total
  normalised to a month by the plan's interval);
- recovered per ladder step: which step the case had reached when it was paid.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from billing_ops.money import quantize
from dunning.models import ACTIVE_CASE_STATUSES, CaseStatus, DunningCase

MONTHLY_FACTOR = {"daily": Decimal(365) / 12, "weekly": Decimal(52) / 12, "monthly": Decimal(1),
                  "quarterly": Decimal(1) / 3, "yearly": Decimal(1) / 12}


def _month_starts(today: dt.date, count: int = 12) -> list[dt.date]:
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(dt.date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(months))


def _key(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def recovery_metrics(*, cases=None, today: dt.date | None = None) -> dict:
    """Everything the recovery panel shows, in six queries."""
    cases = DunningCase.objects.all() if cases is None else cases
    today = today or timezone.localdate()
    months = _month_starts(today)
    start = dt.datetime.combine(months[0], dt.time.min, tzinfo=dt.UTC)
    failed = (cases.filter(opened_at__gte=start).annotate(month=TruncMonth("opened_at")).order_by()
              .values("currency", "month").annotate(total=Sum("amount_at_risk"), n=Count("id")))
    recovered = (cases.filter(status=CaseStatus.RECOVERED, closed_at__gte=start).annotate(month=TruncMonth("closed_at")).order_by()
                 .values("currency", "month").annotate(total=Sum("recovered_amount"), n=Count("id")))
    cohort = (cases.filter(status=CaseStatus.RECOVERED, opened_at__gte=start).annotate(month=TruncMonth("opened_at")).order_by()
              .values("currency", "month").annotate(total=Sum("recovered_amount")))
    by_currency: dict[str, dict[dt.date, dict]] = defaultdict(
        lambda: {m: {"failed": Decimal(0), "recovered": Decimal(0), "recovered_of_failed": Decimal(0)} for m in months})
    for row in failed:
        by_currency[row["currency"]][_key(row["month"])]["failed"] = quantize(row["total"] or 0, row["currency"])
    for row in recovered:
        by_currency[row["currency"]][_key(row["month"])]["recovered"] = quantize(row["total"] or 0, row["currency"])
    for row in cohort:
        by_currency[row["currency"]][_key(row["month"])]["recovered_of_failed"] = quantize(row["total"] or 0, row["currency"])

    per_step = defaultdict(list)
    for row in (cases.filter(status=CaseStatus.RECOVERED).order_by().values("currency", "recovered_step")
                .annotate(total=Sum("recovered_amount"), n=Count("id")).order_by("currency", "recovered_step")):
        per_step[row["currency"]].append({"step": row["recovered_step"] or 0, "total": quantize(row["total"] or 0, row["currency"]), "cases": row["n"]})

    mrr: dict[str, Decimal] = defaultdict(Decimal)
    for currency, interval, total in (cases.filter(status__in=ACTIVE_CASE_STATUSES, subscription__isnull=False)
                                      .values_list("currency", "subscription__plan__interval", "invoice__total")):
        mrr[currency] += total * MONTHLY_FACTOR.get(interval, Decimal(1))

    charts = []
    for currency in sorted(by_currency):
        series = by_currency[currency]
        peak = max([max(v["failed"], v["recovered"]) for v in series.values()] + [Decimal(1)])
        bars = []
        for month in months:
            values = series[month]
            rate = (min(values["recovered_of_failed"], values["failed"]) / values["failed"] * 100).quantize(Decimal("1")) \
                if values["failed"] else None
            bars.append({"month": month, "failed": values["failed"], "recovered": values["recovered"], "rate": rate,
                         "failed_pct": float(values["failed"] / peak * 100), "recovered_pct": float(values["recovered"] / peak * 100)})
        this = bars[-1]
        charts.append({"currency": currency, "bars": bars, "this_month": this,
                       "steps": per_step.get(currency, []), "mrr": quantize(mrr.get(currency, Decimal(0)), currency)})
    for currency in sorted(set(per_step) | set(mrr)):
        if currency not in by_currency:
            charts.append({"currency": currency, "bars": [], "this_month": None, "steps": per_step.get(currency, []),
                           "mrr": quantize(mrr.get(currency, Decimal(0)), currency)})
    return {"charts": charts, "months": months}
