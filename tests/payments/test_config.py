"""Paystack configuration: encrypted at rest, masked everywhere, audited without the secret, test connection."""
from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import AuditEntry
from payments.models import PaystackConfig
from tests.conftest import api_client_for
from tests.payments.conftest import FAKE_SECRET

pytestmark = pytest.mark.django_db
LIVE_SECRET = "sk_live_4f8e2c1d9a7b6e5f0c3d2a1b9e8f1234"


def test_put_masks_encrypts_and_audits_without_the_secret(super_admin):
    api = api_client_for(super_admin)
    response = api.put("/api/payment-config/", {"mode": "live", "live_secret_key": LIVE_SECRET,
                                                 "live_public_key": "pk_live_0123456789abcdef5678"}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["mode"] == "live" and data["live_secret_key"] == "sk_live_••••••••1234"
    assert data["webhook_url"].endswith("/webhooks/paystack") and data["callback_url"].startswith("http")
    assert LIVE_SECRET not in response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT live_secret_key FROM payments_paystackconfig")
        stored = cursor.fetchone()[0]
    assert LIVE_SECRET not in stored and PaystackConfig.load().live_secret_key == LIVE_SECRET
    entry = AuditEntry.objects.get(action="payments.config_updated")
    assert LIVE_SECRET not in str(entry.before) + str(entry.after) and entry.after["live_secret_key"] == "sk_live_••••••••1234"
    assert api.get("/api/payment-config/").json()["live_secret_key"] == "sk_live_••••••••1234"


def test_omitted_keys_keep_their_value_and_bad_keys_are_400(super_admin):
    api = api_client_for(super_admin)
    api.put("/api/payment-config/", {"mode": "test", "test_secret_key": FAKE_SECRET}, format="json")
    assert api.put("/api/payment-config/", {"mode": "test"}, format="json").status_code == 200
    assert PaystackConfig.load().test_secret_key == FAKE_SECRET
    bad = api.put("/api/payment-config/", {"test_secret_key": "pk_test_notasecret000000"}, format="json")
    assert bad.status_code == 400 and "test_secret_key" in bad.json()["error"]["fields"]
    no_live = api.put("/api/payment-config/", {"mode": "live"}, format="json")
    assert no_live.status_code == 400 and PaystackConfig.load().mode == "test"


@pytest.mark.parametrize("user_fixture", ["billing_user", "onboarding_user"])
def test_billing_and_onboarding_get_403(request, user_fixture):
    api = api_client_for(request.getfixturevalue(user_fixture))
    assert api.get("/api/payment-config/").status_code == 403
    assert api.put("/api/payment-config/", {"mode": "test"}, format="json").status_code == 403
    assert api.post("/api/payment-config/test-connection").status_code == 403
    assert not PaystackConfig.objects.exists()


def test_test_connection_reports_ok_invalid_key_and_unreachable(super_admin, paystack, settings, closed_port_url):
    api = api_client_for(super_admin)
    assert api.post("/api/payment-config/test-connection").json()["result"] == "ok"
    api.put("/api/payment-config/", {"test_secret_key": "sk_test_wrongkey00000000000000"}, format="json")
    assert api.post("/api/payment-config/test-connection").json()["result"] == "invalid_key"
    settings.PAYSTACK_BASE_URL = closed_port_url
    assert api.post("/api/payment-config/test-connection").json()["result"] == "unreachable"
    assert not paystack.charges  # never a charge
    results = [e.after["result"] for e in AuditEntry.objects.filter(action="payments.config_tested").order_by("id")]
    assert results == ["ok", "invalid_key", "unreachable"]


def test_not_configured(super_admin):
    assert api_client_for(super_admin).post("/api/payment-config/test-connection").json()["result"] == "not_configured"


def test_config_screen(super_admin, client, paystack):
    client.force_login(super_admin)
    page = client.get("/billing/payment-config/").content.decode()
    assert "sk_test_••••••••1234" in page and FAKE_SECRET not in page and "/webhooks/paystack" in page
    response = client.post("/billing/payment-config/", {"mode": "test", "test_public_key": "", "test_secret_key": "",
                                                         "live_public_key": "", "live_secret_key": ""})
    assert response.status_code == 302 and PaystackConfig.load().test_secret_key == FAKE_SECRET
    bad = client.post("/billing/payment-config/", {"mode": "live"})
    assert bad.status_code == 200 and "live secret key" in bad.content.decode()
    tested = client.post("/billing/payment-config/test/", follow=True).content.decode()
    assert "Connected to Paystack" in tested


def test_repr_and_logs_never_show_keys(paystack, caplog):
    config = PaystackConfig.load()
    assert FAKE_SECRET not in repr(config)
    from payments.services import build_gateway

    assert FAKE_SECRET not in repr(build_gateway())
