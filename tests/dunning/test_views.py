"""Screens: queue (filters, sort, at-risk totals, constant queries, bulk remind), case, policy, templates, panels."""
import datetime as dt

import pytest
from django.test import Client

from accounts.models import AuditEntry
from dunning.models import DunningCase, DunningPolicy, Notification, NotificationTemplate, OutboxEvent
from tests.dunning.factories import make_invoice, open_case
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("count", [2, 30])
def test_queue_query_count_does_not_grow(billing_user, django_assert_max_num_queries, count):
    for _ in range(count):
        open_case()
    client = signed_in(billing_user)
    with django_assert_max_num_queries(12):
        response = client.get("/billing/dunning/?sort=-amount")
    assert response.status_code == 200 and len(response.context["object_list"]) == count


def test_queue_filters_sort_and_at_risk_per_currency(billing_user):
    ngn = open_case(make_invoice(total="100.00"))
    open_case(make_invoice(total="250.00"))
    ghs = open_case(make_invoice(tenant=TenantFactory(currency="GHS", name="Kumasi"), total="40.00"))
    client = signed_in(billing_user)
    page = client.get("/billing/dunning/")
    assert {(r["currency"], str(r["total"])) for r in page.context["at_risk"]} == {("NGN", "350.00"), ("GHS", "40.00")}
    assert "GHS 40.00" in page.content.decode()
    assert [c.pk for c in client.get("/billing/dunning/?currency=GHS").context["object_list"]] == [ghs.pk]
    assert [c.pk for c in client.get("/billing/dunning/?q=kumasi").context["object_list"]] == [ghs.pk]
    amounts = [c.amount_due for c in client.get("/billing/dunning/?sort=-amount").context["object_list"]]
    assert amounts == sorted(amounts, reverse=True)
    client.post(f"/billing/dunning/{ngn.pk}/write-off/", {"reason": "Insolvent"})
    assert ngn.pk not in [c.pk for c in client.get("/billing/dunning/").context["object_list"]]
    assert [c.pk for c in client.get("/billing/dunning/?status=written_off").context["object_list"]] == [ngn.pk]


def test_at_risk_follows_partial_payments_and_credits(billing_user):
    """The queue totals the case's own copy of the amount due; it follows the invoice after a part-payment."""
    from decimal import Decimal

    from billing_ops.actors import system
    from invoicing.services import invoice_record_payment

    case = open_case(make_invoice(total="300.00"))
    invoice_record_payment(actor=system("test"), invoice=case.invoice, amount=Decimal("120.00"), route="manual")
    case.refresh_from_db()
    assert case.amount_due == Decimal("180.00") and case.amount_at_risk == Decimal("300.00")
    page = signed_in(billing_user).get("/billing/dunning/")
    assert [(r["currency"], str(r["total"]), r["cases"]) for r in page.context["at_risk"]] == [("NGN", "180.00", 1)]
    invoice_record_payment(actor=system("test"), invoice=case.invoice, amount=Decimal("180.00"), route="manual")
    case.refresh_from_db()
    assert case.status == "recovered" and case.amount_due == Decimal("0.00")
    assert signed_in(billing_user).get("/billing/dunning/").context["at_risk"] == []


def test_bulk_remind(billing_user):
    first, second = open_case(), open_case()
    client = signed_in(billing_user)
    response = client.post("/billing/dunning/bulk-remind/", {"case": [first.pk, second.pk]})
    assert response.status_code == 302
    assert set(DunningCase.objects.values_list("step", flat=True)) == {2}


def test_case_detail_shows_done_and_planned_and_acts(billing_user):
    case = open_case()
    client = signed_in(billing_user)
    page = client.get(f"/billing/dunning/{case.pk}/")
    states = [(item["event"].label, item["state"]) for item in page.context["planned"]]
    assert ("Payment failed", "done") in states and ("Retry 1", "planned") in states and ("Suspension", "planned") in states
    client.post(f"/billing/dunning/{case.pk}/suspend/", {"reason": ""})
    assert DunningCase.objects.get().status == "open"
    client.post(f"/billing/dunning/{case.pk}/suspend/", {"reason": "Customer unreachable"})
    assert DunningCase.objects.get().status == "suspended"
    page = client.get(f"/billing/dunning/{case.pk}/").content.decode()
    assert "Customer unreachable" in page and "dunning.case_suspended" in page


def test_policy_screen_preview_validation_and_save(billing_user, onboarding_user):
    client = signed_in(billing_user)
    page = client.get("/billing/dunning/policy/?failure_date=2026-11-01&due_date=2026-11-01")
    dates = [e.date for e in page.context["timeline"].events if e.kind == "suspension"]
    assert dates == [dt.date(2026, 11, 20)]
    form = {"max_retries": "2", "retry_interval_days": "1", "grace_period_days": "30", "retry_method_order": "default_card",
            "suspend_after_retries": "on", "auto_retry_enabled": "on", "ladder-0-key": "payment_failed", "ladder-0-anchor": "failure",
            "ladder-0-offset_days": "0", "ladder-0-template": "payment_failed", "ladder-0-channel": "email",
            "failure_date": "2026-11-01", "due_date": "2026-11-01"}
    bad = client.post("/billing/dunning/policy/", form)
    assert bad.status_code == 400 and "retry_interval_days" in bad.context["errors"]
    form["retry_interval_days"] = "3, 4"
    preview = client.post("/billing/dunning/policy/", {**form, "action": "preview"})
    assert [e.date.day for e in preview.context["timeline"].retries] == [4, 8]
    assert DunningPolicy.objects.get().max_retries == 5  # a preview saves nothing
    assert client.post("/billing/dunning/policy/", {**form, "action": "save"}).status_code == 302
    assert DunningPolicy.objects.get().retry_interval_days == [3, 4]
    assert signed_in(onboarding_user).post("/billing/dunning/policy/", form).status_code == 403


def test_template_edit_rejects_bad_templates_on_save_and_previews(billing_user):
    client = signed_in(billing_user)
    data = {"subject": "Pay {% if amount %}now", "body_text": "Hi", "body_html": ""}
    assert client.post("/billing/dunning/templates/dunning_reminder/", data).status_code == 400
    data = {"subject": "Pay now", "body_text": "Hi {{ tenant.billing_email }}", "body_html": ""}
    response = client.post("/billing/dunning/templates/dunning_reminder/", data)
    assert response.status_code == 400 and "Unknown variable" in response.content.decode()
    data = {"subject": "Pay now", "body_text": "{% load static %}x", "body_html": ""}
    assert client.post("/billing/dunning/templates/dunning_reminder/", data).status_code == 400
    data = {"subject": "Pay {{ invoice_number }}", "body_text": "Hi {{ tenant_name }}, {{ amount }} {{ currency }}",
            "body_html": "<p>{{ tenant_name }}</p>"}
    preview = client.post("/billing/dunning/templates/dunning_reminder/", {**data, "action": "preview"})
    assert preview.context["preview"]["subject"] == "Pay INV-2026-000123" and not NotificationTemplate.objects.exists()
    assert client.post("/billing/dunning/templates/dunning_reminder/", data).status_code == 302
    assert NotificationTemplate.objects.get().subject == "Pay {{ invoice_number }}"
    case = open_case(make_invoice(tenant=TenantFactory(name="Ada & Co")))
    assert client.post(f"/billing/dunning/{case.pk}/remind/").status_code == 302
    note = Notification.objects.filter(case=case, kind="dunning_reminder").get()
    assert note.subject == f"Pay {case.invoice.number}" and "Ada & Co, 100.00 NGN" in note.body_text
    assert note.body_html == "<p>Ada &amp; Co</p>"
    assert client.get("/billing/dunning/templates/").status_code == 200


def test_tenant_panel_shows_notices_deliveries_and_resends(billing_user):
    from accounts.services import tenant_set_status

    tenant = TenantFactory(deployment_webhook_url="")
    open_case(make_invoice(tenant=tenant))
    tenant_set_status(actor=billing_user, tenant=tenant, status="suspended", reason="Non-payment: test")
    client = signed_in(billing_user)
    page = client.get(f"/clients/tenant/{tenant.pk}/").content.decode()
    assert "Payment failed for invoice" in page and "tenant.suspended" in page
    event = OutboxEvent.objects.get()
    OutboxEvent.objects.filter(pk=event.pk).update(status="dead")
    assert client.post(f"/billing/dunning/outbox/{event.pk}/resend/").status_code == 302
    assert OutboxEvent.objects.get().status == "pending"
    assert AuditEntry.objects.filter(action="outbox.resend").exists()
    client.post(f"/billing/dunning/tenant/{tenant.pk}/notifications/", {"opt_out": "1"})
    assert "Opted out of non-essential" in client.get(f"/clients/tenant/{tenant.pk}/").content.decode()


def test_dashboard_recovery_panel(billing_user):
    case = open_case()
    open_case()
    from invoicing.services import invoice_record_payment

    invoice_record_payment(actor=billing_user, invoice=case.invoice, amount="100.00")
    page = signed_in(billing_user).get("/billing/")
    panel = next(p for p in page.context["panels"] if p["title"] == "Payment recovery")
    chart = panel["metrics"]["charts"][0]
    assert chart["currency"] == "NGN" and len(chart["bars"]) == 12
    assert str(chart["this_month"]["failed"]) == "200.00" and str(chart["this_month"]["recovered"]) == "100.00"
    assert chart["this_month"]["rate"] == 50 and chart["steps"] == [{"step": 1, "total": case.amount_at_risk, "cases": 1}]
    assert str(chart["mrr"]) == "100.00"
    assert "Payment recovery" in page.content.decode()


def test_steps_skipped_by_an_early_suspension_show_as_skipped_not_done(billing_user):
    case = open_case()
    client = signed_in(billing_user)
    client.post(f"/billing/dunning/{case.pk}/suspend/", {"reason": "Customer unreachable"})
    states = {item["event"].label: item["state"] for item in client.get(f"/billing/dunning/{case.pk}/").context["planned"]
              if item["event"].kind == "reminder"}
    assert "skipped" in states.values(), states
    skipped = {label for label, state in states.items() if state == "skipped"}
    assert not any(state == "done" for label, state in states.items() if label in skipped)
