"""Bulk invoice generation: a batch makes exactly what the one-by-one path makes, leaves the unusual
subscriptions to it, numbers gaplessly and survives a bad subscription or a concurrent run."""
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.models import AuditEntry
from billing_ops.actors import system
from billing_ops.models import DomainEvent
from dunning.models import Notification
from invoicing.generation import generate_due_invoices, invoice_generate_batch, invoice_generate_for_subscription
from invoicing.models import Invoice
from subscriptions.models import Coupon, PendingProration, SubscriptionItem
from tests.factories import PriceFactory, SubscriptionFactory, TenantFactory
from tests.invoicing.factories import with_credit
from tests.invoicing.test_generation import _in_threads

D = Decimal
TODAY = dt.date(2026, 11, 2)
ACTOR = system("tests")
TIMESTAMPS = {"id", "created_at", "updated_at", "issued_at", "sent_at"}


def _everything_about(invoice: Invoice) -> dict:
    """The invoice, its lines, audit entries, events and notices, without ids and timestamps, so two
    makings of one invoice compare equal."""
    pk = invoice.pk
    invoice.refresh_from_db()

    def fields(obj, skip=()):
        row = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in TIMESTAMPS | set(skip)}
        return json.dumps(row, sort_keys=True, default=str).replace(f"invoice_issued:{pk}", "invoice_issued:<pk>")

    return {
        "invoice": fields(invoice),
        "lines": [fields(line, ["invoice_id"]) for line in invoice.lines.order_by("position")],
        "audit": [fields(e, ["object_id"]) for e in AuditEntry.objects.filter(object_type="invoicing.invoice", object_id=str(pk)).order_by("id")],
        "events": sorted(json.dumps([e.name, {k: v for k, v in e.payload.items() if k != "invoice_id"}, e.actor_label], sort_keys=True)
                         for e in DomainEvent.objects.filter(payload__invoice_id=pk)),
        "notifications": [fields(n, ["tenant_id"]) for n in Notification.objects.filter(dedupe_key=f"invoice_issued:{pk}")],
    }


class _Undo(Exception):
    pass


def _made_one_by_one(subscription) -> dict:
    """What the single path makes for ``subscription``, then rolled back (the number too)."""
    seen = {}
    try:
        with transaction.atomic():
            invoice = invoice_generate_for_subscription(actor=ACTOR, subscription_id=subscription.pk, today=TODAY)
            seen.update(_everything_about(invoice))
            raise _Undo
    except _Undo:
        pass
    return seen


def _interesting_subscription():
    tenant = TenantFactory(payment_terms_days=21, tax_id="12345678-0001", tax_id_type="tin", address="1 Marina, Lagos")
    sub = SubscriptionFactory(tenant=tenant, plan__base_price__tax_rate=D("7.5"))
    seats = PriceFactory(unit_amount=D("10.00"), tax_rate=D("7.5"), product__name="Extra seats")
    SubscriptionItem.objects.create(subscription=sub, price=seats, kind="add_on", quantity=3)
    sub.coupon = Coupon.objects.create(code="TEN", name="10%", kind="percent", percent_off=D("10"), duration="forever")
    sub.save()
    return sub


@pytest.mark.django_db
def test_a_bulk_invoice_is_field_by_field_what_the_single_path_makes():
    sub = _interesting_subscription()
    expected = _made_one_by_one(sub)
    assert not Invoice.objects.exists()
    invoices, rest = invoice_generate_batch(actor=ACTOR, subscription_ids=[sub.pk], today=TODAY)
    assert rest == [] and len(invoices) == 1
    got = _everything_about(invoices[0])
    assert got == expected
    assert [json.loads(a)["action"] for a in got["audit"]] == ["invoice.created", "invoice.issued", "invoice.sent"]
    assert len(got["events"]) == 2 and len(got["notifications"]) == 1


@pytest.mark.django_db
def test_a_mixed_batch_is_all_correct():
    from tests.payments.factories import PaymentMethodFactory

    plain = SubscriptionFactory.create_batch(3)
    coupon = _interesting_subscription()
    proration = SubscriptionFactory()
    PendingProration.objects.create(subscription=proration, description="Seats added", amount=D("15.00"), currency="NGN",
                                    change_date=dt.date(2026, 10, 16), period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1))
    trial_running = SubscriptionFactory(status="trialing", trial_end=dt.date(2026, 11, 20))
    trial_over = SubscriptionFactory(status="trialing", trial_end=dt.date(2026, 11, 1))
    PaymentMethodFactory(tenant=trial_over.tenant)
    credit = SubscriptionFactory(tenant=with_credit(TenantFactory(), "5.00"))
    free = SubscriptionFactory(coupon=Coupon.objects.create(code="FREE", name="free", kind="percent", percent_off=D("100"),
                                                             duration="forever"))
    everyone = [*plain, coupon, proration, trial_running, trial_over, credit, free]

    invoices, rest = invoice_generate_batch(actor=ACTOR, subscription_ids=[s.pk for s in everyone], today=TODAY)
    assert sorted(i.subscription_id for i in invoices) == sorted(s.pk for s in [*plain, coupon])
    assert sorted(rest) == sorted(s.pk for s in [proration, trial_running, trial_over, credit, free])

    assert generate_due_invoices(actor=ACTOR, today=TODAY) == 4  # what the batch left, one by one
    by_sub = {i.subscription_id: i for i in Invoice.objects.all()}
    assert set(by_sub) == {s.pk for s in everyone} - {trial_running.pk}
    for sub in plain:
        assert (by_sub[sub.pk].total, by_sub[sub.pk].status) == (D("29.00"), "issued")
    # plan 29 + a flat add-on 10 = 39, 10% off; tax per line by the engine
    c = by_sub[coupon.pk]
    assert (c.subtotal, c.discount, c.total, c.discount_description) == (D("39.00"), D("3.90"), D("37.74"), "TEN")
    assert c.total == c.subtotal - c.discount + c.tax
    assert by_sub[proration.pk].total == D("44.00")
    assert by_sub[credit.pk].credit_applied == D("5.00") and by_sub[credit.pk].total == D("24.00")
    assert by_sub[free.pk].status == "paid"
    numbers = sorted(int(i.number.rsplit("-", 1)[1]) for i in by_sub.values())
    assert numbers == list(range(1, len(by_sub) + 1))
    assert generate_due_invoices(actor=ACTOR, today=TODAY) == 0


@pytest.mark.django_db
def test_a_bad_subscription_costs_only_itself(caplog):
    good = SubscriptionFactory.create_batch(3)
    bad = SubscriptionFactory()
    SubscriptionItem.objects.create(subscription=bad, price=PriceFactory(currency="USD", unit_amount=D("5.00")), kind="add_on")
    with caplog.at_level("ERROR", logger="invoicing.generation"):
        assert generate_due_invoices(actor=ACTOR, today=TODAY) == 3
    assert sorted(Invoice.objects.values_list("subscription_id", flat=True)) == sorted(s.pk for s in good)
    assert any(f"subscription {bad.pk}" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_failing_batch_falls_back_to_one_by_one(monkeypatch, caplog):
    import invoicing.generation as generation

    subs = SubscriptionFactory.create_batch(3)

    def broken(**kwargs):
        raise RuntimeError("bulk path broken")

    monkeypatch.setattr(generation, "invoice_generate_batch", broken)
    with caplog.at_level("ERROR", logger="invoicing.generation"):
        assert generate_due_invoices(actor=ACTOR, today=TODAY) == 3
    assert Invoice.objects.filter(subscription__in=subs, status="issued").count() == 3
    assert any("Bulk generation failed" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_numbers_are_taken_in_one_update():
    from invoicing.services import next_document_number, next_document_numbers

    with transaction.atomic():
        assert next_document_numbers(prefix="TST", year=2026, count=3) == ["TST-2026-000001", "TST-2026-000002", "TST-2026-000003"]
        assert next_document_number(prefix="TST", year=2026) == "TST-2026-000004"
        assert next_document_numbers(prefix="TST", year=2026, count=0) == []


@pytest.mark.django_db(transaction=True)
def test_a_batch_emails_through_one_task(mailoutbox, settings, monkeypatch):
    from invoicing import tasks

    queued = []
    monkeypatch.setattr(tasks.send_invoice_emails, "apply_async", lambda args=(), kwargs=None, **_: queued.append(args))
    subs = SubscriptionFactory.create_batch(3)
    assert generate_due_invoices(actor=ACTOR, today=TODAY) == 3
    assert len(queued) == 1 and sorted(queued[0][0]) == sorted(Invoice.objects.values_list("pk", flat=True))
    assert tasks.send_invoice_emails.run(queued[0][0]) == 3
    assert tasks.send_invoice_emails.run(queued[0][0]) == 0  # each email once
    assert sorted(m.to[0] for m in mailoutbox) == sorted(s.tenant.billing_email for s in subs)


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="real row locks need PostgreSQL")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_runs_split_the_work_and_number_consecutively():
    subs = SubscriptionFactory.create_batch(40)
    _in_threads(lambda i: generate_due_invoices(actor=ACTOR, today=TODAY, batch_size=7), 4)
    assert sorted(Invoice.objects.values_list("subscription_id", flat=True)) == sorted(s.pk for s in subs)
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 40))
    assert AuditEntry.objects.filter(action="invoice.issued").count() == 40
    assert DomainEvent.objects.filter(name="invoice.issued").count() == 40


@pytest.mark.django_db
def test_fan_out_queues_id_ranges_that_together_make_every_invoice(monkeypatch):
    from invoicing import tasks

    queued = []
    monkeypatch.setattr("billing_ops.queue.enqueue", lambda task, *args, **kwargs: queued.append((task, args, kwargs)) or True)
    subs = SubscriptionFactory.create_batch(5)
    assert tasks.generate_due_invoices.run(batch_size=2, fan_out=True) == 0  # all queued, none made here
    assert [args for _, args, _ in queued] == [(subs[0].pk, subs[1].pk), (subs[2].pk, subs[3].pk), (subs[4].pk, subs[4].pk)]
    assert {task.name for task, _, _ in queued} == {"invoicing.tasks.generate_invoices_in_range"}
    assert tasks.generate_invoices_in_range.run(*queued[1][1], batch_size=2) == 2
    assert sorted(Invoice.objects.values_list("subscription_id", flat=True)) == [subs[2].pk, subs[3].pk]
    assert sum(tasks.generate_invoices_in_range.run(*args, batch_size=2) for _, args, _ in queued) == 3  # twice is safe
    assert Invoice.objects.count() == 5


@pytest.mark.django_db
def test_fan_out_makes_a_range_itself_when_the_broker_is_down(monkeypatch):
    from invoicing import tasks

    monkeypatch.setattr("billing_ops.queue.enqueue", lambda task, *args, **kwargs: False)
    SubscriptionFactory.create_batch(3)
    assert tasks.generate_due_invoices.run(batch_size=2, fan_out=True) == 3
    assert Invoice.objects.filter(status="issued").count() == 3
