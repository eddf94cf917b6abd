"""The periodic tasks racing each other on PostgreSQL: two auto-charge runs, two renewal runs, two
invoice generations and two suspension checks, all eight started at the same instant on one book of
customers where their work overlaps (renewals feed generation, generation feeds auto-charge). Each
effect happens at most once during the race, exactly once after one ordinary round of each task, and
racing all eight again changes nothing.

(Each task's own "twice at once" test lives with its app: tests/payments/test_charging.py,
tests/subscriptions/test_tasks.py, tests/invoicing/test_generation.py, tests/dunning/test_tasks.py.)"""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connections
from django.db.models import Count
from django.utils import timezone

from tests.faults.conftest import postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def run_at_once(functions, timeout=120):
    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), []

    def worker(index, func):
        try:
            barrier.wait()
            results[index] = func()
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a task hung"
    assert not errors, errors
    return results


def test_all_periodic_tasks_twice_at_once_do_each_thing_once(paystack):
    from accounts.models import AuditEntry
    from billing_ops.models import DomainEvent
    from dunning.models import DunningCase, OutboxEvent, RecoveryRecord
    from dunning.tasks import run_suspension_check
    from invoicing.models import Invoice
    from invoicing.tasks import generate_due_invoices
    from payments.models import Payment
    from payments.tasks import run_auto_charge
    from subscriptions.tasks import renew_due_subscriptions
    from tests.dunning.factories import make_invoice, open_case
    from tests.payments.factories import PaymentMethodFactory
    from tests.payments.test_charging import invoice_with_card
    from tests.subscriptions.factories import make_subscription

    paystack.configure(latency_ms=30)
    today = timezone.localdate()
    # Six subscriptions whose period ends today (renewal), each tenant with a saved card (auto-charge).
    subs = [make_subscription(start=today - relativedelta(months=1), end=today) for _ in range(6)]
    for sub in subs:
        PaymentMethodFactory(tenant=sub.tenant, authorization_code=f"AUTH_success_sub{sub.pk}")
    # Four invoices already issued and due, on saved cards.
    issued = [invoice_with_card(code=f"AUTH_success_inv{i}")[0] for i in range(4)]
    # Three dunning cases long past their grace period (suspension), no card.
    cases = [open_case(make_invoice(due_date=today - dt.timedelta(days=60), with_subscription=True)) for _ in range(3)]

    from payments.services.charging import AUTO_CHARGE_RUN_EVENT

    tasks = [run_auto_charge, renew_due_subscriptions, generate_due_invoices, run_suspension_check]
    run_at_once([t for t in tasks for _ in range(2)])
    # Work one task finds locked by another (SKIP LOCKED) or not yet committed is left for its next
    # run: one ordinary round, in the order beat runs them, finishes it.
    for task in (renew_due_subscriptions, generate_due_invoices, run_auto_charge, run_suspension_check):
        task()

    def state():
        # Each auto-charge run records its summary as an event: that one is expected to grow.
        return (Invoice.objects.count(), Payment.objects.count(), len(paystack.charges), AuditEntry.objects.count(),
                DomainEvent.objects.exclude(name=AUTO_CHARGE_RUN_EVENT).count())

    settled = state()
    run_at_once([t for t in tasks for _ in range(2)])  # and racing again changes nothing
    assert state() == settled

    # Renewals: every subscription advanced exactly one period, audited once.
    for sub in subs:
        sub.refresh_from_db()
        assert (sub.current_period_start, sub.current_period_end) == (today, today + relativedelta(months=1)), sub.pk
    renewed = Counter(AuditEntry.objects.filter(action="subscription.renewed").values_list("object_id", flat=True))
    assert all(renewed[str(sub.pk)] == 1 for sub in subs), renewed
    # Generation: never two invoices for one subscription period.
    dupes = (Invoice.objects.exclude(subscription=None).values("subscription", "period_start")
             .annotate(n=Count("id")).filter(n__gt=1))
    assert not dupes.exists(), list(dupes)
    for sub in subs:
        assert Invoice.objects.filter(subscription=sub, period_start=today).count() == 1
    # Auto-charge: each reference sent once, each invoice charged successfully once, nothing paid twice.
    references = Counter(c["reference"] for c in paystack.charges)
    assert all(n == 1 for n in references.values()), references
    per_invoice = Counter(ref.rsplit("-A", 1)[0] for ref, n in references.items())
    assert all(n == 1 for n in per_invoice.values()), per_invoice
    must_be_paid = [*issued, *Invoice.objects.filter(subscription__in=subs, period_start=today)]
    for invoice in must_be_paid:
        invoice.refresh_from_db()
        assert invoice.status == "paid" and invoice.amount_paid == invoice.total, (invoice.number, invoice.status)
    # (Depending on who won the race, generation may also have invoiced — and auto-charge charged —
    # a subscription's previous period before renewal advanced it: still once per invoice.)
    succeeded = Counter(Payment.objects.filter(status="succeeded").values_list("invoice_id", flat=True))
    assert all(n == 1 for n in succeeded.values()), succeeded
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == len(succeeded) == len(per_invoice)
    # Suspension: each case suspended once, one outbound notice per tenant.
    for case in cases:
        case.refresh_from_db()
        assert case.status == "suspended"
        assert RecoveryRecord.objects.filter(case=case, kind="suspension").count() == 1
    assert OutboxEvent.objects.filter(event_type="tenant.suspended").count() == len(cases)
    assert DunningCase.objects.filter(status="suspended").count() == len(cases)
