"""Meters: API and screens (billing.write), audit, validation."""
from decimal import Decimal

import pytest

from accounts.models import AuditEntry
from subscriptions.usage_models import Meter
from tests.factories import PriceFactory
from tests.usage.factories import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def price():
    return PriceFactory(pricing_model="per_unit", unit_amount=Decimal("0.50"))


def test_create_meter_via_api(api, price):
    response = api.post("/api/meters/", {"code": "api-calls", "name": "API calls", "unit": "calls",
                                         "aggregation": "sum", "price": price.pk}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["currency"] == "NGN"
    meter = Meter.objects.get()
    assert AuditEntry.objects.filter(action="meter.created", object_id=str(meter.pk)).exists()


def test_code_is_unique_per_currency(api, price):
    MeterFactory(code="calls", price=price)
    response = api.post("/api/meters/", {"code": "calls", "name": "x", "unit": "x", "aggregation": "sum", "price": price.pk}, format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"] == {"code": ["Already used in this currency."]}
    usd = PriceFactory(currency="USD", pricing_model="per_unit", unit_amount=Decimal("1.00"))
    response = api.post("/api/meters/", {"code": "calls", "name": "x", "unit": "x", "aggregation": "sum", "price": usd.pk}, format="json")
    assert response.status_code == 201


def test_count_distinct_needs_a_property(api, price):
    response = api.post("/api/meters/", {"code": "users", "name": "Users", "unit": "users",
                                         "aggregation": "count_distinct", "price": price.pk}, format="json")
    assert response.status_code == 400 and "property" in response.json()["error"]["fields"]


def test_patch_meter_and_refuse_price_in_other_currency(api, price):
    meter = MeterFactory(price=price)
    assert api.patch(f"/api/meters/{meter.pk}/", {"name": "Renamed"}, format="json").json()["name"] == "Renamed"
    usd = PriceFactory(currency="USD")
    response = api.patch(f"/api/meters/{meter.pk}/", {"price": usd.pk}, format="json")
    assert response.status_code == 400
    meter.refresh_from_db()
    assert meter.price == price


def test_meter_screens(client, billing_user, onboarding_user, price):
    client.force_login(billing_user)
    response = client.post("/billing/meter-new/", {"code": "gb", "name": "Storage", "unit": "GB", "aggregation": "max",
                                                   "price": price.pk, "active": "on"})
    assert response.status_code == 302
    meter = Meter.objects.get(code="gb")
    assert "Storage" in client.get("/billing/meters/").content.decode()
    response = client.post(f"/billing/meters/{meter.pk}/edit/", {"name": "Storage peak", "unit": "GB", "aggregation": "max",
                                                                 "price": price.pk, "active": "on"})
    assert response.status_code == 302
    meter.refresh_from_db()
    assert meter.name == "Storage peak" and meter.code == "gb"
    client.force_login(onboarding_user)
    assert client.get("/billing/meters/").status_code == 200
    assert client.post("/billing/meter-new/", {"code": "x"}).status_code == 403


def test_meter_list_query_count_is_fixed(client, billing_user, django_assert_max_num_queries):
    for _ in range(15):
        MeterFactory()
    client.force_login(billing_user)
    with django_assert_max_num_queries(12):
        assert client.get("/billing/meters/").status_code == 200
