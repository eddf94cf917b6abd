"""Reactions to invoice events and the dashboard panel."""
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from billing_ops import events
from invoicing.services import invoice_record_payment
from tests.factories import InvoiceFactory
from tests.subscriptions.factories import make_subscription

pytestmark = pytest.mark.django_db


def test_overdue_invoice_marks_the_subscription_past_due_and_payment_restores_it(billing_user):
    sub = make_subscription()
    invoice = InvoiceFactory(tenant=sub.tenant, subscription=sub, status="overdue", total=Decimal("29.00"), period_start=sub.current_period_start)
    with transaction.atomic():
        events.emit("invoice.overdue", invoice_id=invoice.pk, tenant_id=sub.tenant_id)
    sub.refresh_from_db()
    assert sub.status == "past_due"
    invoice_record_payment(actor=billing_user, invoice=invoice, amount=Decimal("29.00"))
    sub.refresh_from_db()
    assert sub.status == "active"


def test_events_for_other_states_do_nothing(billing_user):
    sub = make_subscription(status="suspended")
    invoice = InvoiceFactory(tenant=sub.tenant, subscription=sub, status="overdue", total=Decimal("29.00"), period_start=sub.current_period_start)
    with transaction.atomic():
        events.emit("invoice.overdue", invoice_id=invoice.pk, tenant_id=sub.tenant_id)
        events.emit("invoice.overdue", invoice_id=999999, tenant_id=sub.tenant_id)
    invoice_record_payment(actor=billing_user, invoice=invoice, amount=Decimal("29.00"))
    sub.refresh_from_db()
    assert sub.status == "suspended"  # left to dunning, which knows why it was suspended


def test_dashboard_panel(billing_user):
    make_subscription()
    make_subscription(status="past_due")
    client = Client()
    client.force_login(billing_user)
    panels = {p["title"]: dict(p.get("figures", ())) for p in client.get("/billing/").context["panels"]}
    assert panels["Subscriptions"]["Active"] == 1 and panels["Subscriptions"]["Past due"] == 1
