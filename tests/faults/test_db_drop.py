"""PostgreSQL connection dropped in the middle of a task (pg_terminate_backend from another
connection, inside the transaction of one item): the task fails with an exception, the item it was
working on is rolled back whole, nothing else is touched, and the retry finishes the job exactly once."""
from __future__ import annotations

from collections import Counter

import psycopg
import pytest
from django.db import DatabaseError, connection

from billing_ops import events
from tests.faults.conftest import postgres_only


def _terminate_own_backend():
    pid = connection.cursor().connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                         password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]


class DropConnectionOn:
    """A domain-event subscriber that kills the task's own database connection at the n-th event,
    i.e. inside the transaction of the n-th item (after part of its work was written)."""

    def __init__(self, name: str, nth: int | set[int]):
        self.name, self.nths, self.seen, self.fired = name, {nth} if isinstance(nth, int) else nth, 0, False

    def __call__(self, event):
        self.seen += 1
        if self.seen in self.nths:
            self.fired = True
            _terminate_own_backend()

    def __enter__(self):
        events.subscribe(self.name)(self)
        return self

    def __exit__(self, *exc):
        events._subscribers[self.name].remove(self)


def _reconnect():
    """What the Celery worker does between tasks (Django fixup: close_if_unusable_or_obsolete)."""
    connection.close_if_unusable_or_obsolete()
    connection.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_invoice_generation_fails_cleanly_and_its_retry_finishes(eager_tasks):
    from billing_ops.models import DomainEvent
    from invoicing.models import Invoice, InvoiceLine
    from invoicing.tasks import generate_due_invoices
    from tests.factories import SubscriptionFactory

    subs = SubscriptionFactory.create_batch(6)
    # Bulk generation makes a batch of 4 in one transaction: the 5th event is inside the second batch.
    with DropConnectionOn("invoice.issued", nth=5) as dropper:
        with pytest.raises(DatabaseError):
            generate_due_invoices.run(batch_size=4)  # the task body, as one worker attempt
    assert dropper.fired
    _reconnect()
    # Nothing half-done: the first batch's four invoices complete (lines, number, event), the second batch rolled back whole.
    invoices = list(Invoice.objects.all())
    assert len(invoices) == 4, [i.pk for i in invoices]
    assert all(i.status == "issued" and i.number and i.lines.exists() for i in invoices)
    assert InvoiceLine.objects.exclude(invoice__in=invoices).count() == 0
    assert DomainEvent.objects.filter(name="invoice.issued").count() == 4

    assert generate_due_invoices.run(batch_size=4) == 2  # the retry
    per_subscription = Counter(Invoice.objects.values_list("subscription_id", flat=True))
    assert per_subscription == {s.pk: 1 for s in subs}
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 6)), numbers  # no gap from the rolled-back one
    assert DomainEvent.objects.filter(name="invoice.issued").count() == 6
    assert generate_due_invoices() == 0


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_renewal_fails_cleanly_and_its_retry_finishes():
    from accounts.models import AuditEntry
    from subscriptions.models import Subscription
    from subscriptions.tasks import renew_due_subscriptions
    from tests.subscriptions.factories import make_subscription

    subs = [make_subscription() for _ in range(5)]  # periods end 2026-12-01
    with DropConnectionOn("subscription.renewed", nth=2) as dropper:
        with pytest.raises(DatabaseError):
            renew_due_subscriptions.run(on="2026-12-01")
    assert dropper.fired
    _reconnect()
    renewed = Subscription.objects.filter(current_period_start="2026-12-01").count()
    assert renewed == 1
    assert AuditEntry.objects.filter(action="subscription.renewed").count() == 1

    summary = renew_due_subscriptions.run(on="2026-12-01")
    assert summary["renewed"] == 4 and summary["failed"] == 0, summary
    assert Subscription.objects.filter(pk__in=[s.pk for s in subs], current_period_start="2026-12-01").count() == 5
    assert Counter(AuditEntry.objects.filter(action="subscription.renewed").values_list("object_id", flat=True)) == \
        {str(s.pk): 1 for s in subs}


def test_periodic_tasks_retry_on_a_lost_connection():
    """The worker-side half: Celery retries (with backoff) the periodic tasks that stop on a lost connection."""
    from django.db import InterfaceError, OperationalError

    from dunning.tasks import run_payment_retries, run_suspension_check
    from invoicing.tasks import generate_due_invoices, mark_overdue_invoices
    from payments.tasks import process_webhook_event, run_auto_charge
    from subscriptions.tasks import renew_due_subscriptions

    for task in (generate_due_invoices, mark_overdue_invoices, renew_due_subscriptions, run_auto_charge,
                 process_webhook_event, run_payment_retries, run_suspension_check):
        assert {OperationalError, InterfaceError} <= set(task.autoretry_for), task.name


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_auto_charge_connection_dropped_after_paystack_charged_settles_next_run_without_recharging(paystack, settings):
    """The connection dies inside the transaction that applies a successful charge (Paystack has the
    money, our database does not know yet). The payment stays pending; the next run verifies it.

    The run settles its successes a batch at a time and, when a batch fails, one by one: the connection
    is killed in the batch (2nd event) and again while the 2nd payment is settled alone (4th event)."""
    from billing_ops.models import DomainEvent
    from payments.models import Payment
    from payments.tasks import run_auto_charge
    from tests.payments.test_charging import invoice_with_card

    settings.PAYMENTS_CHARGE_LEASE_SECONDS = 0.5
    invoices = [invoice_with_card(code=f"AUTH_success_drop{i}")[0] for i in range(3)]
    with DropConnectionOn("payment.succeeded", nth={2, 4}) as dropper:
        first = run_auto_charge.run()
    assert dropper.fired
    assert first["charged"] == 2 and first["errors"] == 1, first
    _reconnect()
    pending = Payment.objects.get(status="pending")
    assert not DomainEvent.objects.filter(name="payment.succeeded", payload__payment_id=pending.pk).exists()
    import time

    time.sleep(0.6)  # the lease of the interrupted attempt runs out
    assert run_auto_charge.run()["charged"] == 1
    references = Counter(c["reference"] for c in paystack.charges)
    assert sorted(references.values()) == [1, 1, 1] and len(references) == 3
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.status == "paid"
        assert Payment.objects.filter(invoice=invoice).count() == 1
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 3
