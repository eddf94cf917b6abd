"""In a real browser: billing staff work the dunning queue, suspend a case with a reason, preview the policy."""
import pytest

from dunning.models import DunningCase
from tests.dunning.factories import make_invoice, open_case
from tests.factories import TenantFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_queue_bulk_remind_then_suspend_from_the_case_page(page, login, billing_user, screenshot):
    first = open_case(make_invoice(tenant=TenantFactory(name="Acme Logistics"), total="1500.00"))
    open_case(make_invoice(tenant=TenantFactory(name="Kumasi Foods", currency="GHS"), total="130.00"))
    login(billing_user)
    page.click("nav >> text=Dunning")
    assert "NGN 1,500.00" in page.inner_text("main") and "GHS 130.00" in page.inner_text("main")
    page.check(f"input[name=case][value='{first.pk}']")
    page.click("text=Send next reminder to selected")
    page.wait_for_selector(".message.success")
    screenshot("dunning-queue")
    assert DunningCase.objects.get(pk=first.pk).step == 2

    page.click(f"text=#{first.pk}")
    page.fill("input[aria-label='Reason for suspension']", "Customer unreachable")
    page.click("text=Suspend subscription and tenant")
    page.wait_for_selector(".message.success")
    assert "Suspended" in page.inner_text("h1")
    screenshot("dunning-case-suspended")
    first.refresh_from_db()
    first.tenant.refresh_from_db()
    assert first.status == "suspended" and first.tenant.status == "suspended"


def test_policy_preview_shows_the_timeline(page, login, billing_user, screenshot):
    login(billing_user)
    page.click("nav >> text=Dunning policy")
    page.fill("#failure_date", "2026-11-01")
    page.fill("#due_date", "2026-11-01")
    page.click("text=Show saved policy for these dates")
    table = page.inner_text("table[aria-label='Timeline preview']")
    assert "2026-11-20" in table and "Suspension" in table
    page.fill("#id_retry_interval_days", "1, 1")
    page.click("button[value=preview]")
    assert "one interval per retry" in page.inner_text(".message.error")
    screenshot("dunning-policy")
