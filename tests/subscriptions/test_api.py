"""JSON API: subscriptions, status moves (409), renewals, a tenant's prorated changes, plans, coupons."""
from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.services import tenant_assign_onboarding
from subscriptions.models import PendingProration, Subscription
from tests.conftest import api_client_for
from tests.factories import PlanFactory, TenantFactory
from tests.subscriptions.factories import addon_price, make_subscription

pytestmark = pytest.mark.django_db


def error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()["error"]
    if code:
        assert body["code"] == code
    return body


def test_create_subscription_contract_body(api):
    tenant, plan = TenantFactory(), PlanFactory(trial_days=14)
    response = api.post("/api/subscriptions/", {"tenant": tenant.pk, "plan": plan.pk, "quantity": 1}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "trialing" and body["id"]
    assert body["current_period_start"] == timezone.now().date().isoformat()
    assert body["current_period_end"] == (timezone.now().date() + timedelta(days=14)).isoformat()
    assert body["items"][0]["amount"] == "29.00" and body["amount"] == "29.00" and body["currency"] == "NGN"


def test_create_errors(api):
    tenant = TenantFactory()
    error(api.post("/api/subscriptions/", {"tenant": tenant.pk, "plan": 999999}, format="json"), 400, "invalid")
    error(api.post("/api/subscriptions/", {"tenant": tenant.pk}, format="json"), 400, "invalid")
    plan = PlanFactory()
    assert api.post("/api/subscriptions/", {"tenant": tenant.pk, "plan": plan.pk}, format="json").status_code == 201
    error(api.post("/api/subscriptions/", {"tenant": tenant.pk, "plan": plan.pk}, format="json"), 409, "subscription_exists")


def test_list_filters_and_detail(api):
    active = make_subscription()
    make_subscription(status="suspended")
    body = api.get("/api/subscriptions/?status=active").json()
    assert [row["id"] for row in body["results"]] == [active.pk] and "next" in body
    assert api.get(f"/api/subscriptions/{active.pk}/").json()["plan_name"] == active.plan.name
    error(api.get("/api/subscriptions/999999/"), 404, "not_found")


def test_patch_editable_fields_and_cancel_at_period_end(api):
    sub = make_subscription()
    body = api.patch(f"/api/subscriptions/{sub.pk}/", {"auto_renew": False, "cancel_at_period_end": True, "reason": "asked"}, format="json").json()
    assert body["auto_renew"] is False and body["cancel_at_period_end"] is True and body["status"] == "active"


def test_status_moves_and_409(api):
    sub = make_subscription()
    body = api.post(f"/api/subscriptions/{sub.pk}/status", {"status": "suspended", "reason": "non-payment"}, format="json").json()
    assert body["status"] == "suspended"
    sub.tenant.refresh_from_db()
    assert sub.tenant.status == "suspended"  # staff suspension suspends the tenant too
    assert api.post(f"/api/subscriptions/{sub.pk}/status", {"status": "active", "reason": "paid"}, format="json").json()["status"] == "active"
    assert api.post(f"/api/subscriptions/{sub.pk}/status", {"status": "canceled", "reason": "left"}, format="json").json()["status"] == "canceled"
    err = error(api.post(f"/api/subscriptions/{sub.pk}/status", {"status": "active", "reason": "back"}, format="json"), 409, "transition_not_allowed")
    assert "canceled" in err["message"]
    error(api.post(f"/api/subscriptions/{sub.pk}/status", {"status": "nonsense", "reason": "x"}, format="json"), 400)
    error(api.post(f"/api/subscriptions/{make_subscription().pk}/status", {"status": "suspended", "reason": ""}, format="json"), 400)


def test_renewals_window(api):
    today = timezone.now().date()
    soon = make_subscription(start=today - timedelta(days=20), end=today + timedelta(days=10))
    make_subscription(start=today - timedelta(days=5), end=today + timedelta(days=40))
    make_subscription(status="canceled", start=today - timedelta(days=20), end=today + timedelta(days=5))
    body = api.get("/api/renewals/?within_days=30").json()
    assert [row["subscription"] for row in body["results"]] == [soon.pk]
    row = body["results"][0]
    assert row["amount"] == "29.00" and row["currency"] == "NGN" and row["payment_method"] is None
    assert "no_payment_method" in row["flags"] and row["renews_on"] == soon.current_period_end.isoformat()
    assert len(api.get("/api/renewals/?within_days=60").json()["results"]) == 2
    assert len(api.get("/api/renewals/").json()["results"]) == 1
    error(api.get("/api/renewals/?within_days=abc"), 400)


def test_tenant_preview_then_apply_are_identical(api):
    sub = make_subscription(start=date(2026, 11, 1), end=date(2026, 12, 1))
    addon = addon_price(amount="3000.00")
    change = {"items": [{"price": addon.pk, "quantity": "1"}], "change_date": "2026-11-16"}
    preview = api.post(f"/api/tenants/{sub.tenant_id}/subscription/preview", change, format="json")
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["total"] == "1500.00" and [line["amount"] for line in body["lines"]] == ["1500.00"]
    assert not PendingProration.objects.exists()
    applied = api.post(f"/api/tenants/{sub.tenant_id}/subscription/items", {**change, "expected_total": body["total"]}, format="json")
    assert applied.status_code == 201, applied.content
    assert applied.json()["lines"] == body["lines"] and applied.json()["total"] == body["total"]
    assert [str(p.amount) for p in PendingProration.objects.all()] == ["1500.00"]
    # the same confirmation again no longer matches (the item is already there)
    error(api.post(f"/api/tenants/{sub.tenant_id}/subscription/items", {**change, "expected_total": "1500.00"}, format="json"), 409)


def test_tenant_change_errors_and_onboarding_scope(onboarding_user, billing_user):
    mine, other = make_subscription(), make_subscription()
    tenant_assign_onboarding(tenant=mine.tenant, user=onboarding_user, actor=billing_user)
    client = api_client_for(onboarding_user)
    addon = addon_price()
    body = {"items": [{"price": addon.pk, "quantity": "1"}], "change_date": "2026-11-16"}
    assert client.post(f"/api/tenants/{mine.tenant_id}/subscription/items", body, format="json").status_code == 201
    error(client.post(f"/api/tenants/{other.tenant_id}/subscription/preview", body, format="json"), 404)
    error(client.post(f"/api/tenants/{TenantFactory().pk}/subscription/preview", body, format="json"), 404)
    error(api_client_for(billing_user).post(f"/api/tenants/{other.tenant_id}/subscription/preview",
                                           {"items": [{"price": 999999, "quantity": "1"}]}, format="json"), 400)
    error(api_client_for(billing_user).post(f"/api/tenants/{other.tenant_id}/subscription/preview",
                                           {**body, "change_date": "2027-01-05"}, format="json"), 400)


def test_plan_create_contract_body(api):
    response = api.post("/api/plans/", {"name": "Pro", "currency": "NGN", "interval": "monthly", "base_price": "299.90", "trial_days": 14}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] and body["base_price"] == "299.90" and body["trial_days"] == 14 and body["interval"] == "monthly"
    error(api.post("/api/plans/", {"name": "Pro", "currency": "NGN", "interval": "fortnightly", "base_price": "1.00"}, format="json"), 400)
    error(api.post("/api/plans/", {"name": "Float", "currency": "NGN", "interval": "monthly", "base_price": 1.5}, format="json"), 400)
    assert api.get("/api/plans/?currency=NGN").json()["results"][0]["code"] == "pro"


def test_coupon_create(api):
    response = api.post("/api/coupons/", {"code": "save20", "kind": "percent", "percent_off": "20", "duration": "forever"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["code"] == "SAVE20"
    error(api.post("/api/coupons/", {"code": "save20", "kind": "percent", "percent_off": "20"}, format="json"), 400)
    sub = make_subscription()
    assert api.patch(f"/api/subscriptions/{sub.pk}/", {"coupon": "SAVE20"}, format="json").json()["coupon"] == "SAVE20"
    assert Subscription.objects.get(pk=sub.pk).coupon.times_redeemed == 1
