"""Each role signs in through the real login form and sees its own navigation and tenants."""
import pytest

from accounts.services import tenant_assign_onboarding
from tests.factories import TenantFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def nav_labels(page) -> list[str]:
    return [text.strip() for text in page.locator("nav.sidebar li a").all_inner_texts()]


def test_each_role_sees_its_own_navigation(page, login, super_admin, billing_user, onboarding_user, screenshot):
    seen = {}
    for user in (super_admin, billing_user, onboarding_user):
        login(user)
        seen[user.username] = nav_labels(page)
        screenshot(f"dashboard-{user.username}")
        page.click("text=Sign out")
        page.wait_for_url("**/login/")
    assert "Audit log" in seen["root-admin"]
    assert "Audit log" not in seen["billing-staff"] and "Audit log" not in seen["onboarding-staff"]
    assert all("Tenants" in labels for labels in seen.values())


def test_billing_creates_a_tenant_and_adds_credit(page, login, billing_user, screenshot):
    login(billing_user)
    page.click("text=Tenants")
    page.click("text=New tenant")
    page.fill("#id_name", "Browser Foods")
    page.fill("#id_billing_email", "ap@browserfoods.example")
    page.fill("#id_country", "G1")  # passes the browser, refused by the server
    page.select_option("#id_currency", "GHS")
    page.click("form.form button[type=submit]")
    assert "two-letter" in page.inner_text(".has-error")  # the form explains what is wrong
    page.fill("#id_country", "gh")
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/clients/tenant/*/")
    page.fill("input[name=amount]", "12.50")
    page.fill("input[name=reason]", "Goodwill")
    page.click("text=Add credit")
    assert "GHS 12.50" in page.inner_text(".big")
    screenshot("tenant-detail")


def test_onboarding_sees_only_assigned_tenants(page, login, onboarding_user, billing_user):
    mine, other = TenantFactory(name="Assigned Co"), TenantFactory(name="Hidden Co")
    tenant_assign_onboarding(tenant=mine, user=onboarding_user, actor=billing_user)
    login(onboarding_user)
    page.goto("/clients/tenants/")
    body = page.inner_text("main")
    assert "Assigned Co" in body and "Hidden Co" not in body
    assert "New tenant" not in body
    response = page.goto(f"/clients/tenant/{other.pk}/")
    assert response.status == 404
