"""Writing snapshots: daily (per-subscription MRR, revenue per plan, usage per meter) and monthly.

Every writer is idempotent per day (or month): rows are upserted on their unique key and rows of
that day no longer produced are deleted, in one transaction, so running twice (or at once, on
PostgreSQL) leaves the same rows. Back-filling a range calls the daily writer per day.
"""
from __future__ import annotations

import datetime as dt

from django.db import transaction

from billing_ops.analytics.metrics import add_months, compute_month, month_end
from billing_ops.analytics.mrr import MrrBook, movement
from subscriptions.usage import day_start, meter_usage_by_subscription


def _upsert(model, rows, *, unique_fields, scope: dict):
    """Replace the rows of ``scope`` (e.g. one date) by ``rows``: upsert, then drop the others."""
    update_fields = [
        f.name for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in unique_fields and f.attname not in unique_fields
    ]
    if rows:
        model.objects.bulk_create(rows, update_conflicts=True, unique_fields=unique_fields, update_fields=update_fields)
    kept = model.objects.filter(**scope)
    wanted = {tuple(getattr(r, _attname(model, f)) for f in unique_fields) for r in rows}
    stale = [pk for pk, *key in kept.values_list("pk", *[_attname(model, f) for f in unique_fields]) if tuple(key) not in wanted]
    if stale:
        model.objects.filter(pk__in=stale).delete()


def _attname(model, name: str) -> str:
    return model._meta.get_field(name).attname


def snapshot_mrr_day(day: dt.date, *, book: MrrBook | None = None) -> int:
    """Store each paying subscription's MRR at the end of ``day`` (reconstructed from live data)."""
    from billing_ops.models import SubscriptionMrrSnapshot

    book = book or MrrBook()
    rows = [
        SubscriptionMrrSnapshot(date=day, subscription_id=r.subscription_id, tenant_id=r.tenant_id, plan_id=r.plan_id,
                                currency=r.currency, mrr=r.mrr, first_paid_on=r.first_paid_on)
        for r in book.live_rows(day)
    ]
    with transaction.atomic():
        _upsert(SubscriptionMrrSnapshot, rows, unique_fields=["date", "subscription"], scope={"date": day})
    return len(rows)


def snapshot_revenue_day(day: dt.date, *, book: MrrBook | None = None) -> int:
    """Store MRR and its movement since the previous day, per currency and plan."""
    from billing_ops.models import RevenueDailySnapshot

    book = book or MrrBook()
    previous = day - dt.timedelta(days=1)
    end_rows = book.rows(day)
    names = {r.plan_id: r.plan_name for r in end_rows + book.rows(previous)}
    moves = movement(book.rows(previous), end_rows, start_day=previous, key=lambda r: (r.currency, r.plan_id))
    rows = [
        RevenueDailySnapshot(
            date=day, currency=currency, plan_id=plan_id, plan_name=names.get(plan_id, "") or "",
            mrr=m.mrr, active_subscriptions=m.active_subscriptions, new_mrr=m.new_mrr, expansion_mrr=m.expansion_mrr,
            contraction_mrr=m.contraction_mrr, churned_mrr=m.churned_mrr, reactivation_mrr=m.reactivation_mrr,
            new_count=m.new_count, churned_count=m.churned_count, reactivated_count=m.reactivated_count,
        )
        for (currency, plan_id), m in moves.items()
    ]
    with transaction.atomic():
        _upsert(RevenueDailySnapshot, rows, unique_fields=["date", "currency", "plan"], scope={"date": day})
    return len(rows)


def snapshot_usage(start: dt.date, end: dt.date, *, model, key_field: str) -> int:
    """Aggregate every meter over ``[start, end)`` per subscription (one query per meter) and store it."""
    from subscriptions.usage_models import Meter

    rows = []
    for meter in Meter.objects.all():
        for subscription_id, (value, events) in meter_usage_by_subscription(
            meter=meter, start=day_start(start), end=day_start(end)
        ).items():
            rows.append(model(**{key_field: start}, subscription_id=subscription_id, meter_id=meter.pk, value=value, event_count=events))
    with transaction.atomic():
        _upsert(model, rows, unique_fields=[key_field, "subscription", "meter"], scope={key_field: start})
    return len(rows)


def snapshot_day(day: dt.date, *, book: MrrBook | None = None, with_mrr: bool = True) -> dict:
    """Everything the daily task writes for ``day``."""
    from subscriptions.usage_models import UsageDailySnapshot

    book = book or MrrBook()
    written = {}
    if with_mrr:
        written["mrr"] = snapshot_mrr_day(day, book=book)
        book._cache.pop(day, None)  # re-read the stored rows just written
        book._probed.discard(day)
    written["revenue"] = snapshot_revenue_day(day, book=book)
    written["usage"] = snapshot_usage(day, day + dt.timedelta(days=1), model=UsageDailySnapshot, key_field="date")
    return written


def snapshot_month(first: dt.date, *, today: dt.date) -> dict:
    """The consolidated monthly snapshot of the month starting ``first`` (a closed month)."""
    from billing_ops.models import RevenueMonthlySnapshot
    from subscriptions.usage_models import UsageMonthlySnapshot

    if month_end(first) >= today:
        raise ValueError(f"{first:%Y-%m} is not closed yet")
    metrics = compute_month(first, today=today)
    rows = [RevenueMonthlySnapshot(month=first, currency=c, **m.as_snapshot_kwargs()) for c, m in metrics.items()]
    with transaction.atomic():
        _upsert(RevenueMonthlySnapshot, rows, unique_fields=["month", "currency"], scope={"month": first})
    usage = snapshot_usage(first, add_months(first, 1), model=UsageMonthlySnapshot, key_field="month")
    return {"revenue": len(rows), "usage": usage}


def backfill(start: dt.date, end: dt.date, *, replace: bool = False, today: dt.date) -> dict:
    """Daily snapshots for every day in ``[start, end]`` (missing days only unless ``replace``),
    then the monthly snapshot of every closed month the range touches."""
    from billing_ops.models import SubscriptionMrrSnapshot

    if end < start:
        raise ValueError("The range ends before it starts")
    existing = set(SubscriptionMrrSnapshot.objects.filter(date__gte=start, date__lte=end).values_list("date", flat=True).distinct())
    book = MrrBook()
    days = 0
    day = start
    while day <= end:
        snapshot_day(day, book=book, with_mrr=replace or day not in existing)
        days += 1
        day += dt.timedelta(days=1)
    months = 0
    first = start.replace(day=1)
    while first <= end:
        if month_end(first) < today:
            snapshot_month(first, today=today)
            months += 1
        first = add_months(first, 1)
    return {"days": days, "months": months}
