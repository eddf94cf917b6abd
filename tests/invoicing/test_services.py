"""Invoice services: creation through the engine, issuing and numbering, every transition."""
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billing_ops.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from billing_ops.models import DomainEvent
from invoicing import services
from invoicing.models import INVOICE_TRANSITIONS, Invoice, InvoiceStatus
from tests.factories import InvoiceFactory, TenantFactory
from tests.invoicing.factories import (
    EXAMPLE_LINES,
    make_invoice,
    simple_lines,
    with_credit,
)

pytestmark = pytest.mark.django_db
D = Decimal


def test_manual_invoice_follows_the_contract_example(billing_user):
    tenant = with_credit(TenantFactory(), "5.00")
    invoice = services.invoice_create(actor=billing_user, tenant=tenant, lines=EXAMPLE_LINES, discount={"percent": "20"}, credit="5.00")
    assert invoice.status == "draft" and invoice.number is None
    assert (invoice.subtotal, invoice.discount, invoice.credit_applied, invoice.tax, invoice.total) == (
        D("39.00"), D("7.80"), D("5.00"), D("5.24"), D("31.44"))
    assert invoice.amount_due == D("31.44")
    lines = list(invoice.lines.all())
    assert [line.kind for line in lines] == ["plan", "add_on"]
    assert sum(line.total for line in lines) == D("31.44")
    tenant.refresh_from_db()
    assert tenant.credit_balance == 0


def test_credit_above_the_balance_is_refused(billing_user):
    tenant = with_credit(TenantFactory(), "4.99")
    with pytest.raises(ValidationFailed) as exc:
        services.invoice_create(actor=billing_user, tenant=tenant, lines=EXAMPLE_LINES, credit="5.00")
    assert exc.value.code == "insufficient_credit" and not Invoice.objects.exists()


@pytest.mark.parametrize("lines", [[], [{"description": "x", "unit_price": "abc"}], [{"description": "", "unit_price": "1"}],
                                   [{"description": "x", "unit_price": "-1.00"}], [{"description": "x", "unit_price": "1", "tax_rate": "101"}]])
def test_bad_lines_are_400(billing_user, lines):
    with pytest.raises(ValidationFailed):
        services.invoice_create(actor=billing_user, tenant=TenantFactory(), lines=lines)


def test_onboarding_cannot_create(onboarding_user):
    with pytest.raises(PermissionDenied):
        services.invoice_create(actor=onboarding_user, tenant=TenantFactory(), lines=EXAMPLE_LINES)


def test_issue_numbers_dates_and_snapshots(billing_user):
    tenant = TenantFactory(payment_terms_days=30, tax_id="123-TIN")
    first = make_invoice(actor=billing_user, tenant=tenant)
    second = make_invoice(actor=billing_user, tenant=tenant)
    year = timezone.localdate().year
    assert (first.number, second.number) == (f"INV-{year}-000001", f"INV-{year}-000002")
    assert first.status == "issued" and first.issue_date == timezone.localdate()
    assert first.due_date == first.issue_date + dt.timedelta(days=30)
    assert first.buyer_details["tax_id"] == "123-TIN" and first.seller_details["name"]
    assert DomainEvent.objects.filter(name="invoice.issued", payload__invoice_id=first.pk).exists()
    with pytest.raises(TransitionNotAllowed):
        services.invoice_issue(actor=billing_user, invoice=first)


def test_failed_issue_gives_the_number_back(billing_user):
    draft = make_invoice(actor=billing_user, issue=False)
    voided = make_invoice(actor=billing_user, issue=False)
    services.invoice_void(actor=billing_user, invoice=voided, reason="mistake")
    with pytest.raises(TransitionNotAllowed):
        services.invoice_issue(actor=billing_user, invoice=voided)
    issued = services.invoice_issue(actor=billing_user, invoice=draft)
    assert issued.number.endswith("-000001")


def test_zero_total_invoice_is_paid_at_issue(billing_user):
    tenant = with_credit(TenantFactory(), "100.00")
    invoice = make_invoice(actor=billing_user, tenant=tenant, lines=simple_lines("100.00"), credit="100.00")
    assert (invoice.status, invoice.amount_due) == ("paid", D("0.00"))
    assert DomainEvent.objects.filter(name="invoice.paid", payload__invoice_id=invoice.pk, payload__route="credit").exists()


def test_void_returns_drawn_credit_and_needs_a_reason(billing_user):
    tenant = with_credit(TenantFactory(), "10.00")
    invoice = make_invoice(actor=billing_user, tenant=tenant, lines=simple_lines("50.00"), credit="10.00")
    with pytest.raises(ValidationFailed):
        services.invoice_void(actor=billing_user, invoice=invoice, reason=" ")
    invoice = services.invoice_void(actor=billing_user, invoice=invoice, reason="Duplicate")
    tenant.refresh_from_db()
    assert (invoice.status, invoice.amount_due, tenant.credit_balance) == ("void", D("0"), D("10.00"))


def test_void_refused_after_payment(billing_user):
    invoice = make_invoice(actor=billing_user, lines=simple_lines("50.00"))
    services.invoice_record_payment(actor=billing_user, invoice=invoice, amount="10.00")
    with pytest.raises(TransitionNotAllowed):
        services.invoice_void(actor=billing_user, invoice=invoice, reason="no")


def test_overdue_only_after_due_date(billing_user):
    invoice = make_invoice(actor=billing_user)
    with pytest.raises(TransitionNotAllowed):
        services.invoice_mark_overdue(actor=billing_user, invoice=invoice)
    later = invoice.due_date + dt.timedelta(days=1)
    invoice = services.invoice_mark_overdue(actor=billing_user, invoice=invoice, today=later)
    assert invoice.status == "overdue"
    services.invoice_mark_overdue(actor=billing_user, invoice=invoice, today=later)  # twice is fine
    assert DomainEvent.objects.filter(name="invoice.overdue", payload__invoice_id=invoice.pk).count() == 1


ACTIONS = {
    InvoiceStatus.ISSUED: lambda actor, inv: services.invoice_issue(actor=actor, invoice=inv),
    InvoiceStatus.VOID: lambda actor, inv: services.invoice_void(actor=actor, invoice=inv, reason="test"),
    InvoiceStatus.UNCOLLECTIBLE: lambda actor, inv: services.invoice_mark_uncollectible(actor=actor, invoice=inv, reason="test"),
    InvoiceStatus.OVERDUE: lambda actor, inv: services.invoice_mark_overdue(actor=actor, invoice=inv, today=dt.date(2030, 1, 1)),
}


@pytest.mark.parametrize("source", list(InvoiceStatus.values))
@pytest.mark.parametrize("target", list(ACTIONS))
def test_every_transition_is_allowed_or_refused_by_the_table(billing_user, source, target):
    invoice = InvoiceFactory(status=source, number=None if source == "draft" else f"INV-2026-{hash((source, target)) % 10**6:06d}",
                             due_date=dt.date(2026, 11, 15))
    allowed = target in INVOICE_TRANSITIONS[source] or (source == target == InvoiceStatus.OVERDUE)
    if allowed:
        result = ACTIONS[target](billing_user, invoice)
        assert result.status == target
    else:
        with pytest.raises(TransitionNotAllowed):
            ACTIONS[target](billing_user, invoice)
        invoice.refresh_from_db()
        assert invoice.status == source


def test_send_issues_a_draft_and_queues_the_email(billing_user, django_capture_on_commit_callbacks, settings, mailoutbox):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    invoice = make_invoice(actor=billing_user, issue=False)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.invoice_send(actor=billing_user, invoice=invoice)
    assert invoice.status == "issued" and invoice.number
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [invoice.tenant.billing_email] and invoice.number in mail.subject
    name, content, mime = mail.attachments[0]
    assert name == f"{invoice.number}.pdf" and mime == "application/pdf" and content.startswith(b"%PDF")


def test_send_refuses_void(billing_user):
    invoice = make_invoice(actor=billing_user, issue=False)
    services.invoice_void(actor=billing_user, invoice=invoice, reason="x")
    with pytest.raises(TransitionNotAllowed):
        services.invoice_send(actor=billing_user, invoice=invoice)


def test_usage_prices_finer_than_the_minor_unit_are_kept(billing_user):
    invoice = make_invoice(actor=billing_user, issue=False, lines=[
        {"description": "API calls", "quantity": "12345", "unit_price": "0.0035", "tax_rate": "7.5", "kind": "usage"}])
    line = invoice.lines.get()
    line.refresh_from_db()
    assert (line.unit_price, line.amount, line.tax, invoice.total) == (D("0.003500"), D("43.21"), D("3.24"), D("46.45"))
    with pytest.raises(ValidationFailed):
        make_invoice(actor=billing_user, lines=[{"description": "x", "quantity": "1.00001", "unit_price": "1"}])
