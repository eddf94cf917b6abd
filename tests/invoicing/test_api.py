"""The JSON API of CONTRACT §4/§10 for invoices and credit notes."""
from decimal import Decimal

import pytest

from accounts.services import tenant_assign_onboarding
from tests.conftest import api_client_for
from tests.factories import StaffFactory, TenantFactory
from tests.invoicing.factories import make_invoice, with_credit

pytestmark = pytest.mark.django_db

BODY = {
    "currency": "NGN",
    "lines": [{"description": "Plan", "quantity": "1", "unit_price": "29.00", "tax_rate": "20"},
              {"description": "Add-on", "quantity": "1", "unit_price": "10.00", "tax_rate": "20"}],
    "discount": {"percent": "20"},
    "credit": "5.00",
}


def test_create_draft_matches_contract(api):
    tenant = with_credit(TenantFactory(), "5.00")
    response = api.post("/api/invoices/", {**BODY, "tenant": tenant.pk}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["number"]) == ("draft", None)
    assert {k: body[k] for k in ("subtotal", "discount", "credit_applied", "tax", "total", "amount_due")} == {
        "subtotal": "39.00", "discount": "7.80", "credit_applied": "5.00", "tax": "5.24", "total": "31.44", "amount_due": "31.44"}
    line = body["lines"][0]
    assert {k: line[k] for k in ("description", "quantity", "unit_price", "tax_rate", "net", "tax", "total")} == {
        "description": "Plan", "quantity": "1", "unit_price": "29.00", "tax_rate": "20", "net": "19.48", "tax": "3.90", "total": "23.38"}

    sent = api.post(f"/api/invoices/{body['id']}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "issued" and sent.json()["number"].startswith("INV-")
    again = api.get(f"/api/invoices/{body['id']}/").json()
    assert again["number"] == sent.json()["number"]


def test_credit_beyond_balance_is_400(api):
    tenant = with_credit(TenantFactory(), "1.00")
    response = api.post("/api/invoices/", {**BODY, "tenant": tenant.pk}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "insufficient_credit"


@pytest.mark.parametrize("patch", [{"lines": []}, {"lines": [{"description": "x", "unit_price": 1.5}]}, {"discount": {"percent": "20", "amount": "1.00"}},
                                   {"credit": "1.001"}])
def test_invalid_bodies_are_400(api, patch):
    response = api.post("/api/invoices/", {**BODY, "credit": None, "tenant": TenantFactory().pk, **patch}, format="json")
    assert response.status_code == 400 and "error" in response.json()


def test_void_needs_reason_and_refuses_twice(api):
    invoice = make_invoice()
    assert api.post(f"/api/invoices/{invoice.pk}/void", {}, format="json").status_code == 400
    assert api.post(f"/api/invoices/{invoice.pk}/void", {"reason": "dup"}, format="json").json()["status"] == "void"
    conflict = api.post(f"/api/invoices/{invoice.pk}/void", {"reason": "dup"}, format="json")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "transition_not_allowed"


def test_list_filters_and_pages(api):
    paid_tenant = TenantFactory(name="Findable")
    make_invoice(tenant=paid_tenant)
    make_invoice(issue=False)
    body = api.get("/api/invoices/?status=issued").json()
    assert [item["tenant_name"] for item in body["results"]] == ["Findable"] and body["next"] is None
    assert len(api.get("/api/invoices/?q=findable").json()["results"]) == 1
    assert len(api.get(f"/api/invoices/?tenant={paid_tenant.pk}").json()["results"]) == 1


def test_preview_uses_the_engine(api):
    response = api.post("/api/invoices/preview", {**BODY, "credit": "5.00"}, format="json")
    assert response.status_code == 200 and response.json()["total"] == "31.44"
    bad = api.post("/api/invoices/preview", {**BODY, "discount": {"amount": "100.00"}}, format="json")
    assert bad.status_code == 400


def test_credit_note_flow(api, billing_user):
    invoice = make_invoice(actor=billing_user)
    created = api.post("/api/credit-notes/", {"invoice": invoice.pk, "amount": "10.00", "reason": "Sorry", "resolution": "reduce_due"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["number"], body["amount"]) == ("draft", None, "10.00")
    same_person = api.post(f"/api/credit-notes/{body['id']}/approve")
    assert same_person.status_code == 403
    other = api_client_for(StaffFactory(role="super_admin", username="boss"))
    approved = other.post(f"/api/credit-notes/{body['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved" and approved.json()["number"].startswith("CN-")
    assert api.get(f"/api/invoices/{invoice.pk}/").json()["amount_due"] == str(invoice.total - Decimal("10.00"))
    assert other.post(f"/api/credit-notes/{body['id']}/approve").status_code == 409
    too_much = api.post("/api/credit-notes/", {"invoice": invoice.pk, "amount": "999.00", "reason": "x"}, format="json")
    assert too_much.status_code == 400


def test_onboarding_sees_only_assigned_tenants(onboarding_user, billing_user):
    mine, other = TenantFactory(), TenantFactory()
    tenant_assign_onboarding(tenant=mine, user=onboarding_user, actor=billing_user)
    visible, hidden = make_invoice(tenant=mine), make_invoice(tenant=other)
    client = api_client_for(onboarding_user)
    assert [i["id"] for i in client.get("/api/invoices/").json()["results"]] == [visible.pk]
    assert client.get(f"/api/invoices/{hidden.pk}/").status_code == 404
