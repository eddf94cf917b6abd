"""In a real browser: onboarding staff preview a prorated change line by line, then apply it."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.services import tenant_assign_onboarding
from subscriptions.models import PendingProration
from tests.subscriptions.factories import addon_price, make_subscription

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_onboarding_previews_then_applies_a_prorated_change(page, login, onboarding_user, billing_user, screenshot):
    today = timezone.now().date()
    sub = make_subscription(start=today - timedelta(days=5), end=today + timedelta(days=25))
    tenant_assign_onboarding(tenant=sub.tenant, user=onboarding_user, actor=billing_user)
    addon = addon_price(amount="3000.00", nickname="Priority support")
    login(onboarding_user)
    page.goto(f"/clients/tenant/{sub.tenant_id}/")
    page.click("text=Manage subscription")
    page.select_option("#id_add_price", str(addon.pk))
    page.click("button[value=preview]")
    assert page.inner_text("#preview-total") == "NGN 2,500.00"  # 3,000.00 × 25/30
    assert "Remaining time on Priority support" in page.inner_text("#preview")
    screenshot("subscription-change-preview")
    page.click("button[value=apply]")
    page.wait_for_selector(".message.success")
    assert [p.amount for p in PendingProration.objects.all()] == [Decimal("2500.00")]
    screenshot("subscription-change-applied")


def test_billing_suspends_from_the_detail_page_with_a_reason(page, login, billing_user, screenshot):
    sub = make_subscription()
    login(billing_user)
    page.click("text=Subscriptions")
    page.click(f"text=#{sub.pk}")
    page.select_option("#status-action", "suspended")
    page.fill("#status-reason", "Card declined three times")
    page.click("form[action$='/status/'] button[type=submit]")
    page.wait_for_selector(".message.success")
    assert "Suspended" in page.inner_text("h1")
    screenshot("subscription-suspended")
    sub.refresh_from_db()
    assert sub.status == "suspended"
