import pytest

from billing_ops import events


@pytest.fixture
def captured_events():
    """Every domain event emitted during the test, as (name, payload)."""
    seen = []
    names = [
        "subscription.created", "subscription.trial_started", "subscription.activated", "subscription.past_due",
        "subscription.paused", "subscription.resumed", "subscription.suspended", "subscription.reactivated",
        "subscription.canceled", "subscription.cancel_scheduled", "subscription.cancel_unscheduled",
        "subscription.expired", "subscription.renewed", "subscription.trial_ended", "subscription.changed",
        "subscription.updated", "tenant.suspended", "tenant.reactivated",
    ]

    def record(event):
        seen.append((event.name, event.payload))

    events.subscribe(*names)(record)
    yield seen
    for name in names:
        if record in events._subscribers.get(name, []):
            events._subscribers[name].remove(record)
