"""Demo data for usage billing: meters in each currency in use, and this period's events.

``seed(ctx)`` runs after the subscriptions demo (it uses whatever subscriptions exist); the lead
calls it from ``subscriptions/demo.py`` (or seed_demo) at merge.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

METERS = [
    # code, name, unit, aggregation, property, pricing
    ("api-calls", "API calls", "calls", "sum", "", {"pricing_model": "tiered", "tiers": [
        {"up_to": "10000", "unit_price": "0.00", "flat_fee": "0.00"},
        {"up_to": None, "unit_price": "0.02", "flat_fee": "0.00"}]}),
    ("storage-gb", "Storage (peak)", "GB", "max", "", {"pricing_model": "per_unit", "unit_amount": Decimal("5.00")}),
    ("active-users", "Active users", "users", "count_distinct", "user_id", {"pricing_model": "package", "unit_amount": Decimal("50.00"), "package_size": 10}),
]


def seed(ctx) -> None:
    from subscriptions.models import Price, Product, Subscription
    from subscriptions.usage import USAGE_STATUSES, usage_events_record
    from subscriptions.usage_models import Meter

    actor = ctx.get("actor")
    live = list(Subscription.objects.filter(status__in=USAGE_STATUSES).order_by("id")[:40])
    if not live:
        return
    product, _ = Product.objects.get_or_create(name="Metered usage")
    for currency in sorted({s.currency for s in live}):
        for code, name, unit, aggregation, prop, pricing in METERS:
            if Meter.objects.filter(code=code, currency=currency).exists():
                continue
            price = Price.objects.create(product=product, currency=currency, nickname=f"{name} ({currency})", **pricing)
            Meter.objects.create(code=code, name=name, unit=unit, aggregation=aggregation, property=prop,
                                 price=price, currency=currency)
    rng = random.Random(8)
    now = timezone.now()
    items = []
    for sub in live:
        start = dt.datetime.combine(sub.current_period_start, dt.time(), dt.UTC)
        span = max(int((min(now, dt.datetime.combine(sub.current_period_end, dt.time(), dt.UTC)) - start).total_seconds()), 1)
        for n in range(rng.randint(5, 25)):
            when = start + dt.timedelta(seconds=rng.randrange(span))
            items.append({"subscription": sub.pk, "meter": "api-calls", "value": rng.randint(100, 2000),
                          "timestamp": when.isoformat(), "idempotency_key": f"demo-{sub.pk}-calls-{n}"})
            items.append({"subscription": sub.pk, "meter": "storage-gb", "value": str(Decimal(rng.randint(10, 900)) / 10),
                          "timestamp": when.isoformat(), "idempotency_key": f"demo-{sub.pk}-gb-{n}"})
            items.append({"subscription": sub.pk, "meter": "active-users", "value": 1, "properties": {"user_id": f"u{rng.randint(1, 30)}"},
                          "timestamp": when.isoformat(), "idempotency_key": f"demo-{sub.pk}-users-{n}"})
    from billing_ops.actors import system

    for i in range(0, len(items), 1000):
        usage_events_record(actor=actor or system("seed_demo"), items=items[i:i + 1000], now=now)
    out = ctx.get("stdout")
    if out:
        out.write(f"  usage: {Meter.objects.count()} meters, {len(items)} events")
