import datetime as dt

import pytest

from billing_ops.models import DomainEvent
from invoicing import tasks
from invoicing.models import Invoice
from tests.invoicing.factories import make_invoice

pytestmark = pytest.mark.django_db


def test_mark_overdue_task_moves_only_past_due_issued_invoices():
    late, on_time, draft = make_invoice(), make_invoice(), make_invoice(issue=False)
    Invoice.objects.filter(pk__in=[late.pk, draft.pk]).update(due_date=dt.date(2020, 1, 1))
    assert tasks.mark_overdue_invoices(batch_size=1) == 1
    assert tasks.mark_overdue_invoices() == 0  # twice is fine
    statuses = dict(Invoice.objects.values_list("pk", "status"))
    assert (statuses[late.pk], statuses[on_time.pk], statuses[draft.pk]) == ("overdue", "issued", "draft")
    event = DomainEvent.objects.get(name="invoice.overdue")
    assert event.payload["invoice_id"] == late.pk and event.payload["tenant_id"] == late.tenant_id


def test_send_invoice_email_skips_drafts_and_sends_issued(mailoutbox):
    assert tasks.send_invoice_email(make_invoice(issue=False).pk) is False
    invoice = make_invoice()
    assert tasks.send_invoice_email(invoice.pk) is True
    assert mailoutbox[0].attachments[0][0] == f"{invoice.number}.pdf"


def test_generation_task_runs():
    assert tasks.generate_due_invoices() == 0


def test_tasks_are_scheduled():
    from django_celery_beat.models import PeriodicTask

    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"invoicing.tasks.generate_due_invoices", "invoicing.tasks.mark_overdue_invoices"} <= names


def test_management_commands_call_the_tasks():
    from io import StringIO

    from django.core.management import call_command

    from tests.factories import SubscriptionFactory

    SubscriptionFactory()
    out = StringIO()
    call_command("generate_invoices", "--today", "2026-11-02", stdout=out)
    call_command("mark_overdue_invoices", stdout=out)
    assert "1 invoice(s) generated." in out.getvalue() and "marked overdue" in out.getvalue()
