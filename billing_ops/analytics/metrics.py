"""Monthly revenue metrics per currency: MRR and its movement, churn, ARPU, LTV, cash figures.

Closed months come from ``RevenueMonthlySnapshot`` when the monthly task has written them; other
months (and the current, partial one: up to today) are computed on the fly from the MRR book.
See docs/analytics.md for every definition.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, fields
from decimal import Decimal

from django.db import DatabaseError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing_ops.analytics.mrr import Movement, MrrBook, movement
from billing_ops.money import ZERO, quantize

logger = logging.getLogger(__name__)
RATE_PLACES = Decimal("0.000001")
INVOICED_STATUSES = ("issued", "overdue", "paid", "uncollectible")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(first: dt.date, count: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(first: dt.date) -> dt.date:
    """Last day of the month starting ``first``."""
    return add_months(first, 1) - dt.timedelta(days=1)


def last_months(count: int, *, today: dt.date) -> list[dt.date]:
    """The first days of the last ``count`` months, oldest first, ending with the current month."""
    current = month_start(today)
    return [add_months(current, -i) for i in range(count - 1, -1, -1)]


@dataclass
class MonthMetrics:
    month: dt.date
    currency: str
    starting_mrr: Decimal = ZERO
    mrr: Decimal = ZERO
    new_mrr: Decimal = ZERO
    expansion_mrr: Decimal = ZERO
    contraction_mrr: Decimal = ZERO
    churned_mrr: Decimal = ZERO
    reactivation_mrr: Decimal = ZERO
    net_new_mrr: Decimal = ZERO
    active_subscriptions: int = 0
    starting_customers: int = 0
    customers: int = 0
    churned_customers: int = 0
    arpu: Decimal = ZERO
    logo_churn_rate: Decimal | None = None
    revenue_churn_rate: Decimal | None = None
    ltv: Decimal | None = None
    invoiced: Decimal = ZERO
    collected: Decimal = ZERO
    failed_payments: int = 0
    failed_amount: Decimal = ZERO
    recovered_payments: int = 0
    recovered_amount: Decimal = ZERO
    partial: bool = False  # the current month, measured up to today

    def as_snapshot_kwargs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("month", "currency", "partial")}


def _rate(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES)


def derive(metrics: MonthMetrics, m: Movement | None) -> MonthMetrics:
    """Fill the MRR-derived figures of ``metrics`` from the month's movement."""
    cur = metrics.currency
    if m is not None:
        for name in ("starting_mrr", "mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
                     "reactivation_mrr", "active_subscriptions"):
            setattr(metrics, name, getattr(m, name))
        metrics.starting_customers = len(m.starting_tenants)
        metrics.customers = len(m.tenants)
        metrics.churned_customers = len(m.starting_tenants - m.tenants)
    metrics.net_new_mrr = metrics.mrr - metrics.starting_mrr
    metrics.arpu = quantize(metrics.mrr / metrics.customers, cur) if metrics.customers else quantize(ZERO, cur)
    metrics.logo_churn_rate = _rate(metrics.churned_customers, metrics.starting_customers)
    metrics.revenue_churn_rate = _rate(metrics.churned_mrr + metrics.contraction_mrr, metrics.starting_mrr)
    if metrics.logo_churn_rate:
        # ARPU ÷ (churned ÷ starting), from the exact counts rather than the rounded rate.
        metrics.ltv = quantize(metrics.arpu * metrics.starting_customers / metrics.churned_customers, cur)
    else:
        metrics.ltv = None  # no churn: lifetime value is unbounded, shown as "—"
    return metrics


# --- cash figures: invoices (always there) and payments (read lazily, may not exist yet) ----------


def _month_of(expression):
    from django.db.models import DateField
    from django.db.models.functions import TruncMonth

    return TruncMonth(expression, output_field=DateField())


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def invoiced_by_month(first: dt.date, last: dt.date) -> dict[tuple[dt.date, str], Decimal]:
    """{(month, currency): total of invoices issued} for issue dates in ``[first, last]``: one query."""
    from invoicing.models import Invoice

    rows = (
        Invoice.objects.filter(issue_date__gte=first, issue_date__lte=last, status__in=INVOICED_STATUSES)
        .annotate(_month=_month_of("issue_date")).order_by().values("_month", "currency").annotate(total=Sum("total"))
    )
    return {(_as_date(r["_month"]), r["currency"]): r["total"] or ZERO for r in rows}


def _payment_model():
    try:
        from payments.models import Payment
    except ImportError:
        return None
    names = {f.name for f in Payment._meta.get_fields()}
    if not {"status", "amount"} <= names:
        return None
    return Payment


def _day_expression(model, candidates: tuple[str, ...]):
    """The first non-null of ``candidates`` that ``model`` has, as a date (datetimes truncated in UTC)."""
    from django.db.models import DateField, DateTimeField, F
    from django.db.models.functions import Coalesce, TruncDate

    parts = []
    for name in candidates:
        try:
            field = model._meta.get_field(name)
        except Exception:  # noqa: BLE001  (FieldDoesNotExist: that model has no such column)
            continue
        if isinstance(field, DateTimeField):
            parts.append(TruncDate(name))
        elif isinstance(field, DateField):
            parts.append(F(name))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Coalesce(*parts, output_field=DateField())


def _payment_currency_field(model) -> str:
    names = {f.name for f in model._meta.get_fields()}
    return "currency" if "currency" in names else "invoice__currency"


def payment_figures(first: dt.date, last: dt.date) -> dict[tuple[dt.date, str], dict] | None:
    """{(month, currency): {collected, failed_payments, failed_amount, recovered_payments, recovered_amount}}.

    Collected: succeeded (incl. later refunded) payments by the day they were paid or received.
    Failed: failed attempts by the day they failed. Recovered: succeeded payments of invoices that
    also had a failed attempt. Three queries for the whole range. None when the payments app has no
    Payment table yet (callers fall back to invoices).
    """
    Payment = _payment_model()
    if Payment is None:
        return None
    paid_day = _day_expression(Payment, ("succeeded_at", "paid_at", "received_at", "created_at"))
    failed_day = _day_expression(Payment, ("failed_at", "created_at"))
    if paid_day is None or failed_day is None:
        return None
    currency_field = _payment_currency_field(Payment)
    received = ("succeeded", "refunded", "partially_refunded")
    result: dict[tuple[dt.date, str], dict] = {}

    def grouped(queryset, **aggregates):
        rows = queryset.values("_month", currency_field).annotate(**aggregates)
        return [((_as_date(r["_month"]), r[currency_field]), r) for r in rows]

    try:
        with transaction.atomic():  # a missing table must not poison an outer transaction
            paid = (Payment.objects.filter(status__in=received).annotate(_day=paid_day)
                    .filter(_day__gte=first, _day__lte=last).annotate(_month=_month_of("_day")).order_by())
            for key, row in grouped(paid, total=Sum("amount")):
                result.setdefault(key, {})["collected"] = row["total"] or ZERO
            failed = (Payment.objects.filter(status="failed").annotate(_day=failed_day)
                      .filter(_day__gte=first, _day__lte=last).annotate(_month=_month_of("_day")).order_by())
            for key, row in grouped(failed, total=Sum("amount"), n=_count()):
                entry = result.setdefault(key, {})
                entry["failed_payments"], entry["failed_amount"] = row["n"], row["total"] or ZERO
            if "invoice" in {f.name for f in Payment._meta.get_fields()}:
                failed_invoices = Payment.objects.filter(status="failed").values("invoice_id")
                for key, row in grouped(paid.filter(invoice_id__in=failed_invoices), total=Sum("amount"), n=_count()):
                    entry = result.setdefault(key, {})
                    entry["recovered_payments"], entry["recovered_amount"] = row["n"], row["total"] or ZERO
    except DatabaseError:
        logger.warning("payments table not readable; analytics fall back to invoice figures")
        return None
    return result


def _count():
    from django.db.models import Count

    return Count("id")


def collected_from_invoices(first: dt.date, last: dt.date) -> dict[tuple[dt.date, str], dict]:
    """Fallback before the payments app exists: amounts paid on invoices settled in each month."""
    from django.db.models.functions import TruncDate

    from invoicing.models import Invoice

    rows = (
        Invoice.objects.filter(paid_at__isnull=False).annotate(_day=TruncDate("paid_at"))
        .filter(_day__gte=first, _day__lte=last).annotate(_month=_month_of("_day")).order_by()
        .values("_month", "currency").annotate(total=Sum("amount_paid"))
    )
    return {(_as_date(r["_month"]), r["currency"]): {"collected": r["total"] or ZERO} for r in rows}


def cash_figures(first: dt.date, last: dt.date) -> dict[tuple[dt.date, str], dict]:
    """{(month, currency): {invoiced, collected, failed_*, recovered_*}} for ``[first, last]``."""
    cash: dict[tuple[dt.date, str], dict] = {}
    for key, total in invoiced_by_month(first, last).items():
        cash.setdefault(key, {})["invoiced"] = total
    payments = payment_figures(first, last)
    for key, figures in (collected_from_invoices(first, last) if payments is None else payments).items():
        cash.setdefault(key, {}).update(figures)
    return cash


# --- months -------------------------------------------------------------------------------------


def compute_month(first: dt.date, *, today: dt.date, book: MrrBook | None = None, cash: dict | None = None) -> dict[str, MonthMetrics]:
    """Every currency's metrics for the month starting ``first`` (up to ``today`` if it is current).

    ``cash`` may carry ``cash_figures`` already computed for a longer range.
    """
    book = book or MrrBook()
    last = min(month_end(first), today)
    start_day = first - dt.timedelta(days=1)
    moves = movement(book.rows(start_day), book.rows(last), start_day=start_day)
    if cash is None:
        cash = cash_figures(first, last)
    month_cash = {currency: figures for (month, currency), figures in cash.items() if month == first}
    result = {}
    for currency in sorted(set(moves) | set(month_cash)):
        metrics = derive(MonthMetrics(month=first, currency=currency, partial=last < month_end(first)), moves.get(currency))
        for name, value in month_cash.get(currency, {}).items():
            setattr(metrics, name, value)
        result[currency] = metrics
    return result


def _from_snapshot(snap) -> MonthMetrics:
    metrics = MonthMetrics(month=snap.month, currency=snap.currency)
    for name in metrics.as_snapshot_kwargs():
        setattr(metrics, name, getattr(snap, name))
    return metrics


def monthly_metrics(*, months: int = 12, today: dt.date | None = None) -> dict[str, list[MonthMetrics]]:
    """{currency: [MonthMetrics oldest → newest]} for the last ``months`` months (current included)."""
    from billing_ops.models import RevenueMonthlySnapshot

    today = today or timezone.now().date()
    firsts = last_months(months, today=today)
    stored = {
        (s.month, s.currency): s
        for s in RevenueMonthlySnapshot.objects.filter(month__in=firsts)
    }
    book = MrrBook()
    book.prefetch([f - dt.timedelta(days=1) for f in firsts] + [min(month_end(f), today) for f in firsts])
    cash = cash_figures(firsts[0], today)
    per_month: dict[dt.date, dict[str, MonthMetrics]] = {}
    for first in firsts:
        closed = month_end(first) < today
        snapshots = {cur: _from_snapshot(s) for (m, cur), s in stored.items() if m == first}
        per_month[first] = snapshots if (closed and snapshots) else compute_month(first, today=today, book=book, cash=cash)
    currencies = sorted({c for month in per_month.values() for c in month})
    return {
        currency: [per_month[first].get(currency) or derive(MonthMetrics(month=first, currency=currency), None) for first in firsts]
        for currency in currencies
    }


def mrr_by_plan(*, day: dt.date | None = None, book: MrrBook | None = None) -> dict[str, list[dict]]:
    """{currency: [{plan, subscriptions, mrr}]} on ``day`` (default today), largest first."""
    day = day or timezone.now().date()
    book = book or MrrBook()
    plans: dict[tuple, dict] = {}
    for row in book.rows(day):
        entry = plans.setdefault((row.currency, row.plan_id), {"plan": row.plan_name or "—", "subscriptions": 0, "mrr": ZERO})
        entry["subscriptions"] += 1
        entry["mrr"] += row.mrr
    result: dict[str, list[dict]] = {}
    for (currency, _), entry in plans.items():
        result.setdefault(currency, []).append(entry)
    for entries in result.values():
        entries.sort(key=lambda e: (-e["mrr"], e["plan"]))
    return result
