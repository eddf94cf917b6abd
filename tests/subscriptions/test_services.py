"""Subscription services: creation, every allowed and refused transition, edits, coupons."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AuditEntry
from billing_ops.errors import Conflict, TransitionNotAllowed, ValidationFailed
from subscriptions import services
from subscriptions.models import SUBSCRIPTION_TRANSITIONS, Subscription, SubscriptionStatus
from tests.factories import PlanFactory, TenantFactory
from tests.subscriptions.factories import make_subscription, percent_coupon

pytestmark = pytest.mark.django_db
S = SubscriptionStatus
ALL = [s.value for s in S]

# service name -> (target, statuses it accepts, needs a reason)
SERVICES = {
    "subscription_activate": (S.ACTIVE, {S.TRIALING, S.PAST_DUE}),
    "subscription_mark_past_due": (S.PAST_DUE, {S.TRIALING, S.ACTIVE}),
    "subscription_pause": (S.PAUSED, {S.ACTIVE}),
    "subscription_resume": (S.ACTIVE, {S.PAUSED}),
    "subscription_suspend": (S.SUSPENDED, {S.TRIALING, S.ACTIVE, S.PAST_DUE}),
    "subscription_reactivate": (S.ACTIVE, {S.SUSPENDED, S.PAST_DUE}),
    "subscription_cancel_now": (S.CANCELED, {S.TRIALING, S.ACTIVE, S.PAST_DUE, S.PAUSED, S.SUSPENDED}),
    "subscription_expire": (S.EXPIRED, {S.TRIALING, S.ACTIVE, S.PAST_DUE}),
}


def test_every_accepted_move_is_in_the_transition_table():
    for target, sources in SERVICES.values():
        for source in sources:
            assert target in SUBSCRIPTION_TRANSITIONS[source]


@pytest.mark.parametrize("service", sorted(SERVICES))
@pytest.mark.parametrize("status", ALL)
def test_transition(service, status, billing_user, captured_events):
    target, sources = SERVICES[service]
    sub = make_subscription(status=status)
    call = getattr(services, service)
    audits_before = AuditEntry.objects.filter(object_type="subscriptions.subscription").count()
    if status == target:
        call(actor=billing_user, subscription=sub, reason="again")
        assert AuditEntry.objects.filter(object_type="subscriptions.subscription").count() == audits_before
        assert not captured_events
    elif status in sources:
        result = call(actor=billing_user, subscription=sub, reason="because")
        sub.refresh_from_db()
        assert result.status == sub.status == target
        entry = AuditEntry.objects.filter(object_type="subscriptions.subscription", object_id=str(sub.pk)).first()
        assert entry.actor == billing_user and entry.reason == "because" and entry.before["status"] == status
        names = [name for name, _ in captured_events if name.startswith("subscription.")]
        assert len(names) == 1
        payload = captured_events[0][1]
        assert payload["subscription_id"] == sub.pk and payload["tenant_id"] == sub.tenant_id and payload["reason"] == "because"
    else:
        with pytest.raises(TransitionNotAllowed):
            call(actor=billing_user, subscription=sub, reason="because")
        sub.refresh_from_db()
        assert sub.status == status
        assert AuditEntry.objects.filter(object_type="subscriptions.subscription").count() == audits_before
        assert not captured_events


@pytest.mark.parametrize("service", ["subscription_suspend", "subscription_reactivate", "subscription_cancel_now", "subscription_pause"])
def test_reason_is_required(service, billing_user):
    sub = make_subscription(status="suspended" if service == "subscription_reactivate" else "active")
    with pytest.raises(ValidationFailed):
        getattr(services, service)(actor=billing_user, subscription=sub, reason="  ")


def test_onboarding_cannot_run_transitions(onboarding_user):
    from billing_ops.errors import PermissionDenied

    sub = make_subscription()
    with pytest.raises(PermissionDenied):
        services.subscription_suspend(actor=onboarding_user, subscription=sub, reason="x")


def test_cross_app_signatures_are_keyword_only(billing_user):
    sub = make_subscription()
    with pytest.raises(TypeError):
        services.subscription_suspend(billing_user, sub, "x")
    services.subscription_mark_past_due(actor=billing_user, subscription=sub)
    assert sub.status == "past_due"


def test_suspend_with_tenant_sync_suspends_and_reactivates_the_tenant(billing_user, captured_events):
    sub = make_subscription()
    services.subscription_suspend(actor=billing_user, subscription=sub, reason="non-payment", sync_tenant=True)
    sub.tenant.refresh_from_db()
    assert sub.tenant.status == "suspended"
    services.subscription_reactivate(actor=billing_user, subscription=sub, reason="paid", sync_tenant=True)
    sub.tenant.refresh_from_db()
    assert sub.tenant.status == "active"
    assert [n for n, _ in captured_events] == ["subscription.suspended", "tenant.suspended", "subscription.reactivated", "tenant.reactivated"]


def test_default_suspend_leaves_the_tenant_to_the_caller(billing_user):
    sub = make_subscription()
    services.subscription_suspend(actor=billing_user, subscription=sub, reason="dunning")
    sub.tenant.refresh_from_db()
    assert sub.tenant.status == "active"


def test_reactivate_after_a_long_suspension_continues_at_todays_period(billing_user):
    today = timezone.now().date()
    start = date(today.year - 1, today.month, 1)
    sub = make_subscription(status="suspended", start=start, end=date(start.year, start.month + 1, 1) if start.month < 12 else date(start.year + 1, 1, 1))
    services.subscription_reactivate(actor=billing_user, subscription=sub, reason="paid")
    sub.refresh_from_db()
    assert sub.current_period_start <= today < sub.current_period_end
    assert sub.current_period_start.day == 1


def test_cancel_at_period_end_schedules_and_unschedules(billing_user, captured_events):
    sub = make_subscription()
    services.subscription_cancel_at_period_end(actor=billing_user, subscription=sub, reason="customer asked")
    sub.refresh_from_db()
    assert sub.cancel_at_period_end and sub.status == "active" and sub.canceled_at
    services.subscription_cancel_at_period_end(actor=billing_user, subscription=sub, reason="changed mind", cancel=False)
    sub.refresh_from_db()
    assert not sub.cancel_at_period_end and sub.canceled_at is None
    assert [n for n, _ in captured_events] == ["subscription.cancel_scheduled", "subscription.cancel_unscheduled"]
    ended = make_subscription(status="canceled")
    with pytest.raises(TransitionNotAllowed):
        services.subscription_cancel_at_period_end(actor=billing_user, subscription=ended, reason="x")


@pytest.mark.parametrize("status,expected", [
    ("active", "resume"), ("active", "reactivate"), ("canceled", None), ("expired", None),
])
def test_set_status_dispatch(status, expected, billing_user):
    source = {"resume": "paused", "reactivate": "suspended"}.get(expected, status)
    sub = make_subscription(status=source)
    if expected is None:
        with pytest.raises(TransitionNotAllowed):
            services.subscription_set_status(actor=billing_user, subscription=sub, status="active", reason="x")
    else:
        services.subscription_set_status(actor=billing_user, subscription=sub, status="active", reason="x")
        sub.refresh_from_db()
        assert sub.status == "active"


def test_set_status_unknown(billing_user):
    with pytest.raises(ValidationFailed):
        services.subscription_set_status(actor=billing_user, subscription=make_subscription(), status="bogus", reason="x")


# --- create ---------------------------------------------------------------------------------

def test_create_active_subscription_with_anniversary_period(billing_user, captured_events):
    tenant = TenantFactory()
    plan = PlanFactory(minimum_commitment_months=12)
    sub = services.subscription_create(actor=billing_user, tenant=tenant, plan=plan, quantity=2, start_date=date(2026, 1, 31))
    assert sub.status == "active"
    assert (sub.current_period_start, sub.current_period_end) == (date(2026, 1, 31), date(2026, 2, 28))
    assert sub.commitment_end == date(2027, 1, 31)
    assert [(i.price_id, i.quantity, i.kind) for i in sub.items.all()] == [(plan.base_price_id, Decimal("2"), "base")]
    assert captured_events[0][0] == "subscription.created"


def test_create_trialing_subscription(billing_user, captured_events):
    plan = PlanFactory(trial_days=14, billing_cycle="calendar")
    sub = services.subscription_create(actor=billing_user, tenant=TenantFactory(), plan=plan, start_date=date(2026, 11, 10))
    assert sub.status == "trialing" and sub.trial_end == date(2026, 11, 24)
    assert (sub.current_period_start, sub.current_period_end) == (date(2026, 11, 10), date(2026, 11, 24))
    assert sub.billing_anchor == date(2026, 11, 24)
    assert [n for n, _ in captured_events] == ["subscription.created", "subscription.trial_started"]


def test_one_live_subscription_per_tenant(billing_user):
    sub = make_subscription()
    with pytest.raises(Conflict):
        services.subscription_create(actor=billing_user, tenant=sub.tenant, plan=sub.plan)
    services.subscription_cancel_now(actor=billing_user, subscription=sub, reason="moving")
    again = services.subscription_create(actor=billing_user, tenant=sub.tenant, plan=sub.plan)
    assert again.status == "active"


def test_create_refuses_other_currency_and_closed_tenant(billing_user):
    with pytest.raises(ValidationFailed):
        services.subscription_create(actor=billing_user, tenant=TenantFactory(currency="GHS"), plan=PlanFactory(currency="NGN"))
    closed = TenantFactory(status="closed")
    with pytest.raises(ValidationFailed):
        services.subscription_create(actor=billing_user, tenant=closed, plan=PlanFactory())


def test_onboarding_may_create_a_subscription(onboarding_user):
    sub = services.subscription_create(actor=onboarding_user, tenant=TenantFactory(), plan=PlanFactory())
    assert Subscription.objects.get().pk == sub.pk


def test_coupon_redemption_limit_and_expiry(billing_user):
    coupon = percent_coupon(max_redemptions=1)
    services.subscription_create(actor=billing_user, tenant=TenantFactory(), plan=PlanFactory(), coupon=coupon)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1
    with pytest.raises(ValidationFailed):
        services.subscription_create(actor=billing_user, tenant=TenantFactory(), plan=PlanFactory(), coupon=coupon)
    expired = percent_coupon(code="OLD", expires_at=timezone.now() - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        services.subscription_create(actor=billing_user, tenant=TenantFactory(), plan=PlanFactory(), coupon=expired)


def test_promo_code_grants_its_coupon(billing_user):
    coupon = percent_coupon()
    services.promo_code_create(actor=billing_user, coupon=coupon, code="launch", max_redemptions=5)
    sub = services.subscription_create(actor=billing_user, tenant=TenantFactory(), plan=PlanFactory(), promo_code="LAUNCH")
    assert sub.coupon == coupon


def test_update_edits_allowed_fields_only(billing_user):
    sub = make_subscription()
    services.subscription_update(actor=billing_user, subscription=sub, auto_renew=False, reason="customer asked")
    sub.refresh_from_db()
    assert sub.auto_renew is False
    assert AuditEntry.objects.filter(action="subscription.updated", object_id=str(sub.pk)).exists()
    with pytest.raises(ValidationFailed):
        services.subscription_update(actor=billing_user, subscription=sub, status="canceled")


def test_extend_trial(billing_user):
    today = timezone.now().date()
    sub = make_subscription(status="trialing", start=today, end=today + timedelta(days=7))
    services.subscription_update(actor=billing_user, subscription=sub, trial_end=today + timedelta(days=21))
    sub.refresh_from_db()
    assert sub.trial_end == sub.current_period_end == sub.billing_anchor == today + timedelta(days=21)


# --- catalogue --------------------------------------------------------------------------------

def test_plan_create_from_base_amount(billing_user):
    plan = services.plan_create(actor=billing_user, name="Growth", currency="NGN", interval="yearly", base_amount="299.90", trial_days=14)
    assert plan.code == "growth" and plan.base_price.unit_amount == Decimal("299.90") and plan.base_price.interval == "yearly"
    with pytest.raises(ValidationFailed):
        services.plan_create(actor=billing_user, name="Growth", currency="NGN", interval="yearly", base_amount="1.00")


def test_price_create_validates_tiers(billing_user):
    good = services.price_create(actor=billing_user, product_name="Seats", currency="NGN", interval="monthly",
                                 pricing_model="tiered", tiers=[{"up_to": "10", "unit_price": "5.00"}, {"up_to": None, "unit_price": "4.00"}])
    assert services.price_amount(good, 12) == Decimal("58.00")
    with pytest.raises(ValidationFailed):
        services.price_create(actor=billing_user, product_name="Seats", currency="NGN", interval="monthly",
                              pricing_model="tiered", tiers=[{"up_to": "10", "unit_price": "5.00"}])


def test_coupon_create_validation(billing_user):
    coupon = services.coupon_create(actor=billing_user, code="ten", kind="amount", amount_off="10.00", currency="NGN",
                                    duration="repeating", duration_cycles=3)
    assert coupon.code == "TEN"
    with pytest.raises(ValidationFailed):
        services.coupon_create(actor=billing_user, code="bad", kind="percent", percent_off="120")
    with pytest.raises(ValidationFailed):
        services.coupon_create(actor=billing_user, code="rep", kind="percent", percent_off="10", duration="repeating")


def test_refusal_names_the_right_action(billing_user):
    with pytest.raises(TransitionNotAllowed, match="Cannot activate a paused subscription; resume it instead"):
        services.subscription_activate(actor=billing_user, subscription=make_subscription(status="paused"))
    with pytest.raises(TransitionNotAllowed, match="cannot move from 'canceled' to 'active'"):
        services.subscription_reactivate(actor=billing_user, subscription=make_subscription(status="canceled"), reason="x")
