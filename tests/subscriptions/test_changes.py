"""Prorated changes to a running subscription: preview line by line, then apply (same amounts)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from billing_ops.errors import Conflict, TransitionNotAllowed, ValidationFailed
from subscriptions import services
from subscriptions.models import PendingProration
from subscriptions.services import ItemChange
from tests.factories import PlanFactory, PriceFactory
from tests.subscriptions.factories import addon_price, make_subscription

pytestmark = pytest.mark.django_db
D = Decimal
CHANGE_DAY = date(2026, 11, 16)


def test_contract_example_added_item_prorates_to_1500(billing_user, captured_events):
    sub = make_subscription()
    addon = addon_price(amount="3000.00")
    preview = services.subscription_change_preview(
        actor=billing_user, subscription=sub, items=[ItemChange(addon, D("1"))], change_date=CHANGE_DAY)
    assert [(line.direction, line.amount) for line in preview.lines] == [("charge", D("1500.00"))]
    assert preview.total == D("1500.00") and (preview.days_remaining, preview.days_in_period) == (15, 30)

    applied, rows = services.subscription_change_apply(
        actor=billing_user, subscription=sub, items=[ItemChange(addon, D("1"))], change_date=CHANGE_DAY,
        expected_total=preview.total)
    assert [row.amount for row in rows] == [line.amount for line in preview.lines] == [D("1500.00")]
    assert [row.description for row in rows] == [line.description for line in preview.lines]
    row = PendingProration.objects.get()
    assert (row.period_start, row.period_end, row.change_date, row.currency, row.invoiced_at) == (
        date(2026, 11, 1), date(2026, 12, 1), CHANGE_DAY, "NGN", None)
    assert sub.items.filter(price=addon, kind="add_on", quantity=1).exists()
    changed = [payload for name, payload in captured_events if name == "subscription.changed"]
    assert changed[0]["proration_total"] == "1500.00" and changed[0]["proration_ids"] == [row.pk]


def test_quantity_change_credits_old_and_charges_new(billing_user):
    sub = make_subscription()
    seat = PriceFactory(pricing_model="per_unit", unit_amount=D("100.00"))
    sub.items.create(price=seat, kind="add_on", quantity=D("3"))
    preview, rows = services.subscription_change_apply(
        actor=billing_user, subscription=sub, items=[ItemChange(seat, D("5"))], change_date=CHANGE_DAY)
    assert [(r.amount) for r in rows] == [D("-150.00"), D("250.00")]
    assert preview.total == D("100.00")
    assert sub.items.get(price=seat).quantity == D("5")


def test_remove_item_is_credited(billing_user):
    sub = make_subscription()
    extra = addon_price(amount="600.00")
    sub.items.create(price=extra, kind="add_on", quantity=1)
    _, rows = services.subscription_change_apply(actor=billing_user, subscription=sub, remove=[extra], change_date=date(2026, 11, 21))
    assert [r.amount for r in rows] == [D("-200.00")]
    assert not sub.items.filter(price=extra).exists()


def test_plan_change_swaps_the_base_item(billing_user):
    sub = make_subscription()  # base 29.00
    bigger = PlanFactory(base_price__unit_amount=D("59.00"))
    preview, rows = services.subscription_change_apply(actor=billing_user, subscription=sub, plan=bigger, change_date=CHANGE_DAY)
    assert [r.amount for r in rows] == [D("-14.50"), D("29.50")]
    sub.refresh_from_db()
    assert sub.plan == bigger
    assert [(i.price_id, i.kind) for i in sub.items.all()] == [(bigger.base_price_id, "base")]


def test_preview_writes_nothing_and_stale_preview_is_refused(billing_user):
    sub = make_subscription()
    addon = PriceFactory(pricing_model="per_unit", unit_amount=D("100.00"))
    preview = services.subscription_change_preview(actor=billing_user, subscription=sub, items=[ItemChange(addon, D("1"))], change_date=CHANGE_DAY)
    assert not PendingProration.objects.exists() and sub.items.count() == 1
    with pytest.raises(Conflict):
        services.subscription_change_apply(actor=billing_user, subscription=sub, items=[ItemChange(addon, D("2"))],
                                           change_date=CHANGE_DAY, expected_total=preview.total)
    # someone else changed the subscription in between: the confirmed preview no longer holds
    sub.items.create(price=PriceFactory(), kind="add_on", quantity=1)
    with pytest.raises(Conflict):
        services.subscription_change_apply(actor=billing_user, subscription=sub, items=[ItemChange(addon, D("1"))],
                                           change_date=CHANGE_DAY, expected_fingerprint=preview.fingerprint)
    assert not PendingProration.objects.exists()


def test_trial_changes_are_not_prorated(billing_user):
    sub = make_subscription(status="trialing")
    _, rows = services.subscription_change_apply(actor=billing_user, subscription=sub, items=[ItemChange(addon_price(), D("1"))], change_date=CHANGE_DAY)
    assert rows == [] and sub.items.count() == 2


@pytest.mark.parametrize("status", ["paused", "suspended", "canceled", "expired"])
def test_changes_refused_when_not_running(status, billing_user):
    sub = make_subscription(status=status)
    with pytest.raises(TransitionNotAllowed):
        services.subscription_change_preview(actor=billing_user, subscription=sub, items=[ItemChange(addon_price(), D("1"))], change_date=CHANGE_DAY)


def test_invalid_changes(billing_user):
    sub = make_subscription()
    with pytest.raises(ValidationFailed):  # outside the period
        services.subscription_change_preview(actor=billing_user, subscription=sub, items=[ItemChange(addon_price(), D("1"))], change_date=date(2026, 12, 1))
    with pytest.raises(ValidationFailed):  # other currency
        services.subscription_change_preview(actor=billing_user, subscription=sub, items=[ItemChange(addon_price(currency="GHS"), D("1"))], change_date=CHANGE_DAY)
    with pytest.raises(ValidationFailed):  # base item
        services.subscription_change_preview(actor=billing_user, subscription=sub, remove=[sub.plan.base_price], change_date=CHANGE_DAY)
    with pytest.raises(ValidationFailed):  # nothing changes
        services.subscription_change_apply(actor=billing_user, subscription=sub, change_date=CHANGE_DAY)



class PreviewEqualsApplied(HypothesisTestCase):
    """Property: whatever the change and the day, the stored proration is exactly the preview."""

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        day=st.integers(min_value=0, max_value=29),
        old_qty=st.integers(min_value=1, max_value=40),
        new_qty=st.integers(min_value=0, max_value=40),
        unit=st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2),
        plan_change=st.booleans(),
    )
    def test_preview_equals_applied(self, day, old_qty, new_qty, unit, plan_change):
        from billing_ops.actors import system

        actor = system("test")
        sub = make_subscription()
        seat = PriceFactory(pricing_model="per_unit", unit_amount=unit)
        sub.items.create(price=seat, kind="add_on", quantity=old_qty)
        kwargs = {
            "items": [ItemChange(seat, D(new_qty))],
            "plan": PlanFactory(base_price__unit_amount=unit) if plan_change else None,
            "change_date": date(2026, 11, 1) + timedelta(days=day),
        }
        preview = services.subscription_change_preview(actor=actor, subscription=sub, **kwargs)
        if not preview.changed:
            return
        applied, rows = services.subscription_change_apply(actor=actor, subscription=sub, expected_fingerprint=preview.fingerprint, **kwargs)
        assert [(r.description, r.amount) for r in rows] == [(line.description, line.amount) for line in preview.lines]
        assert sum((r.amount for r in rows), D("0")) == preview.total == applied.total
        assert sorted((i.price_id, i.quantity) for i in sub.items.all()) == sorted((p.pk, q) for p, q in preview.items_after)
