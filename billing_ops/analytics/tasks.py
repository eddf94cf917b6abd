"""Snapshot tasks (UTC): daily at 03:00 for the day before, monthly at 04:00 on the 1st for the
month before. Both are idempotent per day/month: running twice, or at once, leaves the same rows."""
from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone


@shared_task(name="billing_ops.analytics.tasks.snapshot_daily")
def snapshot_daily(day: str | None = None) -> dict:
    from billing_ops.analytics.snapshots import snapshot_day

    target = dt.date.fromisoformat(day) if day else timezone.now().date() - dt.timedelta(days=1)
    return snapshot_day(target)


@shared_task(name="billing_ops.analytics.tasks.snapshot_monthly")
def snapshot_monthly(month: str | None = None) -> dict:
    """``month`` is 'YYYY-MM' (default: the previous month)."""
    from billing_ops.analytics.metrics import add_months
    from billing_ops.analytics.snapshots import snapshot_month

    today = timezone.now().date()
    first = dt.date.fromisoformat(f"{month}-01") if month else add_months(today.replace(day=1), -1)
    return snapshot_month(first, today=today)
