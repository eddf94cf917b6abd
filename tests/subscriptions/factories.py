"""Subscription test data on top of tests/factories.py."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from subscriptions.models import Coupon
from tests.factories import (  # noqa: F401  (re-exported for the subscription tests)
    PlanFactory,
    PriceFactory,
    ProductFactory,
    SubscriptionFactory,
    TenantFactory,
)


def make_subscription(*, status="active", start=date(2026, 11, 1), end=date(2026, 12, 1), **kwargs):
    extra = {}
    if status == "trialing":
        extra["trial_end"] = end
        extra["billing_anchor"] = end
    return SubscriptionFactory(status=status, current_period_start=start, current_period_end=end,
                               **{"billing_anchor": start, **extra, **kwargs})


def addon_price(*, amount="3000.00", currency="NGN", interval="monthly", **kwargs):
    return PriceFactory(unit_amount=Decimal(amount), currency=currency, interval=interval, **kwargs)


def percent_coupon(code="TWENTY", percent="20", **kwargs):
    return Coupon.objects.create(code=code, name=code, kind="percent", percent_off=Decimal(percent), **kwargs)
