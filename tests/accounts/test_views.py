import pytest
from django.test import Client

from accounts.models import AuditEntry, Tenant
from accounts.services import tenant_assign_onboarding
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("count", [3, 60])
def test_tenant_list_query_count_does_not_grow(billing_user, django_assert_max_num_queries, count):
    TenantFactory.create_batch(count)
    client = signed_in(billing_user)
    with django_assert_max_num_queries(8):
        response = client.get("/clients/tenants/?sort=-created")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == min(count, 50)


def test_tenant_list_filters_search_and_pages(billing_user):
    TenantFactory(name="Findable Foods", currency="GHS")
    TenantFactory.create_batch(55, currency="NGN")
    client = signed_in(billing_user)
    page = client.get("/clients/tenants/?q=findable")
    assert [t.name for t in page.context["object_list"]] == ["Findable Foods"]
    assert [t.currency for t in client.get("/clients/tenants/?currency=GHS").context["object_list"]] == ["GHS"]
    first = client.get("/clients/tenants/?currency=NGN")
    assert first.context["page"].next_cursor
    second = client.get(f"/clients/tenants/?currency=NGN&cursor={first.context['page'].next_cursor}")
    assert len(first.context["object_list"]) == 50 and len(second.context["object_list"]) == 5


def test_create_tenant_form_shows_errors_then_creates(billing_user):
    client = signed_in(billing_user)
    bad = client.post("/clients/tenant-new/", {"name": "", "billing_email": "x", "country": "NG", "currency": "NGN", "payment_terms_days": 14})
    assert bad.status_code == 200 and bad.context["form"].errors and not Tenant.objects.exists()
    good = client.post("/clients/tenant-new/", {"name": "Shop", "billing_email": "a@shop.example", "country": "ng", "currency": "NGN", "payment_terms_days": 14})
    tenant = Tenant.objects.get()
    assert good.status_code == 302 and good["Location"] == f"/clients/tenant/{tenant.pk}/" and tenant.country == "NG"


def test_edit_tenant(billing_user):
    tenant = TenantFactory()
    client = signed_in(billing_user)
    data = {"name": "Renamed", "billing_email": tenant.billing_email, "country": "GH", "currency": "GHS", "payment_terms_days": 30}
    assert client.post(f"/clients/tenant/{tenant.pk}/edit/", data).status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.country, tenant.payment_terms_days) == ("Renamed", "GH", 30)


def test_tenant_detail_shows_history(billing_user):
    tenant = TenantFactory()
    client = signed_in(billing_user)
    client.post(f"/clients/tenant/{tenant.pk}/credit/", {"amount": "12.00", "reason": "Sorry"})
    page = client.get(f"/clients/tenant/{tenant.pk}/").content.decode()
    assert "tenant.credit_adjusted" in page and "12.00" in page and "Sorry" in page


def test_onboarding_gets_404_for_unassigned_tenant(onboarding_user, billing_user):
    mine, other = TenantFactory(), TenantFactory()
    tenant_assign_onboarding(tenant=mine, user=onboarding_user, actor=billing_user)
    client = signed_in(onboarding_user)
    assert client.get(f"/clients/tenant/{mine.pk}/").status_code == 200
    assert client.get(f"/clients/tenant/{other.pk}/").status_code == 404
    assert list(client.get("/clients/tenants/").context["object_list"]) == [mine]


def test_navigation_is_filtered_by_role(super_admin, billing_user, onboarding_user):
    pages = {u.username: signed_in(u).get("/billing/").content.decode() for u in (super_admin, billing_user, onboarding_user)}
    assert "Audit log" in pages["root-admin"]
    assert "Audit log" not in pages["billing-staff"] and "Audit log" not in pages["onboarding-staff"]
    assert all("Tenants" in page for page in pages.values())


def test_audit_log_filters(super_admin, billing_user):
    from accounts.services import tenant_create

    tenant_create(actor=billing_user, name="Audited", billing_email="a@b.example", currency="NGN", country="NG")
    client = signed_in(super_admin)
    assert len(client.get("/billing/audit/?action=tenant.created").context["object_list"]) == 1
    assert len(client.get("/billing/audit/?action=invoice.").context["object_list"]) == 0


def test_login_and_logout_flow(billing_user):
    client = Client()
    assert client.get("/billing/")["Location"].startswith("/login/?next=/billing/")
    response = client.post("/login/", {"username": "billing-staff", "password": "correct-horse-battery"})
    assert response.status_code == 302 and response["Location"] == "/billing/"
    assert client.get("/billing/").status_code == 200
    client.post("/logout/")
    assert client.get("/billing/").status_code == 302


def test_login_is_throttled_after_repeated_failures(billing_user, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "billing-staff", "password": "wrong"})
    locked = client.post("/login/", {"username": "billing-staff", "password": "correct-horse-battery"})
    assert locked.status_code == 429
    assert client.get("/billing/").status_code == 302  # still signed out


def test_assign_onboarding_from_the_tenant_page(billing_user, onboarding_user):
    tenant = TenantFactory()
    client = signed_in(billing_user)
    client.post(f"/clients/tenant/{tenant.pk}/onboarding/", {"user": onboarding_user.pk})
    assert signed_in(onboarding_user).get(f"/clients/tenant/{tenant.pk}/").status_code == 200
    client.post(f"/clients/tenant/{tenant.pk}/onboarding/", {"user": onboarding_user.pk, "assigned": "0"})
    assert signed_in(onboarding_user).get(f"/clients/tenant/{tenant.pk}/").status_code == 404
    # only onboarding staff can be assigned
    client.post(f"/clients/tenant/{tenant.pk}/onboarding/", {"user": billing_user.pk})
    assert not AuditEntry.objects.filter(action="tenant.onboarding_assigned", after__user="billing-staff").exists()


def test_tenant_list_date_filter(billing_user):
    from datetime import timedelta

    from django.utils import timezone

    old = TenantFactory(name="Old")
    Tenant.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    TenantFactory(name="New")
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    names = [t.name for t in signed_in(billing_user).get(f"/clients/tenants/?created_from={since}").context["object_list"]]
    assert names == ["New"]
