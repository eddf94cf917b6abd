"""Invoice generation: lines from the subscription, prorations, coupon, credit; idempotent and safe at once."""
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from billing_ops.actors import system
from billing_ops.models import DomainEvent
from invoicing.generation import generate_due_invoices
from invoicing.models import Invoice
from subscriptions.models import Coupon, PendingProration, SubscriptionItem
from tests.factories import PriceFactory, SubscriptionFactory, TenantFactory
from tests.invoicing.factories import with_credit

D = Decimal
TODAY = dt.date(2026, 11, 2)
ACTOR = system("tests")


def run(**kwargs):
    return generate_due_invoices(actor=ACTOR, today=TODAY, **kwargs)


@pytest.mark.django_db
def test_contract_example_through_generation():
    tenant = with_credit(TenantFactory(), "5.00")
    sub = SubscriptionFactory(tenant=tenant, plan__base_price__tax_rate=D("20"))
    addon = PriceFactory(unit_amount=D("10.00"), tax_rate=D("20"), product__name="Extra seats")
    SubscriptionItem.objects.create(subscription=sub, price=addon, kind="add_on", quantity=1)
    sub.coupon = Coupon.objects.create(code="TWENTY", name="20%", kind="percent", percent_off=D("20"), duration="once")
    sub.save()
    assert run() == 1
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.subtotal, invoice.discount, invoice.credit_applied, invoice.tax, invoice.total) == (
        "issued", D("39.00"), D("7.80"), D("5.00"), D("5.24"), D("31.44"))
    assert invoice.number and (invoice.period_start, invoice.period_end) == (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert [line.kind for line in invoice.lines.all()] == ["plan", "add_on"]
    sub.refresh_from_db()
    tenant.refresh_from_db()
    assert sub.coupon_cycles_used == 0 and tenant.credit_balance == 0  # the renewal task counts coupon periods
    assert DomainEvent.objects.filter(name="invoice.created", payload__invoice_id=invoice.pk).exists()
    assert run() == 0 and Invoice.objects.count() == 1  # idempotent


@pytest.mark.django_db
def test_pending_prorations_become_lines_and_are_marked():
    sub = SubscriptionFactory()
    charge = PendingProration.objects.create(subscription=sub, description="Seats added", amount=D("15.00"), currency="NGN",
                                             change_date=dt.date(2026, 10, 16), period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1))
    credit = PendingProration.objects.create(subscription=sub, description="Unused Pro", amount=D("-5.00"), currency="NGN",
                                             change_date=dt.date(2026, 10, 16), period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1))
    assert run() == 1
    invoice = Invoice.objects.get()
    assert [line.kind for line in invoice.lines.all()] == ["plan", "proration", "proration"]
    assert invoice.total == D("29.00") + D("15.00") - D("5.00")
    for row in (charge, credit):
        row.refresh_from_db()
        assert row.invoiced_at and row.invoice_line.invoice_id == invoice.pk


@pytest.mark.django_db
def test_credits_beyond_the_charges_go_to_account_credit():
    sub = SubscriptionFactory()
    PendingProration.objects.create(subscription=sub, description="Big downgrade", amount=D("-100.00"), currency="NGN",
                                    change_date=dt.date(2026, 10, 2), period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1))
    assert run() == 1
    invoice = Invoice.objects.get()
    sub.tenant.refresh_from_db()
    assert invoice.total == D("29.00") and sub.tenant.credit_balance == D("100.00")


@pytest.mark.django_db
@pytest.mark.parametrize("status,trial_end,expected", [
    ("trialing", dt.date(2026, 11, 20), 0), ("trialing", dt.date(2026, 11, 1), 0), ("paused", None, 0),
    ("canceled", None, 0), ("past_due", None, 1)])
def test_skips(status, trial_end, expected):
    SubscriptionFactory(status=status, trial_end=trial_end)
    assert run() == expected


@pytest.mark.django_db
def test_future_periods_wait():
    SubscriptionFactory(current_period_start=dt.date(2026, 11, 3), current_period_end=dt.date(2026, 12, 3))
    assert run() == 0


@pytest.mark.django_db
def test_batches_cover_everything():
    SubscriptionFactory.create_batch(7)
    assert run(batch_size=3) == 7 and Invoice.objects.filter(status="issued").count() == 7


def _in_threads(target, count):
    errors = []

    def wrapped(index):
        try:
            target(index)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="real row locks need PostgreSQL")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_generation_makes_one_invoice_per_period():
    subs = SubscriptionFactory.create_batch(5)
    _in_threads(lambda i: run(batch_size=2), 6)
    assert Invoice.objects.count() == 5
    assert sorted(Invoice.objects.values_list("subscription_id", flat=True)) == sorted(s.pk for s in subs)
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 5))


@pytest.mark.django_db
def test_prorations_can_be_invoiced_at_once_without_taking_the_period():
    from invoicing.services import invoice_add_proration_lines

    sub = SubscriptionFactory()
    assert invoice_add_proration_lines(actor=ACTOR, subscription=sub) is None
    PendingProration.objects.create(subscription=sub, description="Upgrade to Pro", amount=D("1500.00"), currency="NGN", tax_rate=D("7.5"),
                                    change_date=dt.date(2026, 11, 16), period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 12, 1))
    invoice = invoice_add_proration_lines(actor=ACTOR, subscription=sub)
    assert invoice.status == "issued" and invoice.total == D("1612.50") and invoice.period_start is None
    assert run() == 1  # the period invoice is still made, without the already-invoiced proration
    period = Invoice.objects.exclude(pk=invoice.pk).get()
    assert [line.kind for line in period.lines.all()] == ["plan"]


@pytest.mark.django_db
def test_coupon_cycles_are_read_not_counted():
    """The renewal task counts completed coupon periods; generation only asks whether the coupon applies."""
    sub = SubscriptionFactory(coupon=Coupon.objects.create(code="ONCE", name="once", kind="amount", amount_off=D("4.00"), currency="NGN",
                                                           duration="once"))
    assert run() == 1
    sub.refresh_from_db()
    assert sub.coupon_cycles_used == 0 and Invoice.objects.get().discount == D("4.00")
    used = SubscriptionFactory(coupon=sub.coupon, coupon_cycles_used=1)
    assert run() == 1
    assert Invoice.objects.get(subscription=used).discount == 0


@pytest.mark.django_db
def test_previous_period_usage_is_billed_in_arrears():
    usage_factories = pytest.importorskip("tests.usage.factories")
    sub = SubscriptionFactory(billing_anchor=dt.date(2026, 10, 1))
    meter = usage_factories.MeterFactory(name="API calls", unit="calls",
                                         price=PriceFactory(pricing_model="per_unit", unit_amount=D("2.00"), tax_rate=D("0")))
    usage_factories.UsageEventFactory(subscription=sub, meter=meter, value=D("10"), timestamp=dt.datetime(2026, 10, 20, tzinfo=dt.UTC))
    usage_factories.UsageEventFactory(subscription=sub, meter=meter, value=D("99"), timestamp=dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC))
    assert run() == 1
    invoice = Invoice.objects.get()
    usage = invoice.lines.get(kind="usage")
    assert (usage.quantity, usage.amount, usage.period_start, usage.period_end) == (D("10"), D("20.00"), dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    assert invoice.total == D("29.00") + D("20.00")


@pytest.mark.django_db
def test_short_first_calendar_period_is_prorated():
    sub = SubscriptionFactory(plan__billing_cycle="calendar", plan__base_price__unit_amount=D("3000.00"), billing_anchor=dt.date(2026, 11, 16),
                              current_period_start=dt.date(2026, 11, 16), current_period_end=dt.date(2026, 12, 1))
    generate_due_invoices(actor=ACTOR, today=dt.date(2026, 11, 16))
    line = Invoice.objects.get(subscription=sub).lines.get()
    assert line.amount == D("1500.00") and "prorated 16 Nov – 30 Nov 2026" in line.description


@pytest.mark.django_db(transaction=True)
def test_generated_invoices_are_emailed_once_with_the_pdf(mailoutbox, settings):
    from invoicing.emails import invoice_email_deliver, sweep_unsent_invoice_emails

    sub = SubscriptionFactory()
    assert run() == 1
    invoice = Invoice.objects.get()
    assert invoice_email_deliver(invoice_id=invoice.pk) is True  # what the queued task does
    assert invoice_email_deliver(invoice_id=invoice.pk) is False  # a second delivery sends nothing
    assert sweep_unsent_invoice_emails(older_than_seconds=0) == 0
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [sub.tenant.billing_email] and invoice.number in message.subject
    assert any(name.endswith(".pdf") for name, _content, _type in message.attachments)


@pytest.mark.django_db
def test_generation_can_leave_the_email_to_staff(settings):
    from accounts.models import AuditEntry

    settings.INVOICE_EMAIL_ON_GENERATION = False
    SubscriptionFactory()
    assert run() == 1
    assert not AuditEntry.objects.filter(action="invoice.sent").exists()


@pytest.mark.django_db
def test_a_clash_that_is_not_another_workers_invoice_is_logged_not_swallowed(caplog):
    from invoicing.models import DocumentSequence

    sub = SubscriptionFactory()
    # A broken numbering sequence: the next number is already taken by another invoice.
    DocumentSequence.objects.update_or_create(prefix="INV", year=TODAY.year, defaults={"last_number": 0})
    Invoice.objects.create(tenant=sub.tenant, currency=sub.currency, number=f"INV-{TODAY.year}-000001", status="issued")
    with caplog.at_level("ERROR", logger="invoicing.generation"):
        assert run() == 0
    assert any("Invoice generation failed" in r.getMessage() for r in caplog.records)
    assert not Invoice.objects.filter(subscription=sub).exists()  # nothing half-made; still due for the next run
