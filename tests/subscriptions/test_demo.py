import pytest

from accounts import demo as accounts_demo
from billing_ops.actors import system
from subscriptions import demo
from subscriptions.models import Plan, Subscription, SubscriptionStatus
from subscriptions.tasks import renew_due

pytestmark = pytest.mark.django_db


def test_seed_gives_every_status_and_a_varied_catalogue():
    ctx = {"actor": system("seed_demo")}
    accounts_demo.seed(ctx)
    demo.seed(ctx)
    statuses = set(Subscription.objects.values_list("status", flat=True))
    assert statuses == {s.value for s in SubscriptionStatus}
    assert {p.base_price.pricing_model for p in Plan.objects.select_related("base_price")} == {"flat", "volume", "package"}
    assert set(Plan.objects.values_list("interval", flat=True)) == {"daily", "weekly", "monthly", "quarterly", "yearly"}
    assert len(ctx["subscriptions"]) == Subscription.objects.count()
    assert Subscription.objects.filter(pending_prorations__isnull=False, status="active").distinct().count() == 1
    # the seeded book is current: a renewal run today has nothing to do
    assert renew_due()["renewed"] == 0
