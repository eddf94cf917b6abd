"""Manual payments: validation, partial/full application, overpayment to credit, API and audit."""
from decimal import Decimal

import pytest

from accounts.models import AuditEntry
from billing_ops.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from billing_ops.models import DomainEvent
from payments.models import Payment
from payments.services import payment_record_manual
from tests.factories import InvoiceFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_partial_then_full_payment(billing_user):
    invoice = InvoiceFactory(total=Decimal("31.44"), amount_due=Decimal("31.44"))
    first = payment_record_manual(actor=billing_user, invoice=invoice, amount="20.00", method="bank_transfer", reference="TRX-1")
    invoice.refresh_from_db()
    assert (first.status, first.applied_amount, invoice.status, invoice.amount_due) == (
        "succeeded", Decimal("20.00"), "issued", Decimal("11.44"))
    payment_record_manual(actor=billing_user, invoice=invoice, amount=Decimal("11.44"), method="cash")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("paid", Decimal("31.44"), Decimal("0.00"))
    names = list(DomainEvent.objects.order_by("created_at").values_list("name", flat=True))
    assert names.count("payment.succeeded") == 2 and names.count("invoice.paid") == 1
    succeeded = DomainEvent.objects.filter(name="payment.succeeded").first().payload
    assert {"payment_id", "invoice_id", "tenant_id", "amount", "currency", "reason"} <= set(succeeded)
    assert AuditEntry.objects.filter(action="payment.recorded", object_id=str(first.pk)).exists()


@pytest.mark.parametrize("amount,field", [("0", "amount"), ("-5.00", "amount"), ("1.234", "amount"), ("abc", "amount")])
def test_invalid_amounts_are_refused(billing_user, amount, field):
    invoice = InvoiceFactory()
    with pytest.raises(ValidationFailed) as exc:
        payment_record_manual(actor=billing_user, invoice=invoice, amount=amount, method="cash")
    assert field in exc.value.fields
    assert not Payment.objects.exists()


def test_overpayment_is_refused_unless_credit_is_chosen(billing_user):
    tenant = TenantFactory()
    invoice = InvoiceFactory(tenant=tenant)
    with pytest.raises(ValidationFailed) as exc:
        payment_record_manual(actor=billing_user, invoice=invoice, amount="150.00", method="cheque")
    assert exc.value.code == "overpayment" and not Payment.objects.exists()
    payment = payment_record_manual(actor=billing_user, invoice=invoice, amount="150.00", method="cheque", overpayment="credit")
    invoice.refresh_from_db()
    tenant.refresh_from_db()
    assert (payment.applied_amount, payment.credited_amount) == (Decimal("100.00"), Decimal("50.00"))
    assert invoice.status == "paid" and tenant.credit_balance == Decimal("50.00")


def test_card_is_not_a_manual_method_and_closed_invoices_refuse(billing_user):
    with pytest.raises(ValidationFailed):
        payment_record_manual(actor=billing_user, invoice=InvoiceFactory(), amount="1.00", method="card")
    with pytest.raises(TransitionNotAllowed):
        payment_record_manual(actor=billing_user, invoice=InvoiceFactory(status="void"), amount="1.00", method="cash")


def test_onboarding_cannot_record(onboarding_user):
    with pytest.raises(PermissionDenied):
        payment_record_manual(actor=onboarding_user, invoice=InvoiceFactory(), amount="1.00", method="cash")


def test_api_records_a_manual_payment(api):
    invoice = InvoiceFactory(total=Decimal("31.44"), amount_due=Decimal("31.44"))
    body = {"invoice": invoice.pk, "amount": "31.44", "method": "bank_transfer", "reference": "NIP-77", "received_at": "2026-11-20"}
    response = api.post("/api/payments", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "succeeded" and data["amount"] == "31.44" and data["currency"] == "NGN"
    assert data["external_reference"] == "NIP-77"
    detail = api.get(f"/api/payments/{data['id']}/").json()
    assert detail["invoice"] == invoice.pk
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_api_validation_errors(api):
    invoice = InvoiceFactory()
    over = api.post("/api/payments/", {"invoice": invoice.pk, "amount": "100.01", "method": "cash"}, format="json")
    assert over.status_code == 400 and over.json()["error"]["code"] == "overpayment"
    ok = api.post("/api/payments/", {"invoice": invoice.pk, "amount": "100.01", "method": "cash", "overpayment": "credit"}, format="json")
    assert ok.status_code == 201
    zero = api.post("/api/payments/", {"invoice": invoice.pk, "amount": "0.00", "method": "cash"}, format="json")
    assert zero.status_code == 400 and "amount" in zero.json()["error"]["fields"]
    floaty = api.post("/api/payments/", {"invoice": invoice.pk, "amount": 1.5, "method": "cash"}, format="json")
    assert floaty.status_code == 400
    bad_method = api.post("/api/payments/", {"invoice": invoice.pk, "amount": "1.00", "method": "card"}, format="json")
    assert bad_method.status_code == 400 and "method" in bad_method.json()["error"]["fields"]
    missing = api.post("/api/payments/", {"invoice": 999999, "amount": "1.00", "method": "cash"}, format="json")
    assert missing.status_code == 404


def test_api_list_filters(api):
    invoice = InvoiceFactory()
    api.post("/api/payments/", {"invoice": invoice.pk, "amount": "10.00", "method": "cash", "reference": "CASH-1"}, format="json")
    api.post("/api/payments/", {"invoice": invoice.pk, "amount": "10.00", "method": "cheque", "reference": "CHQ-9"}, format="json")
    listed = api.get("/api/payments/?method=cheque").json()
    assert [p["external_reference"] for p in listed["results"]] == ["CHQ-9"] and "next" in listed
    assert api.get("/api/payments/?status=failed").json()["results"] == []
