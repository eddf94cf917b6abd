"""Payments screens: list (filters, sort, pages, constant queries), detail, manual form, panels."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import Client

from payments.models import Payment
from payments.panels import invoice_panel, tenant_panel
from tests.factories import InvoiceFactory, TenantFactory
from tests.payments.factories import PaymentFactory, PaymentMethodFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("count", [3, 60])
def test_list_query_count_does_not_grow(billing_user, django_assert_max_num_queries, count):
    for _ in range(count):
        PaymentFactory(method="card", card_brand="visa", card_last4="4081")
    client = signed_in(billing_user)
    with django_assert_max_num_queries(10):
        response = client.get("/billing/payments/?sort=-amount")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == min(count, 50)


def test_list_filters_sort_and_pages(billing_user):
    tenant = TenantFactory(name="Findable Foods")
    PaymentFactory(invoice=InvoiceFactory(tenant=tenant), status="failed", amount=Decimal("5.00"), reference="FIND-ME-1")
    for _ in range(55):
        PaymentFactory()
    client = signed_in(billing_user)
    assert [p.reference for p in client.get("/billing/payments/?q=findable").context["object_list"]] == ["FIND-ME-1"]
    assert [p.reference for p in client.get("/billing/payments/?status=failed").context["object_list"]] == ["FIND-ME-1"]
    assert client.get("/billing/payments/?sort=amount").context["object_list"][0].reference == "FIND-ME-1"
    first = client.get("/billing/payments/?status=succeeded")
    second = client.get(f"/billing/payments/?status=succeeded&cursor={first.context['page'].next_cursor}")
    assert len(first.context["object_list"]) == 50 and len(second.context["object_list"]) == 5
    assert client.get(f"/billing/payments/?tenant={tenant.pk}").context["object_list"][0].reference == "FIND-ME-1"


def test_onboarding_sees_only_assigned_tenants_payments(onboarding_user, billing_user):
    from accounts.services import tenant_assign_onboarding

    mine = PaymentFactory()
    other = PaymentFactory()
    tenant_assign_onboarding(tenant=mine.tenant, user=onboarding_user, actor=billing_user)
    client = signed_in(onboarding_user)
    assert [p.pk for p in client.get("/billing/payments/").context["object_list"]] == [mine.pk]
    assert client.get(f"/billing/payments/{other.pk}/").status_code == 404
    assert client.get(f"/billing/payments/{mine.pk}/").status_code == 200


def test_manual_payment_form(billing_user):
    invoice = InvoiceFactory(total=Decimal("80.00"), amount_due=Decimal("80.00"))
    client = signed_in(billing_user)
    page = client.get(f"/billing/payments/new/?invoice={invoice.pk}")
    assert page.status_code == 200 and "80.00" in page.content.decode()
    too_much = client.post(f"/billing/payments/new/?invoice={invoice.pk}",
                           {"invoice": invoice.pk, "amount": "90.00", "method": "bank_transfer"})
    assert too_much.status_code == 200 and "exceeds the amount due" in too_much.content.decode()
    assert not Payment.objects.exists()
    done = client.post(f"/billing/payments/new/?invoice={invoice.pk}",
                       {"invoice": invoice.pk, "amount": "90.00", "method": "bank_transfer", "reference": "NIP-1",
                        "overpayment_to_credit": "on"})
    payment = Payment.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/billing/payments/{payment.pk}/"
    assert (payment.applied_amount, payment.credited_amount) == (Decimal("80.00"), Decimal("10.00"))
    detail = client.get(done["Location"]).content.decode()
    assert "NIP-1" in detail and "payment.succeeded" in detail


def test_tenant_page_shows_saved_cards(billing_user):
    card = PaymentMethodFactory(brand="mastercard", last4="8877")
    other = PaymentMethodFactory(tenant=card.tenant, is_default=False, last4="1111", authorization_code="AUTH_other1")
    client = signed_in(billing_user)
    page = client.get(f"/clients/tenant/{card.tenant.pk}/").content.decode()
    assert "mastercard •••• 8877" in page and "Make default" in page and card.authorization_code not in page
    client.post(f"/billing/payment-methods/{other.pk}/default/")
    other.refresh_from_db()
    card.refresh_from_db()
    assert other.is_default and not card.is_default
    assert tenant_panel(card.tenant, billing_user)["cards"][0] == other


def test_invoice_panel_renders_payments_and_forms(billing_user, rf):
    invoice = InvoiceFactory()
    PaymentMethodFactory(tenant=invoice.tenant)
    PaymentFactory(invoice=invoice, amount=Decimal("10.00"), reference="SEEN-ON-INVOICE")
    panel = invoice_panel(invoice, billing_user)
    request = rf.get("/")
    request.user = billing_user
    html = render_to_string(panel["template"], {"panel": panel}, request=request)
    assert "SEEN-ON-INVOICE" in html and "Record a manual payment" in html and "Charge" in html


@pytest.mark.parametrize("count", [2, 30])
def test_review_list_and_api_list_query_counts_do_not_grow(billing_user, api, django_assert_max_num_queries, count):
    from payments.models import WebhookEvent

    for i in range(count):
        payment = PaymentFactory()
        WebhookEvent.objects.create(event="charge.success", dedupe_key=f"k{i}", raw_body="{}", payload={}, reference=f"R{i}",
                                    status="review", needs_review=True, review_reason="Unknown reference", payment=payment)
    client = signed_in(billing_user)
    with django_assert_max_num_queries(10):
        page = client.get("/billing/payments/review/")
    assert page.status_code == 200 and len(page.context["object_list"]) == count
    with django_assert_max_num_queries(6):
        listed = api.get("/api/payments/")
    assert len(listed.json()["results"]) == count
