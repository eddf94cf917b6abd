"""invoice_record_payment / invoice_record_refund: the shared settlement path of every payment route."""
from decimal import Decimal

import pytest

from billing_ops.errors import TransitionNotAllowed, ValidationFailed
from billing_ops.models import DomainEvent
from invoicing.services import invoice_record_payment, invoice_record_refund
from tests.factories import InvoiceFactory

pytestmark = pytest.mark.django_db


def test_partial_then_full_payment_settles_the_invoice(billing_user):
    invoice = InvoiceFactory(total=Decimal("31.44"), amount_due=Decimal("31.44"))
    invoice = invoice_record_payment(actor=billing_user, invoice=invoice, amount="20.00")
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("issued", Decimal("20.00"), Decimal("11.44"))
    invoice = invoice_record_payment(actor=billing_user, invoice=invoice, amount=Decimal("11.44"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("paid", Decimal("0.00")) and invoice.paid_at
    assert DomainEvent.objects.filter(name="invoice.paid", payload__invoice_id=invoice.pk).count() == 1


@pytest.mark.parametrize("amount", ["0", "-1.00", "100.01"])
def test_bad_amounts_change_nothing(billing_user, amount):
    invoice = InvoiceFactory()
    with pytest.raises(ValidationFailed):
        invoice_record_payment(actor=billing_user, invoice=invoice, amount=amount)
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0 and invoice.amount_due == Decimal("100.00")


@pytest.mark.parametrize("status", ["draft", "void", "paid"])
def test_payments_only_apply_to_open_invoices(billing_user, status):
    with pytest.raises(TransitionNotAllowed):
        invoice_record_payment(actor=billing_user, invoice=InvoiceFactory(status=status), amount="1.00")


def test_refund_keeps_amount_due_and_cannot_exceed_paid(billing_user):
    invoice = InvoiceFactory()
    invoice_record_payment(actor=billing_user, invoice=invoice, amount="100.00")
    invoice = invoice_record_refund(actor=billing_user, invoice=invoice, amount="30.00")
    assert (invoice.amount_refunded, invoice.amount_credited, invoice.amount_due, invoice.status) == (
        Decimal("30.00"), Decimal("30.00"), Decimal("0.00"), "paid")
    with pytest.raises(ValidationFailed):
        invoice_record_refund(actor=billing_user, invoice=invoice, amount="70.01")


def test_onboarding_cannot_record_payments(onboarding_user):
    from billing_ops.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        invoice_record_payment(actor=onboarding_user, invoice=InvoiceFactory(), amount="1.00")
