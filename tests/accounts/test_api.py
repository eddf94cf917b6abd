from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEntry, Tenant
from accounts.services import tenant_assign_onboarding
from tests.conftest import api_client_for
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_create_tenant_returns_contract_fields(api):
    response = api.post("/api/tenants/", {"name": "Acme", "billing_email": "b@acme.example", "currency": "NGN", "country": "NG"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "active" and body["credit_balance"] == "0.00" and body["id"]
    assert "deployment_webhook_secret" not in body


def test_invalid_tenant_is_400_with_fields_and_nothing_written(api):
    response = api.post("/api/tenants/", {"name": "", "billing_email": "nope", "currency": "XYZ"}, format="json")
    error = assert_error(response, 400, "invalid")
    assert {"name", "billing_email", "currency", "country"} <= set(error["fields"])
    assert not Tenant.objects.exists() and not AuditEntry.objects.exists()


def test_malformed_json_is_400(api):
    response = api.post("/api/tenants/", data="{not json", content_type="application/json")
    assert_error(response, 400, "malformed")


def test_unknown_tenant_and_unknown_api_path_are_json_404(api):
    assert_error(api.get("/api/tenants/999999/"), 404, "not_found")
    assert_error(api.get("/api/no-such-thing/"), 404, "not_found")


def test_anonymous_is_401_and_onboarding_write_is_403(onboarding_user):
    assert_error(APIClient().get("/api/tenants/"), 401, "not_authenticated")
    response = api_client_for(onboarding_user).post("/api/tenants/", {"name": "X"}, format="json")
    assert_error(response, 403, "permission_denied")
    assert not Tenant.objects.exists()


def test_patch_tenant(api):
    tenant = TenantFactory(name="Before")
    response = api.patch(f"/api/tenants/{tenant.pk}/", {"name": "After", "status": "closed"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "After"
    assert response.json()["status"] == "active"  # status is not writable here; it has its own services


def test_add_credit(api):
    tenant = TenantFactory(currency="USD")
    response = api.post(f"/api/tenants/{tenant.pk}/credit", {"amount": "5.00", "reason": "Goodwill"}, format="json")
    assert response.status_code == 201 and response.json()["credit_balance"] == "5.00"
    for bad in ("-1.00", "1.234", 2.5, "abc"):
        assert_error(api.post(f"/api/tenants/{tenant.pk}/credit", {"amount": bad, "reason": "x"}, format="json"), 400)
    tenant.refresh_from_db()
    assert tenant.credit_balance == Decimal("5.00")


def test_onboarding_sees_only_assigned_tenants_in_the_api(onboarding_user, billing_user):
    mine, other = TenantFactory(), TenantFactory()
    tenant_assign_onboarding(tenant=mine, user=onboarding_user, actor=billing_user)
    client = api_client_for(onboarding_user)
    assert [t["id"] for t in client.get("/api/tenants/").json()["results"]] == [mine.pk]
    assert client.get(f"/api/tenants/{mine.pk}/").status_code == 200
    assert_error(client.get(f"/api/tenants/{other.pk}/"), 404)


def test_list_filters_and_cursor_pagination(api):
    for i in range(5):
        TenantFactory(name=f"Alpha {i}", currency="NGN")
    TenantFactory(name="Beta", currency="USD")
    body = api.get("/api/tenants/?currency=USD").json()
    assert [t["name"] for t in body["results"]] == ["Beta"] and body["next"] is None
    first = api.get("/api/tenants/?page_size=2").json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) == 2 and not {t["id"] for t in first["results"]} & {t["id"] for t in second["results"]}


def test_token_authentication(billing_user):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=billing_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/tenants/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert_error(client.get("/api/tenants/"), 401)


def test_openapi_schema_is_served(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert "/api/tenants/" in response.json()["paths"]
