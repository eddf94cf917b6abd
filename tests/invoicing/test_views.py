"""Screens: list (filters, sort, constant queries), detail, new invoice, actions, PDFs, exports, credit notes."""
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client

from accounts.services import tenant_assign_onboarding
from invoicing import services
from invoicing.models import CreditNote, Invoice
from tests.factories import StaffFactory, TenantFactory
from tests.invoicing.factories import make_invoice, simple_lines
from tests.invoicing.pdftext import pdf_text

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("count", [3, 40])
def test_invoice_list_query_count_does_not_grow(billing_user, django_assert_max_num_queries, count):
    tenants = [TenantFactory() for _ in range(3)]
    for i in range(count):
        make_invoice(tenant=tenants[i % 3], issue=i % 2 == 0, lines=simple_lines())
    client = signed_in(billing_user)
    with django_assert_max_num_queries(10):
        response = client.get("/billing/invoices/?sort=-total&status=issued")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == (count + 1) // 2


def test_list_filters_sorts_and_pages(billing_user):
    late = make_invoice(tenant=TenantFactory(name="Late Co"), lines=simple_lines("500.00"))
    Invoice.objects.filter(pk=late.pk).update(due_date=dt.date(2020, 1, 1))
    make_invoice(tenant=TenantFactory(name="Fine Co"), lines=simple_lines("50.00"))
    make_invoice(issue=False)
    client = signed_in(billing_user)
    names = lambda url: [i.tenant.name for i in client.get(url).context["object_list"]]
    assert names("/billing/invoices/?overdue=true") == ["Late Co"]
    assert names("/billing/invoices/?amount_min=100") == ["Late Co"]
    assert names("/billing/invoices/?q=fine") == ["Fine Co"]
    assert names("/billing/invoices/?status=issued&sort=total") == ["Fine Co", "Late Co"]
    assert len(names("/billing/invoices/?sort=-issued")) == 3 and len(names("/billing/invoices/?sort=due")) == 3
    for _ in range(55):
        make_invoice(issue=False, lines=simple_lines("1.00"))
    first = client.get("/billing/invoices/?status=draft&sort=-issued")
    second = client.get(f"/billing/invoices/?status=draft&sort=-issued&cursor={first.context['page'].next_cursor}")
    assert len(first.context["object_list"]) == 50 and len(second.context["object_list"]) == 6


def test_detail_shows_lines_credit_notes_history_and_panels(billing_user):
    from invoicing import panels

    invoice = make_invoice(actor=billing_user)
    services.credit_note_create(actor=billing_user, invoice=invoice, reason="Goodwill", amount="5.00")
    provider = lambda inv, user: {"title": "Payments (test panel)", "template": "invoicing/_tenant_invoices.html", "invoices": [], "tenant": inv.tenant}
    panels.register_invoice_panel(provider)
    try:
        page = signed_in(billing_user).get(f"/billing/invoices/{invoice.pk}/").content.decode()
    finally:
        panels._providers.remove(provider)
    assert invoice.number in page and "Add-on" in page and "Goodwill" in page and "invoice.issued" in page
    assert "Payments (test panel)" in page


def test_onboarding_sees_assigned_tenants_only(onboarding_user, billing_user):
    mine, other = TenantFactory(), TenantFactory()
    tenant_assign_onboarding(tenant=mine, user=onboarding_user, actor=billing_user)
    visible, hidden = make_invoice(tenant=mine), make_invoice(tenant=other)
    client = signed_in(onboarding_user)
    assert [i.pk for i in client.get("/billing/invoices/").context["object_list"]] == [visible.pk]
    assert client.get(f"/billing/invoices/{hidden.pk}/").status_code == 404
    page = client.get(f"/billing/invoices/{visible.pk}/").content.decode()
    assert "Issue and send" not in page and "Void" not in page


def test_new_invoice_form_creates_and_sends(billing_user):
    tenant = TenantFactory()
    client = signed_in(billing_user)
    assert client.get(f"/billing/invoice-new/?tenant={tenant.pk}").status_code == 200
    data = {
        "tenant": tenant.pk, "currency": "", "due_date": "", "discount_kind": "percent", "discount_value": "20", "discount_description": "Launch",
        "credit": "", "memo": "Thanks", "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "1", "lines-MAX_NUM_FORMS": "200",
        "lines-0-description": "Plan", "lines-0-quantity": "1", "lines-0-unit_price": "29.00", "lines-0-tax_rate": "20",
        "lines-1-description": "Add-on", "lines-1-quantity": "1", "lines-1-unit_price": "10.00", "lines-1-tax_rate": "20",
        "then": "send",
    }
    response = client.post("/billing/invoice-new/", data)
    invoice = Invoice.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/billing/invoices/{invoice.pk}/"
    assert (invoice.status, invoice.discount, invoice.total) == ("issued", Decimal("7.80"), Decimal("37.44"))


def test_new_invoice_form_shows_engine_errors(billing_user):
    tenant = TenantFactory()
    data = {"tenant": tenant.pk, "discount_kind": "amount", "discount_value": "500", "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
            "lines-0-description": "Plan", "lines-0-quantity": "1", "lines-0-unit_price": "29.00", "lines-0-tax_rate": "0"}
    response = signed_in(billing_user).post("/billing/invoice-new/", data)
    assert response.status_code == 200 and "exceeds the subtotal" in response.content.decode() and not Invoice.objects.exists()


def test_actions_void_and_write_off(billing_user):
    client = signed_in(billing_user)
    invoice = make_invoice(actor=billing_user)
    client.post(f"/billing/invoices/{invoice.pk}/void", {"reason": ""})
    invoice.refresh_from_db()
    assert invoice.status == "issued"
    client.post(f"/billing/invoices/{invoice.pk}/uncollectible", {"reason": "Gone"})
    invoice.refresh_from_db()
    assert invoice.status == "uncollectible"
    refused = client.post(f"/billing/invoices/{invoice.pk}/void", {"reason": "x"}, follow=True)
    assert "cannot move" in refused.content.decode()


def test_invoice_pdf_contains_number_and_total(billing_user):
    tenant = TenantFactory(name="Acme", legal_name="Acme Logistics Ltd", tax_id="TIN-42")
    invoice = make_invoice(actor=billing_user, tenant=tenant, discount={"percent": "20"})
    response = signed_in(billing_user).get(f"/billing/invoices/{invoice.pk}/pdf")
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert invoice.number in text and "37.44" in text and "Acme Logistics Ltd" in text and "TIN-42" in text


def test_csv_export_honours_filters(billing_user):
    make_invoice(tenant=TenantFactory(name="Ünïcode Ltd"), lines=simple_lines("12.30"))
    make_invoice(issue=False)
    response = signed_in(billing_user).get("/billing/invoices/export.csv?status=issued")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))
    assert rows[0][:3] == ["number", "status", "tenant_id"] and len(rows) == 2
    assert rows[1][3] == "Ünïcode Ltd" and rows[1][rows[0].index("total")] == "12.30"


def test_register_pdf_has_totals_per_currency(billing_user):
    make_invoice(tenant=TenantFactory(currency="NGN"), lines=simple_lines("100.00"))
    make_invoice(tenant=TenantFactory(currency="GHS"), lines=simple_lines("7.25"))
    response = signed_in(billing_user).get("/billing/invoices/export.pdf?status=issued")
    text = pdf_text(response.content)
    assert "NGN 100.00" in text and "GHS 7.25" in text


def test_credit_note_screens(billing_user):
    approver = StaffFactory(role="billing", username="approver")
    invoice = make_invoice(actor=billing_user, lines=simple_lines("100.00"))
    client = signed_in(billing_user)
    assert client.get("/billing/credit-note-new/").status_code == 200
    assert client.get(f"/billing/credit-note-new/?invoice={invoice.pk}").status_code == 200
    response = client.post("/billing/credit-note-new/", {"invoice": invoice.pk, "mode": "amount", "amount": "30.00", "reason": "Outage",
                                                         "resolution": "reduce_due"})
    note = CreditNote.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/billing/credit-notes/{note.pk}/"
    assert "Outage" in client.get("/billing/credit-notes/").content.decode()
    client.post(f"/billing/credit-notes/{note.pk}/approve")  # the creator may not approve
    note.refresh_from_db()
    assert note.status == "draft"
    signed_in(approver).post(f"/billing/credit-notes/{note.pk}/approve")
    note.refresh_from_db()
    invoice.refresh_from_db()
    assert note.status == "approved" and invoice.amount_due == Decimal("70.00")
    page = client.get(f"/billing/credit-notes/{note.pk}/").content.decode()
    assert note.number in page
    text = pdf_text(client.get(f"/billing/credit-notes/{note.pk}/pdf").content)
    assert note.number in text and "30.00" in text and invoice.number in text


@pytest.mark.parametrize("count", [2, 30])
def test_credit_note_list_query_count(billing_user, django_assert_max_num_queries, count):
    invoice = make_invoice(actor=billing_user, lines=simple_lines("1000.00"))
    for _ in range(count):
        services.credit_note_create(actor=billing_user, invoice=invoice, reason="x", amount="1.00")
    client = signed_in(billing_user)
    with django_assert_max_num_queries(10):
        assert client.get("/billing/credit-notes/").status_code == 200


def test_tenant_page_lists_recent_invoices(billing_user):
    invoice = make_invoice(actor=billing_user)
    page = signed_in(billing_user).get(f"/clients/tenant/{invoice.tenant_id}/").content.decode()
    assert invoice.number in page


def test_dashboard_shows_receivables(billing_user):
    make_invoice(actor=billing_user, lines=simple_lines("1234.50"))
    page = signed_in(billing_user).get("/billing/").content.decode()
    assert "Receivables" in page and "NGN 1,234.50" in page


def test_csv_cells_cannot_become_formulas(billing_user):
    make_invoice(tenant=TenantFactory(name="=HYPERLINK(\"http://x\")"), lines=simple_lines("5.00"))
    body = b"".join(signed_in(billing_user).get("/billing/invoices/export.csv").streaming_content).decode()
    row = list(csv.reader(io.StringIO(body)))[1]
    assert row[3] == "'=HYPERLINK(\"http://x\")" and row[row.index("5.00")] == "5.00"
