"""Invoice generation takes the closed period's usage (active once invoicing calls the usage hook)."""
import datetime as dt
import inspect
from decimal import Decimal

import pytest

from billing_ops.actors import system
from tests.factories import SubscriptionFactory
from tests.usage.factories import MeterFactory, UsageEventFactory

pytestmark = pytest.mark.django_db


def _wired() -> bool:
    try:
        from invoicing import generation
    except ImportError:
        return False
    return "usage_lines_for" in inspect.getsource(generation)


@pytest.mark.skipif(not _wired(), reason="invoicing.generation does not call subscriptions.usage yet")
def test_generation_adds_the_previous_period_usage():
    from invoicing.generation import invoice_generate_for_subscription

    sub = SubscriptionFactory(billing_anchor=dt.date(2026, 10, 1), current_period_start=dt.date(2026, 11, 1),
                              current_period_end=dt.date(2026, 12, 1))
    meter = MeterFactory(name="Calls", unit="calls")  # 2.00 per call
    UsageEventFactory(subscription=sub, meter=meter, value=Decimal("5"), timestamp=dt.datetime(2026, 10, 20, tzinfo=dt.UTC))
    UsageEventFactory(subscription=sub, meter=meter, value=Decimal("50"), timestamp=dt.datetime(2026, 11, 1, 0, 30, tzinfo=dt.UTC))
    invoice = invoice_generate_for_subscription(actor=system("test"), subscription_id=sub.pk, today=dt.date(2026, 11, 1))
    lines = list(invoice.lines.values_list("kind", "quantity", "unit_price", "amount", "period_start", "period_end"))
    assert ("usage", Decimal("5"), Decimal("2.00"), Decimal("10.00"), dt.date(2026, 10, 1), dt.date(2026, 11, 1)) in lines
    assert invoice.subtotal == Decimal("39.00")  # plan 29.00 + October's usage 10.00 (November's is not billed yet)
