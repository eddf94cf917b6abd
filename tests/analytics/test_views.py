"""The analytics screen, its CSV downloads and the dashboard MRR panel."""
import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from tests.analytics.test_metrics import plan, sub
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paying():
    today = timezone.now().date()
    anchor = today.replace(day=1) - dt.timedelta(days=40)
    ngn = sub(TenantFactory(), plan("1200.00", "yearly", name="Annual"), anchor)
    usd = sub(TenantFactory(currency="USD"), plan("30.00", currency="USD", name="Starter"), anchor)
    return ngn, usd


def test_analytics_page_per_currency_with_svg_charts(client, onboarding_user, paying):
    client.force_login(onboarding_user)  # onboarding staff read analytics (there is nothing to change)
    html = client.get("/billing/analytics/").content.decode()
    assert "<svg" in html and "MRR movement" in html and "Invoiced vs collected" in html
    assert "NGN 100.00" in html and "USD" in html
    assert "https://" not in html.split("<main", 1)[-1] or "cdn" not in html.lower()
    usd = client.get("/billing/analytics/?currency=USD").content.decode()
    assert "USD 30.00" in usd and "Starter" in usd and "Annual" not in usd
    assert client.get("/billing/analytics/?currency=XXX").status_code == 404


def test_monthly_csv(client, billing_user, paying):
    client.force_login(billing_user)
    response = client.get("/billing/analytics/export.csv?currency=NGN")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header, data = rows[0], rows[1:]
    assert header[:3] == ["currency", "month", "starting_mrr"] and "ltv" in header and "collected" in header
    assert len(data) == 12
    last = dict(zip(header, data[-1], strict=True))
    assert last["mrr"] == "100.00" and last["partial"] == "true" and last["currency"] == "NGN"


def test_plans_csv(client, billing_user, paying):
    client.force_login(billing_user)
    rows = list(csv.reader(io.StringIO(client.get("/billing/analytics/export.csv?table=plans&currency=USD").content.decode())))
    assert rows == [["currency", "plan", "subscriptions", "mrr"], ["USD", "Starter", "1", "30.00"]]
    assert client.get("/billing/analytics/export.csv?table=nope").status_code == 404


def test_empty_analytics(client, billing_user):
    client.force_login(billing_user)
    assert "No revenue yet" in client.get("/billing/analytics/").content.decode()


def test_dashboard_mrr_panel_per_currency(client, billing_user, paying):
    client.force_login(billing_user)
    html = client.get("/billing/").content.decode()
    assert "Recurring revenue" in html and "MRR (NGN)" in html and "MRR (USD)" in html  # one row per currency
    assert "<strong>100.00</strong>" in html and "<strong>30.00</strong>" in html
    assert "/billing/analytics/" in html


def test_analytics_query_count_does_not_grow_with_subscriptions(client, billing_user, paying):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(billing_user)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/billing/analytics/").status_code == 200
        return len(ctx)

    before = count()
    basic = plan("10.00", name="Many")
    anchor = timezone.now().date() - dt.timedelta(days=100)
    for _ in range(20):
        sub(TenantFactory(), basic, anchor)
    assert count() == before
    assert before < 60  # a fixed number per month shown (snapshot look-ups, invoice sums), none per subscription
