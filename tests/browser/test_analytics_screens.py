"""Analytics and usage screens in a real browser (skipped without Chromium, like tests/browser)."""
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.analytics.test_metrics import plan, sub
from tests.factories import InvoiceFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_analytics_screen_renders_charts_and_downloads_csv(login, page, screenshot, billing_user):
    today = timezone.now().date()
    basic, pro = plan("100.00", name="Basic"), plan("1200.00", "yearly", name="Pro annual")
    for months_ago in range(11, -1, -1):
        start = (today.replace(day=1) - dt.timedelta(days=30 * months_ago)).replace(day=1)
        for _ in range(1 + months_ago % 3):
            sub(TenantFactory(), basic if months_ago % 2 else pro, start)
        InvoiceFactory(issue_date=start, total=Decimal("500.00") + months_ago * 20)
    old = sub(TenantFactory(), basic, dt.date(2025, 1, 1), status="canceled",
              ended_at=timezone.now() - dt.timedelta(days=60), canceled_at=timezone.now() - dt.timedelta(days=60))
    assert old.pk
    login(billing_user)
    page.goto("/billing/analytics/")
    assert page.locator("svg.chart").count() == 3
    assert page.locator("svg.chart rect").count() > 10
    screenshot("analytics")
    with page.expect_download() as download:
        page.click("text=Download CSV >> nth=1")
    assert download.value.suggested_filename == "analytics-monthly-NGN.csv"
    page.goto("/billing/")
    assert page.locator("text=Recurring revenue").count() == 1
    screenshot("dashboard-mrr")
