"""Refunds: from the payment page and from an approved credit note, confirmed by Paystack's refund webhooks."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from billing_ops import events
from billing_ops.actors import system
from billing_ops.errors import TransitionNotAllowed, ValidationFailed
from billing_ops.models import DomainEvent
from payments.models import Refund, WebhookEvent
from payments.services import charge_invoice, payment_record_manual, refund_create
from tests.factories import InvoiceFactory, TenantFactory
from tests.payments.conftest import signed_post
from tests.payments.factories import PaymentMethodFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_payment(paystack):
    tenant = TenantFactory()
    PaymentMethodFactory(tenant=tenant, authorization_code="AUTH_success_refundme")
    invoice = InvoiceFactory(tenant=tenant, total=Decimal("100.00"), amount_due=Decimal("100.00"))
    outcome = charge_invoice(actor=system("test"), invoice=invoice)
    assert outcome.status == "succeeded"
    return outcome.payment


def refund_webhook(payment, amount_minor: int, status: str = "processed") -> dict:
    return {"event": f"refund.{status}", "data": {
        "status": status, "transaction_reference": payment.reference, "refund_reference": f"RR{amount_minor}{status}",
        "amount": str(amount_minor), "currency": "NGN", "processor": "fake", "customer": {}, "integration": 1, "domain": "test"}}


def test_full_refund_from_the_payment_page(card_payment, billing_user, client, paystack, django_capture_on_commit_callbacks):
    client.force_login(billing_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/billing/payments/{card_payment.pk}/refund/", {"amount": "", "reason": "Customer cancelled"})
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert refund.amount == Decimal("100.00") and refund.status == "pending" and refund.gateway_refund_id
    assert paystack.refunds[0]["amount"] == 10000 and paystack.refunds[0]["transaction_reference"] == card_payment.reference
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, refund_webhook(card_payment, 10000)).status_code == 200
    refund.refresh_from_db()
    card_payment.refresh_from_db()
    invoice = card_payment.invoice
    invoice.refresh_from_db()
    assert refund.status == "processed" and card_payment.status == "refunded"
    assert card_payment.refunded_amount == Decimal("100.00")
    assert (invoice.amount_refunded, invoice.amount_credited, invoice.amount_due) == (Decimal("100.00"), Decimal("100.00"), Decimal("0.00"))
    assert DomainEvent.objects.filter(name="payment.refunded", payload__refund_id=refund.pk).count() == 1
    # The same webhook again changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(client, refund_webhook(card_payment, 10000))
    invoice.refresh_from_db()
    assert invoice.amount_refunded == Decimal("100.00")
    page = client.get(f"/billing/payments/{card_payment.pk}/").content.decode()
    assert "Processed" in page and "Customer cancelled" in page


def test_partial_refunds_and_limits(card_payment, billing_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        refund_create(actor=billing_user, payment=card_payment, amount="30.00", reason="Partial")
    with pytest.raises(ValidationFailed):
        refund_create(actor=billing_user, payment=card_payment, amount="70.01", reason="Too much")  # 30 still under way
    from payments.services import refund_apply_gateway_status

    refund_apply_gateway_status(actor=system("test"), refund=Refund.objects.get(), status="processed")
    card_payment.refresh_from_db()
    assert card_payment.status == "partially_refunded" and card_payment.refunded_amount == Decimal("30.00")
    with django_capture_on_commit_callbacks(execute=True):
        refund_create(actor=billing_user, payment=card_payment, amount="70.00", reason="Rest")
    with pytest.raises(ValidationFailed):
        refund_create(actor=billing_user, payment=card_payment, amount="0.01", reason="Nothing left")


def test_manual_payments_and_onboarding_cannot_refund(billing_user, onboarding_user, paystack, card_payment):
    manual = payment_record_manual(actor=billing_user, invoice=InvoiceFactory(), amount="10.00", method="cash")
    with pytest.raises(TransitionNotAllowed):
        refund_create(actor=billing_user, payment=manual, reason="no")
    from billing_ops.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        refund_create(actor=onboarding_user, payment=card_payment, reason="no")


def test_failed_refund_webhook_leaves_the_invoice_alone(card_payment, billing_user, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        refund_create(actor=billing_user, payment=card_payment, amount="40.00", reason="Try")
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(client, refund_webhook(card_payment, 4000, "failed"))
    refund = Refund.objects.get()
    assert refund.status == "failed"
    card_payment.invoice.refresh_from_db()
    assert card_payment.invoice.amount_refunded == 0
    assert DomainEvent.objects.filter(name="payment.refund_failed").exists()


def test_refund_webhook_for_unknown_transaction_is_kept_for_review(client, paystack, django_capture_on_commit_callbacks):
    from types import SimpleNamespace

    with django_capture_on_commit_callbacks(execute=True):
        signed_post(client, refund_webhook(SimpleNamespace(reference="T-unknown"), 500))
    assert WebhookEvent.objects.get().status == "review"


def test_credit_note_refund_request_is_executed_and_recorded(card_payment, billing_user, paystack, django_capture_on_commit_callbacks):
    from invoicing.models import CreditNote

    invoice = card_payment.invoice
    note = CreditNote.objects.create(invoice=invoice, tenant=invoice.tenant, currency="NGN", reason="Outage", resolution="refund",
                                     total=Decimal("25.00"), refund_amount=Decimal("25.00"), status="approved")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            events.emit("credit_note.refund_requested", actor=billing_user, credit_note_id=note.pk, invoice_id=invoice.pk,
                        amount="25.00")
    refund = Refund.objects.get()
    assert refund.credit_note == note and refund.amount == Decimal("25.00") and refund.status == "pending"
    from payments.services import refund_apply_gateway_status

    refund_apply_gateway_status(actor=system("test"), refund=refund, status="processed")
    invoice.refresh_from_db()
    assert invoice.amount_refunded == Decimal("25.00")
    event = DomainEvent.objects.get(name="payment.refunded")
    assert event.payload["credit_note_id"] == note.pk
    # Delivered twice: no second refund.
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            events.emit("credit_note.refund_requested", actor=billing_user, credit_note_id=note.pk, invoice_id=invoice.pk,
                        amount="25.00")
    assert Refund.objects.count() == 1


def test_api_refund(card_payment, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/payments/{card_payment.pk}/refund", {"amount": "10.00", "reason": "API"}, format="json")
    assert response.status_code == 201 and response.json()["amount"] == "10.00"
    assert api.post(f"/api/payments/{card_payment.pk}/refund", {"reason": "x", "amount": "1000.00"}, format="json").status_code == 400
