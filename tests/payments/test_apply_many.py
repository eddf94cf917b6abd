"""payment_apply_many: a batch of settlements in one transaction writes what payment_apply writes one by one."""
from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEntry
from billing_ops.actors import system
from billing_ops.errors import ValidationFailed
from billing_ops.models import DomainEvent
from dunning.models import DunningCase, Notification
from dunning.services import case_remind
from dunning.services import case_suspend as suspend_case
from payments.models import Payment
from payments.services import payment_apply
from payments.services.core import payment_apply_many
from tests.dunning.factories import make_invoice, open_case
from tests.factories import InvoiceFactory, SubscriptionFactory, TenantFactory
from tests.payments.factories import PaymentFactory, PaymentMethodFactory

pytestmark = pytest.mark.django_db
ACTOR = system("test")


def pending_charge(invoice, amount=None):
    """A pending auto-charge attempt on ``invoice`` and what Paystack reports for it."""
    card = PaymentMethodFactory(tenant=invoice.tenant)
    amount = invoice.amount_due if amount is None else Decimal(amount)
    payment = PaymentFactory(invoice=invoice, amount=amount, method="card", status="pending", applied_amount=Decimal(0),
                             reference=f"{invoice.number}-A1", attempt=1, reason="auto", payment_method=card,
                             claimed_until=timezone.now())
    data = {"id": 4_000_000 + payment.pk, "status": "success", "amount": int(amount * 100), "currency": invoice.currency,
            "gateway_response": "Approved", "paid_at": "2026-11-23T10:00:00.000Z",
            "authorization": {"authorization_code": card.authorization_code, "last4": card.last4, "brand": card.brand,
                              "exp_month": card.exp_month, "exp_year": card.exp_year, "bank": card.bank, "reusable": True},
            "customer": {"email": card.email}}
    return payment, data


def scenarios():
    """One of each kind of settlement the auto-charge run meets."""
    plain = make_invoice()
    with_case = open_case().invoice
    subscription = SubscriptionFactory(tenant=TenantFactory(deployment_webhook_url=""), status="past_due")
    overdue = InvoiceFactory(tenant=subscription.tenant, subscription=subscription, status="overdue")
    suspended = open_case()
    suspend_case(actor=ACTOR, case=suspended, reason="Retries exhausted")  # tenant and subscription suspended
    remind = open_case()
    case_remind(actor=ACTOR, case=remind)  # an emailed reminder, queued until the commit
    overpaid = make_invoice(total="60.00")
    settled_already = make_invoice()
    items = {
        "plain": pending_charge(plain),
        "with_case": pending_charge(with_case),
        "past_due": pending_charge(overdue),
        "suspended": pending_charge(suspended.invoice),
        "reminded": pending_charge(remind.invoice),
        "overpaid": pending_charge(overpaid, amount="100.00"),
        "settled_already": pending_charge(settled_already),
    }
    payment_apply(actor=ACTOR, payment=items["settled_already"][0], route="webhook", gateway_data=items["settled_already"][1])
    return items


def outcome(payment: Payment) -> dict:
    """What settling ``payment`` left in the database, without ids and times."""
    payment.refresh_from_db()
    invoice = payment.invoice
    tenant = invoice.tenant
    tenant.refresh_from_db()
    objects = {("payments.payment", str(payment.pk)), ("invoicing.invoice", str(invoice.pk))}
    audit = Counter((e.action, e.object_type) for e in AuditEntry.objects.all() if (e.object_type, e.object_id) in objects)
    events = Counter(e.name for e in DomainEvent.objects.all()
                     if e.payload.get("payment_id") == payment.pk or e.payload.get("invoice_id") == invoice.pk)
    case = DunningCase.objects.filter(invoice=invoice).first()
    return {
        "payment": (payment.status, payment.applied_amount, payment.credited_amount, payment.claimed_until,
                    payment.paid_at is not None, payment.gateway_response, payment.gateway_transaction_id is not None,
                    payment.card_last4, bool(payment.raw_response)),
        "invoice": (invoice.status, invoice.amount_paid, invoice.amount_due, invoice.paid_at is not None),
        "audit": audit, "events": events,
        "case": (case.status, case.amount_due, case.recovery_route, case.next_action) if case else None,
        "records": Counter((r.kind, r.outcome, re.sub(r"subscription \d+", "subscription #", r.detail))
                           for r in case.records.all()) if case else None,
        "subscription": invoice.subscription.status if invoice.subscription_id else None,
        "tenant": tenant.status,
        "credit": tenant.credit_balance,
        "notices": Counter((n.kind, n.channel, n.status, n.to == tenant.billing_email) for n in Notification.objects.filter(tenant=tenant)
                           .exclude(kind__in=["payment_failed", "reminder"])),
    }


def test_a_batch_writes_what_one_by_one_writes(eager_tasks, django_capture_on_commit_callbacks):
    one_by_one, batch = scenarios(), scenarios()
    with django_capture_on_commit_callbacks(execute=True):
        for payment, data in one_by_one.values():
            payment_apply(actor=ACTOR, payment=payment, route="auto", gateway_data=data)
    emails_one_by_one = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        settled = payment_apply_many(actor=ACTOR, items=list(batch.values()), route="auto")
    assert [p.pk for p in settled] == [p.pk for p, _ in batch.values()]
    assert all(p.status == "succeeded" for p in settled)
    for kind in one_by_one:
        assert outcome(batch[kind][0]) == outcome(one_by_one[kind][0]), kind
    assert len(mail.outbox) - emails_one_by_one == emails_one_by_one > 0  # the receipts, sent by one task
    # The cases that mattered moved: recovered, reactivated, credited.
    assert outcome(batch["with_case"][0])["case"][0] == "recovered"
    assert outcome(batch["past_due"][0])["subscription"] == "active"
    assert outcome(batch["overpaid"][0])["credit"] == Decimal("40.00")
    assert outcome(batch["suspended"][0])["tenant"] == "active"


def test_settling_twice_changes_nothing():
    items = list(scenarios().values())
    payment_apply_many(actor=ACTOR, items=items, route="auto")
    counts = (AuditEntry.objects.count(), DomainEvent.objects.count(), Notification.objects.count())
    again = payment_apply_many(actor=ACTOR, items=items, route="auto")
    assert all(p.status == "succeeded" for p in again)
    assert (AuditEntry.objects.count(), DomainEvent.objects.count(), Notification.objects.count()) == counts


def test_one_bad_item_undoes_the_whole_batch():
    good = pending_charge(make_invoice())
    invoice = make_invoice(total="50.00")
    manual = PaymentFactory(invoice=invoice, amount=Decimal("80.00"), status="pending", applied_amount=Decimal(0))
    with pytest.raises(ValidationFailed):
        payment_apply_many(actor=ACTOR, items=[good, (manual, None)], route="manual")  # more than due, no credit asked
    good[0].refresh_from_db()
    assert good[0].status == "pending" and good[0].invoice.status == "issued"
    assert not DomainEvent.objects.filter(name="payment.succeeded").exists()


def test_two_payments_of_one_invoice_in_a_batch():
    invoice = make_invoice(total="100.00")
    first = pending_charge(invoice, amount="70.00")
    second_payment = PaymentFactory(invoice=invoice, amount=Decimal("50.00"), method="card", status="pending",
                                    applied_amount=Decimal(0), reference=f"{invoice.number}-A2", attempt=2)
    payment_apply_many(actor=ACTOR, items=[first, (second_payment, None)], route="auto")
    invoice.refresh_from_db()
    second_payment.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("paid", Decimal("100.00"), Decimal("0.00"))
    assert (second_payment.applied_amount, second_payment.credited_amount) == (Decimal("30.00"), Decimal("20.00"))
    assert invoice.tenant.__class__.objects.get(pk=invoice.tenant_id).credit_balance == Decimal("20.00")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent settlement needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_batch_and_webhooks_settling_the_same_payments_at_once_apply_each_once():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    items = [pending_charge(make_invoice()) for _ in range(12)]

    def batch():
        try:
            return payment_apply_many(actor=ACTOR, items=items, route="auto")
        finally:
            connections.close_all()

    def webhooks():
        try:
            return [payment_apply(actor=ACTOR, payment=p, route="webhook", gateway_data=d) for p, d in reversed(items)]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(batch), pool.submit(webhooks)]
        for future in futures:
            future.result()
    succeeded = Counter(e.payload["payment_id"] for e in DomainEvent.objects.filter(name="payment.succeeded"))
    assert sorted(succeeded) == sorted(p.pk for p, _ in items) and set(succeeded.values()) == {1}
    for payment, _ in items:
        payment.refresh_from_db()
        invoice = payment.invoice
        assert (payment.status, invoice.status, invoice.amount_paid) == ("succeeded", "paid", invoice.total)
    assert DomainEvent.objects.filter(name="invoice.paid").count() == 12
