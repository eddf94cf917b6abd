"""Aggregation per subscription and period: one query per meter, each kind, on SQLite and PostgreSQL."""
import datetime as dt
from decimal import Decimal

import pytest

from subscriptions.usage import day_start, meter_usage, meter_usage_by_subscription, usage_for_period
from tests.factories import SubscriptionFactory
from tests.usage.factories import MeterFactory, UsageEventFactory

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def at(day, hour=12, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture
def sub():
    return SubscriptionFactory()


def add(sub, meter, value, when, **props):
    return UsageEventFactory(subscription=sub, meter=meter, value=Decimal(value), timestamp=when, properties=props)


def usage(meter, sub):
    return meter_usage(meter=meter, subscription=sub, start=day_start(NOV[0]), end=day_start(NOV[1]))


@pytest.fixture
def book(sub):
    """Events: 5 (Nov 2), 2.5 (Nov 20, latest), 7 (Nov 10), one in October and one on Dec 1 (outside)."""
    meters = {kind: MeterFactory(aggregation=kind, property="user_id" if kind == "count_distinct" else "")
              for kind in ("sum", "max", "last", "average", "count_distinct")}
    other = SubscriptionFactory()
    for meter in meters.values():
        add(sub, meter, "5", at(2), user_id="ana")
        add(sub, meter, "2.5", at(20), user_id="ben")
        add(sub, meter, "7", at(10), user_id="ana")
        add(sub, meter, "100", dt.datetime(2026, 10, 31, 23, 59, tzinfo=dt.UTC), user_id="zed")
        add(sub, meter, "100", dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC), user_id="yan")
        add(other, meter, "1000", at(25), user_id="other")
    return meters


@pytest.mark.parametrize("kind,expected", [
    ("sum", Decimal("14.5")),          # 5 + 2.5 + 7
    ("max", Decimal("7")),
    ("last", Decimal("2.5")),          # the Nov 20 event is the latest, whatever the insert order
    ("average", Decimal("4.833333")),  # 14.5 / 3, rounded to 6 places
    ("count_distinct", Decimal("2")),  # ana, ben
])
def test_each_aggregation_kind(book, sub, kind, expected, django_assert_num_queries):
    with django_assert_num_queries(1):
        quantity, events = usage(book[kind], sub)
    assert quantity == expected
    assert events == 3


def test_last_breaks_timestamp_ties_by_insertion(sub):
    meter = MeterFactory(aggregation="last")
    add(sub, meter, "1", at(5))
    add(sub, meter, "9", at(5))
    assert usage(meter, sub)[0] == Decimal("9")


def test_no_events_is_zero(sub):
    for kind in ("sum", "max", "last", "average", "count_distinct"):
        meter = MeterFactory(aggregation=kind, property="p")
        assert usage(meter, sub) == (Decimal("0"), 0)


def test_count_distinct_ignores_events_without_the_property(sub):
    meter = MeterFactory(aggregation="count_distinct", property="user_id")
    add(sub, meter, "1", at(3), user_id="a")
    add(sub, meter, "1", at(4))
    add(sub, meter, "1", at(5), user_id="a")
    add(sub, meter, "1", at(6), user_id="b")
    assert usage(meter, sub)[0] == Decimal("2")


@pytest.mark.parametrize("kind,expected_sub,expected_other", [
    ("sum", "14.5", "1000"), ("max", "7", "1000"), ("last", "2.5", "1000"),
    ("average", "4.833333", "1000"), ("count_distinct", "2", "1"),
])
def test_grouped_by_subscription_in_one_query(book, sub, kind, expected_sub, expected_other, django_assert_num_queries):
    with django_assert_num_queries(1):
        grouped = meter_usage_by_subscription(meter=book[kind], start=day_start(NOV[0]), end=day_start(NOV[1]))
    assert grouped[sub.pk] == (Decimal(expected_sub), 3)
    others = [v for k, v in grouped.items() if k != sub.pk]
    assert others == [(Decimal(expected_other), 1)]


def test_usage_for_period_is_one_query_per_meter_plus_one(book, sub, django_assert_num_queries):
    with django_assert_num_queries(1 + len(book)):
        result = usage_for_period(subscription=sub, period_start=NOV[0], period_end=NOV[1])
    assert {u.meter.aggregation: u.quantity for u in result}["sum"] == Decimal("14.5")
