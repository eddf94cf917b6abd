"""Concurrency on PostgreSQL: the same events sent at once are stored once; snapshots run at once agree."""
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from billing_ops.actors import system

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL"),
]


def _run_at_once(func, count=4):
    barrier = threading.Barrier(count)
    errors, results = [], []

    def worker():
        try:
            barrier.wait()
            results.append(func())
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_same_batch_sent_at_once_is_stored_once(subscription, meter):
    from subscriptions.usage import usage_events_record
    from subscriptions.usage_models import UsageEvent

    now = dt.datetime.now(dt.UTC)
    items = [{"subscription": subscription.pk, "meter": "api-calls", "value": "1", "idempotency_key": f"c{i}",
              "timestamp": (now - dt.timedelta(seconds=i)).isoformat()} for i in range(300)]
    outcomes = _run_at_once(lambda: usage_events_record(actor=system("test"), items=items))
    assert UsageEvent.objects.count() == 300
    # Each event is reported "created" to exactly one of the racing requests, "duplicate" to the others.
    created = [sum(r.result == "created" for r in results) for results in outcomes]
    assert sum(created) == 300
    assert all(r.result in ("created", "duplicate") for results in outcomes for r in results)


def test_daily_snapshot_run_at_once_leaves_one_set_of_rows():
    from billing_ops.analytics.snapshots import snapshot_day
    from billing_ops.models import RevenueDailySnapshot, SubscriptionMrrSnapshot
    from tests.analytics.test_metrics import plan, sub
    from tests.factories import TenantFactory

    basic = plan("100.00", name="Basic")
    for _ in range(5):
        sub(TenantFactory(), basic, dt.date(2026, 9, 1))
    day = dt.date(2026, 10, 10)
    _run_at_once(lambda: snapshot_day(day))
    assert SubscriptionMrrSnapshot.objects.filter(date=day).count() == 5
    assert RevenueDailySnapshot.objects.get(date=day).mrr == Decimal("500.00")
