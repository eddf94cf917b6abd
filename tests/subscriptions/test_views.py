"""Screens: list (constant queries), detail, new, edit, status action, renewals, tenant subscription, catalogue."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import tenant_assign_onboarding
from subscriptions.models import Coupon, PendingProration, Plan, Subscription
from tests.factories import InvoiceFactory, PlanFactory, TenantFactory
from tests.subscriptions.factories import addon_price, make_subscription

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("count", [3, 60])
def test_list_query_count_does_not_grow(billing_user, django_assert_max_num_queries, count):
    for _ in range(count):
        make_subscription()
    client = signed_in(billing_user)
    with django_assert_max_num_queries(10):
        response = client.get("/billing/subscriptions/?sort=-renews")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == min(count, 50)


def test_list_filters_sort_and_pages(billing_user):
    suspended = make_subscription(status="suspended")
    plan = PlanFactory(name="Findable Plan")
    findable = make_subscription(plan=plan)
    for _ in range(52):
        make_subscription()
    client = signed_in(billing_user)
    assert [s.pk for s in client.get("/billing/subscriptions/?status=suspended").context["object_list"]] == [suspended.pk]
    assert [s.pk for s in client.get(f"/billing/subscriptions/?plan={plan.pk}").context["object_list"]] == [findable.pk]
    assert [s.pk for s in client.get(f"/billing/subscriptions/?tenant={findable.tenant_id}").context["object_list"]] == [findable.pk]
    assert [s.pk for s in client.get("/billing/subscriptions/?q=findable").context["object_list"]] == [findable.pk]
    first = client.get("/billing/subscriptions/?status=active")
    assert len(first.context["object_list"]) == 50 and first.context["page"].next_cursor
    second = client.get(f"/billing/subscriptions/?status=active&cursor={first.context['page'].next_cursor}")
    assert len(second.context["object_list"]) == 3
    renewing = client.get("/billing/subscriptions/?renews_from=2026-12-01&renews_to=2026-12-01").context["object_list"]
    assert len(renewing) == 50


def test_detail_shows_items_period_history_and_invoices(billing_user):
    sub = make_subscription()
    InvoiceFactory(tenant=sub.tenant, subscription=sub, number="INV-2026-000042", period_start=sub.current_period_start)
    client = signed_in(billing_user)
    client.post(f"/billing/subscriptions/{sub.pk}/status/", {"action": "suspended", "reason": "Card declined"})
    page = client.get(f"/billing/subscriptions/{sub.pk}/").content.decode()
    assert "INV-2026-000042" in page and "subscription.suspended" in page and "Card declined" in page
    assert "2026-11-01" in page and "29.00" in page


def test_status_action_requires_a_reason_and_reports_refusals(billing_user):
    sub = make_subscription()
    client = signed_in(billing_user)
    response = client.post(f"/billing/subscriptions/{sub.pk}/status/", {"action": "suspended", "reason": ""}, follow=True)
    assert "reason is required" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == "active"
    client.post(f"/billing/subscriptions/{sub.pk}/status/", {"action": "canceled", "reason": "left"})
    sub.refresh_from_db()
    assert sub.status == "canceled"
    response = client.post(f"/billing/subscriptions/{sub.pk}/status/", {"action": "active", "reason": "back"}, follow=True)
    assert "cannot move from" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == "canceled"


def test_status_action_cancel_at_period_end_and_withdraw(billing_user):
    sub = make_subscription()
    client = signed_in(billing_user)
    client.post(f"/billing/subscriptions/{sub.pk}/status/", {"action": "cancel_at_period_end", "reason": "asked"})
    sub.refresh_from_db()
    assert sub.cancel_at_period_end
    assert "Withdraw scheduled cancellation" in client.get(f"/billing/subscriptions/{sub.pk}/").content.decode()
    client.post(f"/billing/subscriptions/{sub.pk}/status/", {"action": "keep", "reason": "stays"})
    sub.refresh_from_db()
    assert not sub.cancel_at_period_end


def test_new_subscription_screen(billing_user):
    tenant, plan = TenantFactory(), PlanFactory()
    client = signed_in(billing_user)
    assert client.get(f"/billing/subscription-new/?tenant={tenant.pk}").status_code == 200
    response = client.post("/billing/subscription-new/", {"tenant": tenant.pk, "plan": plan.pk, "quantity": "1", "auto_renew": "on"})
    sub = Subscription.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/billing/subscriptions/{sub.pk}/"
    again = client.post("/billing/subscription-new/", {"tenant": tenant.pk, "plan": plan.pk, "quantity": "1"})
    assert again.status_code == 200 and "already has" in again.content.decode()


def test_edit_screen(billing_user):
    sub = make_subscription()
    Coupon.objects.create(code="TEN", name="Ten", kind="percent", percent_off=Decimal("10"))
    client = signed_in(billing_user)
    assert client.get(f"/billing/subscriptions/{sub.pk}/edit/").status_code == 200
    response = client.post(f"/billing/subscriptions/{sub.pk}/edit/", {"coupon": "ten", "reason": "promo"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.coupon.code == "TEN" and sub.auto_renew is False
    bad = client.post(f"/billing/subscriptions/{sub.pk}/edit/", {"coupon": "NOPE", "auto_renew": "on"})
    assert bad.status_code == 200 and bad.context["form"].errors


def test_renewals_screen_flags_and_payment_method_none(billing_user, django_assert_max_num_queries):
    today = timezone.now().date()
    sub = make_subscription(start=today - timedelta(days=20), end=today + timedelta(days=10), cancel_at_period_end=True)
    for _ in range(10):
        make_subscription(start=today - timedelta(days=20), end=today + timedelta(days=3))
    client = signed_in(billing_user)
    with django_assert_max_num_queries(12):
        response = client.get("/billing/renewals/")
    assert response.status_code == 200
    rows = {r.subscription.pk: r for r in response.context["renewals"]}
    assert len(rows) == 11
    assert "cancel_at_period_end" in rows[sub.pk].flags and rows[sub.pk].payment_method is None
    assert "none" in response.content.decode() and "Cancels at period end" in response.content.decode()
    assert len(client.get("/billing/renewals/?within_days=5").context["renewals"]) == 10


def test_tenant_subscription_preview_then_apply_matches(onboarding_user, billing_user):
    sub = make_subscription()  # 2026-11-01 → 2026-12-01
    tenant_assign_onboarding(tenant=sub.tenant, user=onboarding_user, actor=billing_user)
    addon = addon_price(amount="3000.00")
    client = signed_in(onboarding_user)
    url = f"/clients/tenant/{sub.tenant_id}/subscription"
    assert client.get(url).status_code == 200
    form = {f"qty_{sub.plan.base_price_id}": "1", "add_price": addon.pk, "add_quantity": "1", "change_date": "2026-11-16"}
    preview = client.post(url, {**form, "action": "preview"})
    assert preview.status_code == 200
    lines = preview.context["preview"].lines
    assert [line.amount for line in lines] == [Decimal("1500.00")]
    assert "1,500.00" in preview.content.decode() and not PendingProration.objects.exists()
    confirm = dict(preview.context["confirm_fields"])
    applied = client.post(url, {**confirm, "fingerprint": preview.context["preview"].fingerprint, "action": "apply"})
    assert applied.status_code == 302
    assert [p.amount for p in PendingProration.objects.all()] == [line.amount for line in lines]
    # confirming the same (now stale) preview again is refused
    again = client.post(url, {**confirm, "fingerprint": preview.context["preview"].fingerprint, "action": "apply"})
    assert again.status_code == 200 and PendingProration.objects.count() == 1


def test_tenant_subscription_is_only_for_assigned_tenants_and_can_start_one(onboarding_user, billing_user):
    mine, other = TenantFactory(), TenantFactory()
    tenant_assign_onboarding(tenant=mine, user=onboarding_user, actor=billing_user)
    plan = PlanFactory(trial_days=7)
    client = signed_in(onboarding_user)
    assert client.get(f"/clients/tenant/{other.pk}/subscription").status_code == 404
    page = client.get(f"/clients/tenant/{mine.pk}/subscription")
    assert "Start a subscription" in page.content.decode()
    response = client.post(f"/clients/tenant/{mine.pk}/subscription", {"action": "create", "plan": plan.pk, "quantity": "2"})
    assert response.status_code == 302
    assert Subscription.objects.get(tenant=mine).status == "trialing"
    assert "Manage subscription" in client.get(f"/clients/tenant/{mine.pk}/").content.decode()


def test_plan_and_coupon_screens(billing_user):
    client = signed_in(billing_user)
    response = client.post("/billing/plan-new/", {
        "name": "Seats", "currency": "NGN", "interval": "monthly", "pricing_model": "tiered",
        "tiers": "10 5.00\ninf 4.00", "trial_days": 0, "billing_cycle": "calendar", "minimum_commitment_months": 12, "tax_rate": "7.5",
    })
    assert response.status_code == 302, response.context["form"].errors
    plan = Plan.objects.get(code="seats")
    assert plan.base_price.pricing_model == "tiered" and plan.minimum_commitment_months == 12
    bad = client.post("/billing/plan-new/", {"name": "Bad", "currency": "NGN", "interval": "monthly", "pricing_model": "tiered",
                                             "tiers": "10 5.00", "trial_days": 0, "billing_cycle": "calendar", "minimum_commitment_months": 0})
    assert bad.status_code == 200 and "open-ended" in bad.content.decode()
    assert "Seats" in client.get("/billing/plans/").content.decode()
    assert client.post("/billing/coupon-new/", {"code": "half", "kind": "percent", "percent_off": "50", "duration": "once"}).status_code == 302
    assert "HALF" in client.get("/billing/coupons/").content.decode()


@pytest.mark.django_db
def test_coupon_list_shows_expired_and_used_up_coupons_as_such(billing_user):
    import datetime as _dt

    from django.test import Client
    from django.utils import timezone

    from subscriptions.models import Coupon

    Coupon.objects.create(code="OLD", name="Old", kind="percent", percent_off=10, expires_at=timezone.now() - _dt.timedelta(days=1))
    Coupon.objects.create(code="GONE", name="Gone", kind="percent", percent_off=10, max_redemptions=2, times_redeemed=2)
    Coupon.objects.create(code="LIVE", name="Live", kind="percent", percent_off=10)
    client = Client()
    client.force_login(billing_user)
    statuses = {c.code: c.redeemable_status for c in client.get("/billing/coupons/").context["object_list"]}
    assert statuses == {"OLD": "expired", "GONE": "used up", "LIVE": "active"}
