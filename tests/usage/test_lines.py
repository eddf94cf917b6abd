"""Usage invoice lines priced by the meter's price and pricing model; usage-so-far API and screens."""
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from invoicing.amounts import LineInput, compute_invoice
from subscriptions.usage import usage_lines_for_period
from tests.factories import PriceFactory, SubscriptionFactory
from tests.usage.factories import MeterFactory, UsageEventFactory

pytestmark = pytest.mark.django_db
NOV = dict(period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 12, 1))


def _events(sub, meter, *values):
    for i, v in enumerate(values):
        UsageEventFactory(subscription=sub, meter=meter, value=Decimal(v), timestamp=dt.datetime(2026, 11, 3 + i, tzinfo=dt.UTC))


def test_per_unit_line_is_quantity_times_unit_price():
    sub = SubscriptionFactory()
    meter = MeterFactory(name="API calls", unit="calls",
                         price=PriceFactory(pricing_model="per_unit", unit_amount=Decimal("2.00"), tax_rate=Decimal("7.5")))
    _events(sub, meter, "10", "4.5")
    lines = usage_lines_for_period(subscription=sub, **NOV)
    assert lines == [{
        "description": "API calls: 14.5 calls (2026-11-01 – 2026-11-30)",
        "quantity": Decimal("14.5"), "unit_price": Decimal("2.00"), "tax_rate": Decimal("7.5"), "kind": "usage",
    }]
    invoice = compute_invoice(currency="NGN", lines=[LineInput(**line) for line in lines])
    assert invoice.subtotal == Decimal("29.00") and invoice.tax == Decimal("2.18") and invoice.total == Decimal("31.18")


@pytest.mark.parametrize("price_kwargs,expected", [
    # graduated: 10 × 1.00 + 4.5 × 0.50 = 12.25
    (dict(pricing_model="tiered", unit_amount=None, tiers=[{"up_to": "10", "unit_price": "1.00"}, {"up_to": None, "unit_price": "0.50"}]), "12.25"),
    # volume: 14.5 falls in the second tier, every unit at 0.50 plus its 3.00 fee = 10.25
    (dict(pricing_model="volume", unit_amount=None, tiers=[{"up_to": "10", "unit_price": "1.00"}, {"up_to": None, "unit_price": "0.50", "flat_fee": "3.00"}]), "10.25"),
    # package of 10 at 5.00: 14.5 units take 2 packages
    (dict(pricing_model="package", unit_amount=Decimal("5.00"), package_size=10), "10.00"),
    # flat fee for the meter whatever the usage
    (dict(pricing_model="flat", unit_amount=Decimal("50.00")), "50.00"),
])
def test_other_pricing_models_give_one_line_with_the_priced_amount(price_kwargs, expected):
    sub = SubscriptionFactory()
    meter = MeterFactory(price=PriceFactory(**price_kwargs))
    _events(sub, meter, "10", "4.5")
    [line] = usage_lines_for_period(subscription=sub, **NOV)
    assert (line["quantity"], line["unit_price"], line["kind"]) == (Decimal("1"), Decimal(expected), "usage")
    assert "14.5" in line["description"]


def test_meters_without_usage_add_no_line_and_other_currencies_are_ignored():
    sub = SubscriptionFactory()
    MeterFactory()
    used = MeterFactory(code="used")
    usd = MeterFactory(code="used", price=PriceFactory(currency="USD", pricing_model="per_unit", unit_amount=Decimal("1.00")))
    _events(sub, used, "3")
    lines = usage_lines_for_period(subscription=sub, **NOV)
    assert len(lines) == 1 and lines[0]["unit_price"] == Decimal("2.00") and lines[0]["quantity"] == Decimal("3")
    assert usd.currency == "USD"


def test_subscription_usage_api_shows_usage_so_far_and_preview(api, onboarding_user):
    today = timezone.now().date()
    start = today.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    sub = SubscriptionFactory(billing_anchor=start, current_period_start=start, current_period_end=end)
    meter = MeterFactory(code="calls", name="Calls", price=PriceFactory(pricing_model="per_unit", unit_amount=Decimal("1.50")))
    UsageEventFactory(subscription=sub, meter=meter, value=Decimal("4"), timestamp=timezone.now())
    body = api.get(f"/api/subscriptions/{sub.pk}/usage").json()
    assert body["currency"] == "NGN" and body["period_start"] == start.isoformat()
    assert body["meters"] == [{"meter": "calls", "name": "Calls", "unit": "calls", "aggregation": "sum",
                               "quantity": "4", "events": 1, "amount": "6.00"}]
    assert body["preview"]["total"] == "6.00" and body["preview"]["lines"][0]["kind"] == "usage"

    from tests.conftest import api_client_for

    # onboarding staff see only assigned tenants
    assert api_client_for(onboarding_user).get(f"/api/subscriptions/{sub.pk}/usage").status_code == 404


def test_usage_panel_on_the_tenant_page(client, billing_user):
    today = timezone.now().date()
    start = today.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    sub = SubscriptionFactory(billing_anchor=start, current_period_start=start, current_period_end=end)
    meter = MeterFactory(name="Seats used", unit="seats", aggregation="max")
    UsageEventFactory(subscription=sub, meter=meter, value=Decimal("12"), timestamp=timezone.now())
    client.force_login(billing_user)
    html = client.get(f"/clients/tenant/{sub.tenant_id}/").content.decode()
    assert "Usage this period" in html and "Seats used" in html and "NGN 24.00" in html


def test_usage_summary_template_tag_renders():
    from django.template import Context, Template

    sub = SubscriptionFactory()
    MeterFactory(name="Storage")
    html = Template("{% load usage_tags %}{% usage_summary sub %}").render(Context({"sub": sub}))
    assert "Storage" in html and "Preview as invoice" in html


def test_usage_is_billed_in_arrears_for_the_previous_period():
    from subscriptions.usage import usage_lines_for_previous_period

    sub = SubscriptionFactory(billing_anchor=dt.date(2026, 10, 1), current_period_start=dt.date(2026, 11, 1),
                              current_period_end=dt.date(2026, 12, 1))
    meter = MeterFactory(name="Calls", unit="calls")
    UsageEventFactory(subscription=sub, meter=meter, value=Decimal("3"), timestamp=dt.datetime(2026, 10, 31, 23, 59, tzinfo=dt.UTC))
    UsageEventFactory(subscription=sub, meter=meter, value=Decimal("100"), timestamp=dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC))
    lines, period = usage_lines_for_previous_period(subscription=sub)
    assert period == (dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    assert [line["quantity"] for line in lines] == [Decimal("3")]
    first = SubscriptionFactory()  # anchor = period start: nothing before it
    assert usage_lines_for_previous_period(subscription=first) == ([], None)


def test_usage_section_on_the_subscription_screen(client, billing_user):
    today = timezone.now().date()
    start = today.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    sub = SubscriptionFactory(billing_anchor=start, current_period_start=start, current_period_end=end)
    client.force_login(billing_user)
    assert "Usage this period" not in client.get(f"/billing/subscriptions/{sub.pk}/").content.decode()
    meter = MeterFactory(name="Minutes", unit="min")
    UsageEventFactory(subscription=sub, meter=meter, value=Decimal("7"), timestamp=timezone.now())
    html = client.get(f"/billing/subscriptions/{sub.pk}/").content.decode()
    assert "Usage this period" in html and "Minutes" in html and "NGN 14.00" in html
