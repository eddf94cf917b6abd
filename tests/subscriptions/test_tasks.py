"""The renewal task: advances due periods, cancellations first, trials, commitment, expiry; idempotent and concurrent-safe."""
import threading
from datetime import date, timedelta

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from accounts.models import AuditEntry
from billing_ops.models import DomainEvent
from subscriptions import periods as period_math
from subscriptions.models import Subscription
from subscriptions.tasks import renew_due, renew_due_subscriptions
from tests.factories import PlanFactory
from tests.subscriptions.factories import make_subscription

pytestmark = pytest.mark.django_db
DEC1 = date(2026, 12, 1)


def periods(sub):
    sub.refresh_from_db()
    return sub.status, sub.current_period_start, sub.current_period_end


def test_renews_a_due_subscription_once_even_when_run_twice(captured_events):
    sub = make_subscription()
    assert renew_due(on=DEC1)["renewed"] == 1
    assert periods(sub) == ("active", DEC1, date(2027, 1, 1))
    assert renew_due(on=DEC1)["renewed"] == 0
    assert periods(sub) == ("active", DEC1, date(2027, 1, 1))
    renewed = [p for n, p in captured_events if n == "subscription.renewed"]
    assert len(renewed) == 1
    assert renewed[0]["period_start"] == "2026-12-01" and renewed[0]["amount"] == "29.00" and renewed[0]["subscription_id"] == sub.pk


def test_celery_entry_point_takes_an_iso_date():
    sub = make_subscription()
    assert renew_due_subscriptions("2026-12-01")["renewed"] == 1
    assert periods(sub)[1] == DEC1


def test_not_due_paused_and_suspended_are_left_alone():
    later = make_subscription(end=date(2026, 12, 2))
    paused = make_subscription(status="paused")
    suspended = make_subscription(status="suspended")
    assert renew_due(on=DEC1)["renewed"] == 0
    for sub in (later, paused, suspended):
        before = (sub.status, sub.current_period_start, sub.current_period_end)
        assert periods(sub) == before


def test_catches_up_several_periods_keeping_the_month_end_anniversary():
    sub = make_subscription(start=date(2026, 1, 31), end=date(2026, 2, 28))
    summary = renew_due(on=date(2026, 5, 1))
    assert summary["renewed"] == 3
    assert periods(sub) == ("active", date(2026, 4, 30), date(2026, 5, 31))


def test_scheduled_cancellation_happens_before_renewal(captured_events):
    sub = make_subscription(cancel_at_period_end=True)
    assert renew_due(on=DEC1)["canceled"] == 1
    sub.refresh_from_db()
    assert sub.status == "canceled" and sub.current_period_end == DEC1 and sub.ended_at.date() == DEC1
    assert [n for n, _ in captured_events] == ["subscription.canceled"]


def test_commitment_defers_a_scheduled_cancellation_and_expiry():
    committed = make_subscription(cancel_at_period_end=True, commitment_end=date(2027, 2, 1))
    no_renew = make_subscription(auto_renew=False, commitment_end=date(2027, 1, 1))
    renew_due(on=DEC1)
    assert periods(committed) == ("active", DEC1, date(2027, 1, 1))
    assert periods(no_renew) == ("active", DEC1, date(2027, 1, 1))
    renew_due(on=date(2027, 1, 1))
    assert periods(committed)[0] == "active" and periods(no_renew)[0] == "expired"
    renew_due(on=date(2027, 2, 1))
    assert periods(committed) == ("canceled", date(2027, 1, 1), date(2027, 2, 1))


def test_non_auto_renew_expires():
    sub = make_subscription(auto_renew=False)
    assert renew_due(on=DEC1)["expired"] == 1
    assert periods(sub)[0] == "expired"


def test_trial_ends_into_the_first_paid_period_without_a_charge_when_no_payment_method(captured_events):
    plan = PlanFactory(trial_days=14)
    sub = make_subscription(status="trialing", plan=plan, start=date(2026, 11, 1), end=date(2026, 11, 15))
    assert renew_due(on=date(2026, 11, 15))["trial_ended"] == 1
    assert periods(sub) == ("active", date(2026, 11, 15), date(2026, 12, 15))
    names = [n for n, _ in captured_events]
    assert names == ["subscription.trial_ended", "subscription.renewed"]
    trial_ended, renewed = captured_events[0][1], captured_events[1][1]
    assert trial_ended["payment_method_on_file"] is False and renewed["charge"] is False and renewed["trial_converted"] is True


def test_trial_without_auto_renew_expires():
    sub = make_subscription(status="trialing", auto_renew=False, end=date(2026, 11, 15))
    renew_due(on=date(2026, 11, 15))
    assert periods(sub)[0] == "expired"


def test_past_due_subscriptions_keep_their_schedule():
    sub = make_subscription(status="past_due")
    renew_due(on=DEC1)
    assert periods(sub) == ("past_due", DEC1, date(2027, 1, 1))


def test_a_failing_subscription_does_not_stop_the_others(monkeypatch):
    from subscriptions import services

    broken, fine = make_subscription(), make_subscription()
    real = services._process_boundary

    def flaky(*, actor, sub):
        if sub.pk == broken.pk:
            raise RuntimeError("boom")
        return real(actor=actor, sub=sub)

    monkeypatch.setattr(services, "_process_boundary", flaky)
    summary = renew_due(on=DEC1, batch_size=1)
    assert summary["failed"] == 1 and summary["renewed"] == 1
    assert periods(broken)[1] == date(2026, 11, 1)  # nothing half-done
    assert periods(fine)[1] == DEC1
    assert not AuditEntry.objects.filter(object_id=str(broken.pk), action="subscription.renewed").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks (SKIP LOCKED) need PostgreSQL")
def test_concurrent_runs_renew_each_subscription_exactly_once():
    shared = PlanFactory()  # subscriptions on one plan must not block (or skip) each other
    subs = [make_subscription(plan=shared) if i % 2 else make_subscription() for i in range(30)]
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            results.append(renew_due(on=DEC1, batch_size=5))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r["renewed"] for r in results) == 30
    assert all(periods(sub) == ("active", DEC1, date(2027, 1, 1)) for sub in subs)
    assert DomainEvent.objects.filter(name="subscription.renewed").count() == 30
    assert AuditEntry.objects.filter(action="subscription.renewed").count() == 30
    assert renew_due(on=DEC1)["renewed"] == 0
    assert Subscription.objects.filter(current_period_start=DEC1).count() == 30


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks (SKIP LOCKED) need PostgreSQL")
def test_a_row_locked_by_another_worker_is_skipped_then_renewed_later():
    from django.db import transaction

    held = make_subscription()
    free = make_subscription(plan=held.plan)  # same plan: only the subscription row is locked
    locked, release = threading.Event(), threading.Event()

    def holder():
        from django.db import connection as thread_connection

        try:
            with transaction.atomic():
                Subscription.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            thread_connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(10)
    try:
        summary = renew_due(on=DEC1)
    finally:
        release.set()
        thread.join()
    assert summary["renewed"] == 1
    assert periods(held)[1] == date(2026, 11, 1) and periods(free)[1] == DEC1
    assert renew_due(on=DEC1)["renewed"] == 1
    assert periods(held)[1] == DEC1



class RenewalFollowsTheSchedule(HypothesisTestCase):
    """Property: however late the task runs, it leaves the subscription in the period containing that day."""

    @settings(max_examples=25, deadline=None)
    @given(
        anchor=st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31)),
        interval=st.sampled_from(["daily", "weekly", "monthly", "quarterly", "yearly"]),
        cycle=st.sampled_from(["anniversary", "calendar"]),
        gap=st.integers(min_value=0, max_value=800),
    )
    def test_renewal_lands_in_the_period_containing_the_run_date(self, anchor, interval, cycle, gap):
        if interval == "daily":
            gap = min(gap, 60)
        plan = PlanFactory(interval=interval, billing_cycle=cycle)
        start, end = period_math.first_period(start=anchor, interval=interval, cycle=cycle)
        sub = make_subscription(plan=plan, start=start, end=end, billing_anchor=anchor)
        on = end + timedelta(days=gap)
        renew_due(on=on)
        sub.refresh_from_db()
        assert (sub.current_period_start, sub.current_period_end) == period_math.period_containing(
            anchor=anchor, interval=interval, cycle=cycle, on=on)
        assert renew_due(on=on)["renewed"] == 0
