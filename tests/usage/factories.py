"""Factories for usage billing: prices for meters, meters and events."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from subscriptions.usage_models import Meter, UsageEvent
from tests.factories import PriceFactory


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter

    code = factory.Sequence(lambda n: f"meter-{n}")
    name = factory.Sequence(lambda n: f"Meter {n}")
    unit = "calls"
    aggregation = "sum"
    price = factory.SubFactory(PriceFactory, pricing_model="per_unit", unit_amount=Decimal("2.00"))
    currency = factory.SelfAttribute("price.currency")


class UsageEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageEvent

    subscription = None  # required
    tenant = factory.SelfAttribute("subscription.tenant")
    meter = None  # required
    value = Decimal("1")
    timestamp = dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC)
    idempotency_key = factory.Sequence(lambda n: f"key-{n}")
    properties = factory.LazyFunction(dict)
