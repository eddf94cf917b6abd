"""The periodic tasks: retries through the charge service, reminders and suspension, card alerts."""
import datetime as dt
import threading
import time
from types import SimpleNamespace

import pytest
from django.db import connection

from dunning import tasks
from dunning.models import DunningCase, Notification, RecoveryRecord
from tests.dunning.factories import make_invoice, open_case

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")


class FakeCharge:
    """Stands in for payments.services.charge_invoice until the payments app is merged."""

    def __init__(self, status="failed", delay=0.0):
        self.calls, self.status, self.delay = [], status, delay
        self.lock = threading.Lock()

    def __call__(self, *, actor, invoice, payment_method=None, reason="retry"):
        with self.lock:
            self.calls.append((invoice.pk, payment_method, reason))
        time.sleep(self.delay)
        if self.status == "succeeded":
            from invoicing.services import invoice_record_payment

            invoice.refresh_from_db()
            invoice_record_payment(actor=actor, invoice=invoice, amount=invoice.amount_due, route="retry")
        return SimpleNamespace(status=self.status, reason="Insufficient funds" if self.status == "failed" else "", payment=None)


@pytest.fixture
def fake_charge(monkeypatch):
    charge = FakeCharge()
    monkeypatch.setattr(tasks, "charge_service", lambda: charge)
    return charge


@pytest.mark.django_db
def test_retries_follow_the_timeline_and_happen_once(freeze_today, fake_charge):
    freeze_today(dt.date(2026, 11, 1))
    case = open_case()
    assert tasks.run_payment_retries() == {}  # nothing due on the failure day
    freeze_today(dt.date(2026, 11, 2))
    assert tasks.run_payment_retries() == {"failed": 1}
    assert tasks.run_payment_retries() == {}  # retry 2 is due on 11-04, not again today
    case.refresh_from_db()
    assert case.retries_done == 1 and case.retry_claimed_at is None and case.last_failure_reason == "Insufficient funds"
    assert case.next_action_at.date() == dt.date(2026, 11, 4)
    freeze_today(dt.date(2026, 11, 30))  # a late worker catches up one retry per run, in order
    tasks.run_payment_retries()
    tasks.run_payment_retries()
    assert list(RecoveryRecord.objects.filter(case=case, kind="retry").values_list("number", flat=True)) == [1, 2, 3]
    assert [c[2] for c in fake_charge.calls] == ["retry"] * 3


@pytest.mark.django_db
def test_successful_retry_recovers_the_case(freeze_today, fake_charge):
    freeze_today(dt.date(2026, 11, 1))
    case = open_case()
    fake_charge.status = "succeeded"
    freeze_today(dt.date(2026, 11, 2))
    tasks.run_payment_retries()
    case.refresh_from_db()
    assert case.status == "recovered" and case.recovery_route == "retry" and case.retries_done == 1
    assert RecoveryRecord.objects.get(case=case, kind="retry").outcome == "succeeded"


@pytest.mark.django_db
def test_retries_skip_without_the_payments_service(monkeypatch):
    monkeypatch.setattr(tasks, "charge_service", lambda: None)
    assert tasks.run_payment_retries() == {"skipped": "payments unavailable"}


@pytest.mark.django_db
def test_suspension_check_sends_due_steps_and_suspends_after_grace(freeze_today):
    freeze_today(dt.date(2026, 11, 1))
    case = open_case(make_invoice(due_date=dt.date(2026, 11, 1)))
    freeze_today(dt.date(2026, 11, 5))
    assert tasks.run_suspension_check() == {"reminders": 1, "suspended": 0}  # "action required" (retry 2's date)
    assert tasks.run_suspension_check() == {"reminders": 0, "suspended": 0}
    freeze_today(dt.date(2026, 12, 1))  # retries never ran (no payments app) → the grace period decides
    assert tasks.run_suspension_check() == {"reminders": 1, "suspended": 1}
    case.refresh_from_db()
    assert case.status == "suspended" and "grace period" in case.suspension_reason and case.step == 4
    assert list(Notification.objects.filter(case=case).order_by("id").values_list("kind", flat=True)) == [
        "payment_failed", "dunning_reminder", "final_warning", "subscription_suspended"]


@pytest.mark.django_db
def test_suspension_after_retries_are_exhausted(freeze_today, fake_charge):
    freeze_today(dt.date(2026, 11, 1))
    case = open_case(make_invoice(due_date=dt.date(2026, 11, 1)))
    for day in (2, 4, 7, 12, 19):
        freeze_today(dt.date(2026, 11, day))
        tasks.run_payment_retries()
    freeze_today(dt.date(2026, 11, 19))
    assert tasks.run_suspension_check()["suspended"] == 0
    freeze_today(dt.date(2026, 11, 20))
    assert tasks.run_suspension_check()["suspended"] == 1
    case.refresh_from_db()
    assert case.status == "suspended" and "5 payment retries failed" in case.suspension_reason


def _run_twice_at_once(func):
    from django.db import connections

    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            results.append(func())
        except Exception as exc:  # pragma: no cover - surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_retry_task_twice_at_once_charges_each_case_once(freeze_today, monkeypatch):

    freeze_today(dt.date(2026, 11, 1))
    cases = [open_case() for _ in range(4)]
    freeze_today(dt.date(2026, 11, 2))
    charge = FakeCharge(delay=0.3)
    monkeypatch.setattr(tasks, "charge_service", lambda: charge)
    results = _run_twice_at_once(tasks.run_payment_retries)
    assert sorted(c[0] for c in charge.calls) == sorted(c.invoice_id for c in cases), results
    assert RecoveryRecord.objects.filter(kind="retry").count() == 4
    assert set(DunningCase.objects.values_list("retries_done", flat=True)) == {1}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_suspension_check_twice_at_once_suspends_and_notifies_once(freeze_today):
    from dunning.models import OutboxEvent

    freeze_today(dt.date(2026, 11, 1))
    cases = [open_case(make_invoice(due_date=dt.date(2026, 11, 1))) for _ in range(3)]
    freeze_today(dt.date(2026, 12, 2))
    _run_twice_at_once(tasks.run_suspension_check)
    assert set(DunningCase.objects.values_list("status", flat=True)) == {"suspended"}
    for case in cases:
        assert Notification.objects.filter(case=case, kind="subscription_suspended").count() == 1
        assert RecoveryRecord.objects.filter(case=case, kind="suspension").count() == 1
    assert OutboxEvent.objects.filter(event_type="tenant.suspended").count() == 3


@pytest.mark.django_db
def test_expiring_card_alerts_once_per_card_and_month(freeze_today):
    payments_models = pytest.importorskip("payments.models")
    if not hasattr(payments_models, "PaymentMethod"):
        pytest.skip("payments.models.PaymentMethod is not merged yet")
    from tests.factories import TenantFactory

    tenant = TenantFactory()
    fields = {"tenant": tenant, "brand": "visa", "last4": "4081", "exp_month": 11, "exp_year": 2026, "reusable": True, "is_default": True}
    fields = {k: v for k, v in fields.items() if hasattr(payments_models.PaymentMethod, k)}
    payments_models.PaymentMethod.objects.create(**fields)
    freeze_today(dt.date(2026, 11, 9))
    assert tasks.send_expiring_card_alerts() == {"sent": 1}
    freeze_today(dt.date(2026, 11, 16))
    assert tasks.send_expiring_card_alerts() == {"sent": 0}
    assert Notification.objects.get(kind="card_expiring").subject.endswith("4081 expires soon")
