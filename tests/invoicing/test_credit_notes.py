"""Credit notes: creation through the engine, approval permissions, and how the credit is applied."""
from decimal import Decimal

import pytest

from billing_ops.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from billing_ops.models import DomainEvent
from invoicing import services
from tests.factories import StaffFactory, TenantFactory
from tests.invoicing.factories import make_invoice, simple_lines

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def approver(db):
    return StaffFactory(role="billing", username="approver")


def test_amount_note_reverses_tax_per_line(billing_user):
    invoice = make_invoice(actor=billing_user)  # 29 + 10 at 20%: 46.80
    note = services.credit_note_create(actor=billing_user, invoice=invoice, reason="Goodwill", amount="12.00")
    assert (note.status, note.number, note.total) == ("draft", None, D("12.00"))
    assert note.net + note.tax == note.total and note.tax == sum(line.tax for line in note.lines.all())
    assert all(line.invoice_line_id for line in note.lines.all())


def test_line_note_credits_the_whole_line(billing_user):
    invoice = make_invoice(actor=billing_user)
    addon = invoice.lines.get(kind="add_on")
    note = services.credit_note_create(actor=billing_user, invoice=invoice, reason="Add-on not used", line_ids=[addon.pk])
    assert (note.net, note.tax, note.total) == (addon.net, addon.tax, addon.total)
    with pytest.raises(ValidationFailed):  # already taken by the draft
        services.credit_note_create(actor=billing_user, invoice=invoice, reason="again", line_ids=[addon.pk])


def test_cannot_exceed_what_is_creditable(billing_user):
    invoice = make_invoice(actor=billing_user, lines=simple_lines("100.00"))
    services.credit_note_create(actor=billing_user, invoice=invoice, reason="a", amount="60.00")
    with pytest.raises(ValidationFailed):
        services.credit_note_create(actor=billing_user, invoice=invoice, reason="b", amount="40.01")
    services.credit_note_create(actor=billing_user, invoice=invoice, reason="b", amount="40.00")


def test_draft_invoices_cannot_be_credited(billing_user):
    with pytest.raises(TransitionNotAllowed):
        services.credit_note_create(actor=billing_user, invoice=make_invoice(actor=billing_user, issue=False), reason="x", amount="1.00")


def test_approval_needs_approve_capability_and_a_second_person(billing_user, onboarding_user, approver, settings):
    invoice = make_invoice(actor=billing_user, lines=simple_lines("100.00"))
    note = services.credit_note_create(actor=billing_user, invoice=invoice, reason="x", amount="10.00")
    with pytest.raises(PermissionDenied):
        services.credit_note_approve(actor=onboarding_user, credit_note=note)
    with pytest.raises(PermissionDenied):
        services.credit_note_approve(actor=billing_user, credit_note=note)
    note.refresh_from_db()
    assert note.status == "draft"
    settings.CREDIT_NOTE_REQUIRE_DIFFERENT_APPROVER = False
    assert services.credit_note_approve(actor=billing_user, credit_note=note).status == "approved"


def test_onboarding_cannot_create(onboarding_user, billing_user):
    with pytest.raises(PermissionDenied):
        services.credit_note_create(actor=onboarding_user, invoice=make_invoice(actor=billing_user), reason="x", amount="1.00")


def test_approval_reduces_due_numbers_and_settles(billing_user, approver):
    invoice = make_invoice(actor=billing_user, lines=simple_lines("100.00"))
    services.invoice_record_payment(actor=billing_user, invoice=invoice, amount="60.00")
    partial = services.credit_note_create(actor=billing_user, invoice=invoice, reason="x", amount="15.00")
    partial = services.credit_note_approve(actor=approver, credit_note=partial)
    invoice.refresh_from_db()
    assert partial.number.startswith("CN-") and partial.number.endswith("-000001") and partial.status == "approved" and partial.applied_at
    assert (invoice.amount_credited, invoice.amount_due, invoice.status) == (D("15.00"), D("25.00"), "issued")
    rest = services.credit_note_create(actor=billing_user, invoice=invoice, reason="rest", amount="25.00")
    services.credit_note_approve(actor=approver, credit_note=rest)
    invoice.refresh_from_db()
    assert (invoice.amount_due, invoice.status) == (D("0.00"), "paid")
    paid = DomainEvent.objects.get(name="invoice.paid", payload__invoice_id=invoice.pk)
    assert paid.payload["route"] == "credit_note"
    assert DomainEvent.objects.filter(name="credit_note.approved").count() == 2


def test_excess_becomes_account_credit(billing_user, approver):
    tenant = TenantFactory()
    invoice = make_invoice(actor=billing_user, tenant=tenant, lines=simple_lines("100.00"))
    services.invoice_record_payment(actor=billing_user, invoice=invoice, amount="80.00")
    note = services.credit_note_create(actor=billing_user, invoice=invoice, reason="x", amount="50.00", resolution="account_credit")
    note = services.credit_note_approve(actor=approver, credit_note=note)
    invoice.refresh_from_db()
    tenant.refresh_from_db()
    assert (note.applied_to_due, note.applied_to_credit) == (D("20.00"), D("30.00"))
    assert (invoice.status, invoice.amount_due, invoice.amount_credited, invoice.amount_refunded) == ("paid", 0, D("50.00"), D("30.00"))
    assert tenant.credit_balance == D("30.00")


def test_refund_resolution_requests_a_refund_without_crediting(billing_user, approver):
    invoice = make_invoice(actor=billing_user, lines=simple_lines("100.00"))
    services.invoice_record_payment(actor=billing_user, invoice=invoice, amount="100.00")
    note = services.credit_note_create(actor=billing_user, invoice=invoice, reason="x", amount="40.00", resolution="refund")
    note = services.credit_note_approve(actor=approver, credit_note=note)
    invoice.refresh_from_db()
    assert (note.status, note.refund_status, note.refund_amount, note.applied_at) == ("approved", "pending", D("40.00"), None)
    assert invoice.amount_credited == 0
    event = DomainEvent.objects.get(name="credit_note.refund_requested")
    assert event.payload == {"credit_note_id": note.pk, "invoice_id": invoice.pk, "tenant_id": invoice.tenant_id,
                             "amount": "40.00", "currency": invoice.currency}
    note = services.credit_note_refund_processed(actor=approver, credit_note=note, reference="RF-1")
    invoice.refresh_from_db()
    assert note.status == "approved" and note.refund_status == "processed" and note.applied_at and (invoice.amount_credited, invoice.amount_refunded, invoice.amount_due) == (D("40.00"), D("40.00"), 0)
    services.credit_note_refund_processed(actor=approver, credit_note=note)  # twice is fine
    invoice.refresh_from_db()
    assert invoice.amount_refunded == D("40.00")


def test_refund_needs_a_payment(billing_user):
    invoice = make_invoice(actor=billing_user, lines=simple_lines("100.00"))
    with pytest.raises(ValidationFailed):
        services.credit_note_create(actor=billing_user, invoice=invoice, reason="x", amount="10.00", resolution="refund")


def test_void_only_from_draft(billing_user, approver):
    invoice = make_invoice(actor=billing_user, lines=simple_lines("100.00"))
    note = services.credit_note_create(actor=billing_user, invoice=invoice, reason="x", amount="10.00")
    assert services.credit_note_void(actor=billing_user, credit_note=note, reason="oops").status == "void"
    with pytest.raises(TransitionNotAllowed):
        services.credit_note_approve(actor=approver, credit_note=note)
    other = services.credit_note_create(actor=billing_user, invoice=invoice, reason="y", amount="100.00")  # void one freed its amount
    services.credit_note_approve(actor=approver, credit_note=other)
    with pytest.raises(TransitionNotAllowed):
        services.credit_note_void(actor=billing_user, credit_note=other, reason="late")


def test_gateway_refund_events_update_the_note(billing_user, approver):
    from django.db import transaction

    from billing_ops import events

    invoice = make_invoice(actor=billing_user, lines=simple_lines("100.00"))
    services.invoice_record_payment(actor=billing_user, invoice=invoice, amount="100.00")
    note = services.credit_note_create(actor=billing_user, invoice=invoice, reason="x", amount="40.00", resolution="refund")
    note = services.credit_note_approve(actor=approver, credit_note=note)
    with transaction.atomic():
        events.emit("payment.refund_failed", payment_id=1, invoice_id=invoice.pk, credit_note_id=note.pk, reason="card expired")
    note.refresh_from_db()
    assert note.refund_status == "failed"
    with transaction.atomic():
        events.emit("payment.refunded", payment_id=1, invoice_id=invoice.pk, credit_note_id=None)  # not ours: ignored
        events.emit("payment.refunded", payment_id=1, invoice_id=invoice.pk, credit_note_id=note.pk, amount="40.00")
    note.refresh_from_db()
    # No processed payments.Refund row exists in this test, so the note waits for the rest.
    assert note.refund_status == "processing" and note.applied_at is None


def test_refund_credit_note_end_to_end_with_payments(billing_user, approver, django_capture_on_commit_callbacks):
    """Approve → payments splits the refund over the card payment → the gateway reports it processed →
    the invoice records it (payments) and the note is processed (invoicing)."""
    payments_models = pytest.importorskip("payments.models")
    from payments.services import refund_apply_gateway_status

    invoice = make_invoice(actor=billing_user, lines=simple_lines("100.00"))
    payment = payments_models.Payment.objects.create(
        tenant=invoice.tenant, invoice=invoice, amount=D("100.00"), currency=invoice.currency, method="card", status="succeeded",
        reference="T-e2e-1")
    services.invoice_record_payment(actor=billing_user, invoice=invoice, amount="100.00", payment_id=payment.pk)
    note = services.credit_note_create(actor=billing_user, invoice=invoice, reason="Outage", amount="40.00", resolution="refund")
    with django_capture_on_commit_callbacks(execute=False):  # the gateway call is not made here
        note = services.credit_note_approve(actor=approver, credit_note=note)
    refund = payments_models.Refund.objects.get(credit_note=note)
    assert refund.amount == D("40.00")
    payments_models.Refund.objects.filter(pk=refund.pk).update(status="sending")  # as send_refund leaves it
    refund_apply_gateway_status(actor=approver, refund=refund, status="processed")
    note.refresh_from_db()
    invoice.refresh_from_db()
    assert note.refund_status == "processed" and note.applied_at
    assert (invoice.status, invoice.amount_credited, invoice.amount_refunded, invoice.amount_due) == ("paid", D("40.00"), D("40.00"), 0)
