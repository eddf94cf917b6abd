"""Renewal rows: amount after coupon, payment method on file and risk flags."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from subscriptions import selectors
from subscriptions.selectors import PaymentMethodInfo
from tests.subscriptions.factories import make_subscription, percent_coupon

pytestmark = pytest.mark.django_db


def test_no_payment_method_on_file_is_none():
    # Before the payments app has PaymentMethod (LookupError), and after it with no rows: none.
    sub = make_subscription()
    assert selectors.payment_methods_for({sub.tenant_id}) == {}


def test_card_expiring_before_the_renewal_is_flagged(monkeypatch, billing_user):
    today = timezone.now().date()
    soon = make_subscription(start=today - timedelta(days=20), end=today + timedelta(days=10))
    later = make_subscription(start=today - timedelta(days=20), end=today + timedelta(days=12))
    last_month = (today.replace(day=1) - timedelta(days=1))
    cards = {
        soon.tenant_id: PaymentMethodInfo(brand="visa", last4="4081", exp_month=last_month.month, exp_year=last_month.year),
        later.tenant_id: PaymentMethodInfo(brand="mastercard", last4="5559", exp_month=12, exp_year=today.year + 3),
    }
    monkeypatch.setattr(selectors, "payment_methods_for", lambda tenant_ids: cards)
    rows = {row.subscription.pk: row for row in selectors.renewals_within(days=30, user=billing_user)}
    assert rows[soon.pk].flags == ["card_expires_before_renewal"] and rows[soon.pk].at_risk
    assert rows[later.pk].flags == [] and not rows[later.pk].at_risk
    assert rows[later.pk].payment_method.label == f"mastercard ••••5559 exp 12/{today.year + 3}"


def test_renewal_amount_applies_a_coupon_only_while_it_lasts(billing_user):
    on = date(2026, 11, 20)
    once = make_subscription(coupon=percent_coupon(code="ONCE", duration="once"))
    forever = make_subscription(coupon=percent_coupon(code="ALWAYS", duration="forever"))
    trial = make_subscription(status="trialing", coupon=percent_coupon(code="TRIAL", duration="once"))
    rows = {row.subscription.pk: row.amount for row in selectors.renewals_within(days=30, user=billing_user, on=on)}
    assert rows[once.pk] == Decimal("29.00")  # used on the first period
    assert rows[forever.pk] == Decimal("23.20")
    assert rows[trial.pk] == Decimal("23.20")  # the first paid period follows the trial


def test_active_coupon_counts_completed_periods():
    sub = make_subscription(coupon=percent_coupon(code="THREE", duration="repeating", duration_cycles=3), coupon_cycles_used=2)
    assert selectors.active_coupon(sub) is not None
    sub.coupon_cycles_used = 3
    assert selectors.active_coupon(sub) is None


def test_onboarding_sees_only_assigned_renewals(onboarding_user, billing_user):
    from accounts.services import tenant_assign_onboarding

    mine, _other = make_subscription(), make_subscription()
    tenant_assign_onboarding(tenant=mine.tenant, user=onboarding_user, actor=billing_user)
    rows = selectors.renewals_within(days=30, user=onboarding_user, on=date(2026, 11, 20))
    assert [row.subscription.pk for row in rows] == [mine.pk]


def test_billable_lines_are_exact(billing_user):
    from tests.factories import PriceFactory

    sub = make_subscription()
    seats = PriceFactory(pricing_model="per_unit", unit_amount=Decimal("2500.00"), tax_rate=Decimal("7.5"))
    calls = PriceFactory(pricing_model="tiered", unit_amount=None,
                         tiers=[{"up_to": "100", "unit_price": "0.0035"}, {"up_to": None, "unit_price": "0.0020"}])
    sub.items.create(price=seats, kind="add_on", quantity=3)
    sub.items.create(price=calls, kind="add_on", quantity=1501)
    lines = selectors.subscription_billable_lines(subscription=sub)
    assert [(line.kind, line.quantity, line.unit_price, line.amount) for line in lines] == [
        ("plan", Decimal("1"), Decimal("29.00"), Decimal("29.00")),
        ("add_on", Decimal("3"), Decimal("2500.00"), Decimal("7500.00")),
        ("add_on", Decimal("1"), Decimal("3.15"), Decimal("3.15")),  # 100 × 0.0035 + 1401 × 0.0020 = 3.152
    ]
    assert all(line.quantity * line.unit_price == line.amount for line in lines)
    assert "× 1501" in lines[2].description and lines[1].tax_rate == Decimal("7.5")
