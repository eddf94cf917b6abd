import datetime as dt

import pytest
from django.utils import timezone

from billing_ops.actors import system
from subscriptions.usage_models import Meter, UsageEvent
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_usage_demo_seed_creates_meters_and_events_and_is_rerunnable():
    from subscriptions.usage_demo import seed

    start = timezone.now().date().replace(day=1)
    SubscriptionFactory(billing_anchor=start, current_period_start=start, current_period_end=(start + dt.timedelta(days=32)).replace(day=1))
    seed({"actor": system("seed_demo")})
    assert Meter.objects.count() == 3
    count = UsageEvent.objects.count()
    assert count > 0
    seed({"actor": system("seed_demo")})
    assert UsageEvent.objects.count() == count and Meter.objects.count() == 3
