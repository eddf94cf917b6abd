"""notify(): templates, opt-out of non-essential notices, email after commit, the send log, retries."""
import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from billing_ops.actors import system
from billing_ops.errors import ValidationFailed
from billing_ops.events import emit
from dunning import notifications
from dunning.models import Notification, NotificationKind
from dunning.notifications import notify
from tests.factories import InvoiceFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_every_required_type_has_a_default_template_that_validates():
    required = {"invoice_issued", "payment_succeeded", "payment_failed", "dunning_reminder", "final_warning",
                "subscription_suspended", "subscription_reactivated", "card_expiring", "credit_note_approved",
                "trial_ending", "renewal_upcoming"}
    assert required <= set(NotificationKind.values)
    for kind in required:
        subject, text, html = notifications.default_template(kind)
        notifications.validate_template(subject=subject, body_text=text, body_html=html)


def test_email_goes_after_commit_and_is_recorded(django_capture_on_commit_callbacks):
    tenant = TenantFactory(name="Acme", billing_email="pay@acme.example")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            note = notify(tenant=tenant, kind="payment_failed", context={"invoice_number": "INV-1", "amount": "10.00", "currency": "NGN"})
            assert mail.outbox == []  # nothing leaves before the commit
    note.refresh_from_db()
    assert note.status == "sent" and note.sent_at and note.to == "pay@acme.example" and note.attempts == 1
    assert mail.outbox[0].subject == "Payment failed for invoice INV-1" and "Acme" in mail.outbox[0].body
    assert mail.outbox[0].alternatives  # the HTML part


def test_rolled_back_notice_is_never_sent(django_capture_on_commit_callbacks):
    tenant = TenantFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(tenant=tenant, kind="payment_failed", context={})
            raise RuntimeError
    assert mail.outbox == [] and not Notification.objects.exists()


def test_opt_out_skips_non_essential_but_not_invoices_or_suspensions(billing_user):
    tenant = TenantFactory()
    notifications.preference_set(actor=billing_user, tenant=tenant, opt_out_non_essential=True)
    assert notify(tenant=tenant, kind="dunning_reminder", context={}).status == "opted_out"
    assert notify(tenant=tenant, kind="card_expiring", context={}).status == "opted_out"
    assert notify(tenant=tenant, kind="invoice_issued", context={}).status == "pending"
    assert notify(tenant=tenant, kind="subscription_suspended", context={}).status == "pending"
    assert notify(tenant=tenant, kind="renewal_upcoming", context={}, essential=True).status == "pending"
    assert Notification.objects.count() == 5  # every decision is recorded


def test_failed_send_is_retried_with_backoff(settings):
    tenant = TenantFactory()
    note = notify(tenant=tenant, kind="payment_failed", context={})
    settings.EMAIL_BACKEND = "tests.dunning.test_notifications.BrokenBackend"
    assert notifications.send_notification(note.pk) == "failed"
    note.refresh_from_db()
    assert note.attempts == 1 and note.next_attempt_at > timezone.now() and "SMTP down" in note.last_error
    assert notifications.retry_notifications() == 0  # not due yet
    Notification.objects.filter(pk=note.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications.retry_notifications() == 1
    note.refresh_from_db()
    assert note.status == "sent" and note.attempts == 2 and len(mail.outbox) == 1


def test_in_app_and_webhook_channels():
    from dunning.models import OutboxEvent

    tenant = TenantFactory()
    assert notify(tenant=tenant, kind="trial_ending", context={"trial_end": "2026-12-01"}, channel="in_app").status == "sent"
    with transaction.atomic():
        assert notify(tenant=tenant, kind="renewal_upcoming", context={}, channel="webhook").status == "sent"
    assert OutboxEvent.objects.get().event_type == "notification.renewal_upcoming"


def test_dedupe_key_sends_once():
    tenant = TenantFactory()
    first = notify(tenant=tenant, kind="card_expiring", context={}, dedupe_key="card:1:2026-11")
    again = notify(tenant=tenant, kind="card_expiring", context={}, dedupe_key="card:1:2026-11")
    assert first.pk == again.pk and Notification.objects.count() == 1


def test_template_sandbox_refuses_unknown_variables_and_tags():
    for bad in ("{{ tenant.deployment_webhook_secret }}", "{% include 'base.html' %}", "{% load static %}", "{% if %}"):
        with pytest.raises(ValidationFailed):
            notifications.validate_template(subject="S", body_text=bad)


def test_invoice_receipt_and_credit_note_events_send_notices():
    invoice = InvoiceFactory()
    with transaction.atomic():
        emit("invoice.issued", actor=system("t"), invoice_id=invoice.pk, tenant_id=invoice.tenant_id)
        emit("invoice.issued", actor=system("t"), invoice_id=invoice.pk, tenant_id=invoice.tenant_id)
        emit("payment.succeeded", actor=system("t"), payment_id=7, invoice_id=invoice.pk, tenant_id=invoice.tenant_id,
             amount="100.00", currency="NGN")
        emit("credit_note.approved", actor=system("t"), credit_note_id=3, invoice_id=invoice.pk, amount="10.00")
    kinds = sorted(Notification.objects.values_list("kind", flat=True))
    assert kinds == ["credit_note_approved", "invoice_issued", "payment_succeeded"]


def test_a_broken_notice_never_breaks_the_change(monkeypatch):
    invoice = InvoiceFactory()

    def boom(**kwargs):
        raise RuntimeError("template store down")

    monkeypatch.setattr(notifications, "notify", boom)
    with transaction.atomic():
        emit("invoice.issued", actor=system("t"), invoice_id=invoice.pk, tenant_id=invoice.tenant_id)
    assert not Notification.objects.exists()


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP down")
