"""POST /api/usage-events: token auth, idempotency, per-item errors, batch limits."""
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from subscriptions.usage_models import UsageEvent

pytestmark = pytest.mark.django_db
URL = "/api/usage-events"


def ts(day: dt.date, hour=12) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC).isoformat()


def event(subscription, key, *, meter="api-calls", value="1", when=None, **extra):
    when = when or timezone.now() - dt.timedelta(minutes=1)
    return {"subscription": subscription.pk, "meter": meter, "value": value, "idempotency_key": key,
            "timestamp": when.isoformat(), **extra}


def test_single_event_is_stored_with_token_auth(machine, subscription, meter):
    response = machine.post(URL, event(subscription, "k1", value="3.5", properties={"user_id": "u1"}), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["result"] == "created"
    stored = UsageEvent.objects.get()
    assert stored.value == Decimal("3.5") and stored.tenant_id == subscription.tenant_id
    assert stored.meter == meter and stored.properties == {"user_id": "u1"}


def test_same_idempotency_key_twice_is_stored_once(machine, subscription, meter):
    first = machine.post(URL, event(subscription, "dup"), format="json")
    second = machine.post(URL, event(subscription, "dup", value="99"), format="json")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["result"] == "duplicate"
    assert UsageEvent.objects.count() == 1 and UsageEvent.objects.get().value == 1


def test_duplicate_key_inside_one_batch_is_stored_once(machine, subscription, meter):
    response = machine.post(URL, {"events": [event(subscription, "a"), event(subscription, "a")]}, format="json")
    body = response.json()
    assert [r["result"] for r in body["results"]] == ["created", "duplicate"]
    assert UsageEvent.objects.count() == 1


def test_unique_constraint_holds_even_if_the_pre_check_is_bypassed(subscription, meter):
    from django.db import IntegrityError, transaction

    from tests.usage.factories import UsageEventFactory

    UsageEventFactory(subscription=subscription, meter=meter, idempotency_key="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        UsageEventFactory(subscription=subscription, meter=meter, idempotency_key="x")
    # bulk insert with ON CONFLICT DO NOTHING skips it silently
    UsageEvent.objects.bulk_create(
        [UsageEvent(tenant=subscription.tenant, subscription=subscription, meter=meter, value=1,
                    timestamp=timezone.now(), idempotency_key="x")], ignore_conflicts=True)
    assert UsageEvent.objects.count() == 1


def test_batch_rejects_bad_items_per_item_and_keeps_good_ones(machine, subscription, meter, period):
    start, end = period
    batch = [
        event(subscription, "good-1"),
        event(subscription, "unknown-meter", meter="nope"),
        event(subscription, "before", when=dt.datetime.combine(start, dt.time(), dt.UTC) - dt.timedelta(seconds=1)),
        event(subscription, "after", when=dt.datetime.combine(end, dt.time(), dt.UTC)),
        {"meter": "api-calls", "subscription": subscription.pk},  # no key
        event(subscription, "bad-value", value="lots"),
        event(subscription, "negative", value="-1"),
        {"idempotency_key": "who", "meter": "api-calls", "subscription": 999999},
        event(subscription, "good-2", value=2),
        "not an object",
    ]
    response = machine.post(URL, batch, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["received"], body["created"], body["rejected"]) == (10, 2, 8)
    by_index = {r["index"]: r for r in body["results"]}
    assert by_index[0]["status"] == 201 and by_index[8]["status"] == 201
    assert by_index[1]["status"] == 404 and by_index[1]["error"]["code"] == "unknown_meter"
    assert by_index[2]["error"]["code"] == "outside_period" and by_index[2]["status"] == 400
    assert by_index[3]["error"]["code"] == "outside_period"
    assert by_index[4]["status"] == 400 and "idempotency_key" in by_index[4]["error"]["fields"]
    assert by_index[5]["error"]["fields"] == {"value": ["Not a number."]}
    assert by_index[6]["status"] == 400
    assert by_index[7]["status"] == 404 and by_index[7]["error"]["code"] == "unknown_subscription"
    assert by_index[9]["status"] == 400
    assert sorted(UsageEvent.objects.values_list("idempotency_key", flat=True)) == ["good-1", "good-2"]


def test_single_bad_event_answers_its_error(machine, subscription, meter):
    response = machine.post(URL, event(subscription, "k", meter="missing"), format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_meter"


def test_event_by_tenant_resolves_its_live_subscription(machine, subscription, meter):
    body = event(subscription, "t1")
    del body["subscription"]
    body["tenant"] = subscription.tenant_id
    assert machine.post(URL, body, format="json").status_code == 201
    assert UsageEvent.objects.get().subscription == subscription


def test_inactive_subscription_takes_no_usage(machine, subscription, meter):
    subscription.status = "suspended"
    subscription.save()
    response = machine.post(URL, event(subscription, "s"), format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "subscription_not_active"


def test_meter_in_another_currency_is_unknown_for_this_subscription(machine, subscription):
    from tests.factories import PriceFactory
    from tests.usage.factories import MeterFactory

    MeterFactory(code="api-calls", price=PriceFactory(currency="USD", pricing_model="per_unit", unit_amount=Decimal("1.00")))
    response = machine.post(URL, event(subscription, "c"), format="json")
    assert response.status_code == 404


def test_batch_over_1000_is_refused_whole(machine, subscription, meter):
    response = machine.post(URL, {"events": [event(subscription, f"k{i}") for i in range(1001)]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_too_large"
    assert not UsageEvent.objects.exists()


def test_batch_of_1000_is_stored(machine, subscription, meter, django_assert_max_num_queries):
    events = [event(subscription, f"k{i}") for i in range(1000)]
    # auth (3) + subscriptions, meters, existing keys (3) + the insert (SQLite splits it by its variable limit)
    with django_assert_max_num_queries(20):
        response = machine.post(URL, {"events": events}, format="json")
    assert response.json()["created"] == 1000
    assert UsageEvent.objects.count() == 1000


def test_future_event_is_refused(machine, subscription, meter):
    response = machine.post(URL, event(subscription, "f", when=timezone.now() + dt.timedelta(hours=1)), format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "in_future"


def test_anonymous_is_401_and_staff_without_capability_403(subscription, meter, billing_user):
    from rest_framework.test import APIClient

    assert APIClient().post(URL, event(subscription, "a"), format="json").status_code == 401
    client = APIClient()
    client.force_authenticate(billing_user)
    assert client.post(URL, event(subscription, "a"), format="json").status_code == 403


def test_usage_client_token_reaches_nothing_else(machine, subscription):
    assert machine.get("/api/meters/").status_code == 403
    assert machine.get(f"/api/subscriptions/{subscription.pk}/usage").status_code == 403


def test_create_usage_client_command_prints_a_working_token(subscription, meter):
    from io import StringIO

    from django.core.management import call_command
    from rest_framework.test import APIClient

    out = StringIO()
    call_command("create_usage_client", "cli", stdout=out)
    key = out.getvalue().split("token: ")[1].split()[0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.post(URL, event(subscription, "cmd"), format="json").status_code == 201


def test_idempotency_keys_are_scoped_per_tenant(machine, subscription, meter, period):
    from tests.factories import SubscriptionFactory

    start, end = period
    other = SubscriptionFactory(billing_anchor=start, current_period_start=start, current_period_end=end)
    body = machine.post(URL, [event(subscription, "same"), event(other, "same"), event(other, "same")], format="json").json()
    assert (body["created"], body["duplicates"]) == (2, 1)
    assert UsageEvent.objects.filter(idempotency_key="same").count() == 2


def test_value_defaults_to_one_and_timestamp_to_now(machine, subscription, meter):
    response = machine.post(URL, {"subscription": subscription.pk, "meter": "api-calls", "idempotency_key": "d"}, format="json")
    assert response.status_code == 201
    stored = UsageEvent.objects.get()
    assert stored.value == 1 and abs((timezone.now() - stored.timestamp).total_seconds()) < 60


@pytest.mark.parametrize("body,code", [
    ('{"events": "nope"}', "invalid"),
    ('{"events": []}', "invalid"),
    ("[]", "invalid"),
    ("{not json", "malformed"),
])
def test_malformed_batches_are_refused_whole(machine, body, code):
    response = machine.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == code
