"""Snapshots: idempotent per day and month, back-fillable for a range, usage per meter, tasks."""
import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from billing_ops.analytics.metrics import compute_month, monthly_metrics
from billing_ops.analytics.snapshots import backfill, snapshot_day, snapshot_month
from billing_ops.models import RevenueDailySnapshot, RevenueMonthlySnapshot, SubscriptionMrrSnapshot
from subscriptions.usage_models import UsageDailySnapshot, UsageMonthlySnapshot
from tests.analytics.test_metrics import plan, sub
from tests.factories import TenantFactory
from tests.usage.factories import MeterFactory, UsageEventFactory

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def world():
    basic = plan("100.00", name="Basic")
    a = sub(TenantFactory(), basic, dt.date(2026, 9, 1))
    b = sub(TenantFactory(), basic, dt.date(2026, 10, 15))
    meter = MeterFactory(aggregation="max")
    for day, value in ((3, "5"), (3, "9"), (4, "2")):
        UsageEventFactory(subscription=a, meter=meter, value=D(value), timestamp=dt.datetime(2026, 10, day, 8, tzinfo=dt.UTC))
    return a, b, meter


def _rows(model, **filters):
    return sorted(model.objects.filter(**filters).values_list(*[f.attname for f in model._meta.concrete_fields if f.name not in ("id", "computed_at")]))


def test_daily_snapshot_is_idempotent(world):
    a, b, meter = world
    day = dt.date(2026, 10, 15)
    first = snapshot_day(day)
    before = (_rows(SubscriptionMrrSnapshot), _rows(RevenueDailySnapshot), _rows(UsageDailySnapshot))
    second = snapshot_day(day)
    assert first == second == {"mrr": 2, "revenue": 1, "usage": 0}
    assert (_rows(SubscriptionMrrSnapshot), _rows(RevenueDailySnapshot), _rows(UsageDailySnapshot)) == before
    daily = RevenueDailySnapshot.objects.get(date=day)
    assert (daily.mrr, daily.new_mrr, daily.new_count, daily.active_subscriptions) == (D("200.00"), D("100.00"), 1, 2)


def test_daily_usage_snapshot_per_meter(world):
    a, b, meter = world
    snapshot_day(dt.date(2026, 10, 3))
    snap = UsageDailySnapshot.objects.get(date=dt.date(2026, 10, 3))
    assert (snap.subscription_id, snap.meter_id, snap.value, snap.event_count) == (a.pk, meter.pk, D("9"), 2)


def test_rerun_drops_rows_that_no_longer_apply(world):
    a, b, meter = world
    day = dt.date(2026, 10, 20)
    snapshot_day(day)
    assert SubscriptionMrrSnapshot.objects.filter(date=day).count() == 2
    b.status, b.canceled_at, b.ended_at = "canceled", dt.datetime(2026, 10, 16, tzinfo=dt.UTC), dt.datetime(2026, 10, 16, tzinfo=dt.UTC)
    b.save()
    snapshot_day(day)
    assert list(SubscriptionMrrSnapshot.objects.filter(date=day).values_list("subscription_id", flat=True)) == [a.pk]


def test_backfill_a_range_then_monthly_snapshot_is_used(world):
    a, b, meter = world
    result = backfill(dt.date(2026, 9, 28), dt.date(2026, 10, 31), today=TODAY)
    assert result == {"days": 34, "months": 2}
    assert SubscriptionMrrSnapshot.objects.filter(date=dt.date(2026, 10, 31)).count() == 2
    assert RevenueDailySnapshot.objects.filter(date__gte=dt.date(2026, 9, 28)).values("date").distinct().count() == 34
    month = RevenueMonthlySnapshot.objects.get(month=dt.date(2026, 10, 1), currency="NGN")
    assert (month.starting_mrr, month.mrr, month.new_mrr, month.customers) == (D("100.00"), D("200.00"), D("100.00"), 2)
    usage = UsageMonthlySnapshot.objects.get(month=dt.date(2026, 10, 1))
    assert (usage.value, usage.event_count) == (D("9"), 3)
    # History is what the snapshots say, even when live data changes afterwards.
    RevenueMonthlySnapshot.objects.filter(pk=month.pk).update(mrr=D("12345.00"))
    assert monthly_metrics(today=TODAY)["NGN"][-2].mrr == D("12345.00")
    # ... and running the back-fill again changes nothing but that hand-edited month (recomputed).
    backfill(dt.date(2026, 9, 28), dt.date(2026, 10, 31), today=TODAY)
    assert RevenueMonthlySnapshot.objects.get(pk=month.pk).mrr == D("200.00")
    assert RevenueMonthlySnapshot.objects.count() == 2


def test_backfill_keeps_days_taken_on_the_day_unless_replace(world):
    a, b, meter = world
    day = dt.date(2026, 10, 20)
    snapshot_day(day)
    SubscriptionMrrSnapshot.objects.filter(date=day, subscription=a).update(mrr=D("77.00"))
    backfill(day, day, today=TODAY)
    assert SubscriptionMrrSnapshot.objects.get(date=day, subscription=a).mrr == D("77.00")
    backfill(day, day, today=TODAY, replace=True)
    assert SubscriptionMrrSnapshot.objects.get(date=day, subscription=a).mrr == D("100.00")


def test_open_month_cannot_be_snapshotted(world):
    with pytest.raises(ValueError):
        snapshot_month(dt.date(2026, 11, 1), today=TODAY)


def test_snapshot_matches_live_computation(world):
    snapshot_month(dt.date(2026, 10, 1), today=TODAY)
    stored = RevenueMonthlySnapshot.objects.get(month=dt.date(2026, 10, 1))
    live = compute_month(dt.date(2026, 10, 1), today=TODAY)["NGN"]
    for name, value in live.as_snapshot_kwargs().items():
        assert getattr(stored, name) == value, name


def test_backfill_command_and_tasks(world):
    out = StringIO()
    call_command("backfill_snapshots", "--from", "2026-10-01", "--to", "2026-10-03", stdout=out)
    assert "3 day(s)" in out.getvalue()
    from billing_ops.analytics.tasks import snapshot_daily, snapshot_monthly

    assert snapshot_daily("2026-10-04")["mrr"] == 1
    assert snapshot_monthly("2026-10")["revenue"] == 1
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("backfill_snapshots", "--from", "2026-10-05", "--to", "2026-10-01")


def test_schedule_entries_exist_and_do_not_clash_with_contract_times(settings):
    tasks = {spec["task"]: spec["schedule"] for spec in settings.BILLING_PERIODIC_TASKS.values()}
    daily = tasks["billing_ops.analytics.tasks.snapshot_daily"]
    monthly = tasks["billing_ops.analytics.tasks.snapshot_monthly"]
    assert daily._orig_hour == 3 and daily._orig_minute == 0
    assert monthly._orig_hour == 4 and monthly._orig_day_of_month == 1
    from django.utils.module_loading import import_string

    for path in tasks:
        if path.startswith("billing_ops.analytics"):
            assert import_string(path)
