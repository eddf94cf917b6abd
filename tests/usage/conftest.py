import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing_ops.actors import system


def current_period():
    today = timezone.now().date()
    start = today.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


@pytest.fixture
def period():
    return current_period()


@pytest.fixture
def subscription(db, period):
    from tests.factories import SubscriptionFactory

    start, end = period
    return SubscriptionFactory(billing_anchor=start, current_period_start=start, current_period_end=end)


@pytest.fixture
def meter(db):
    from tests.usage.factories import MeterFactory

    return MeterFactory(code="api-calls", name="API calls", unit="calls")


@pytest.fixture
def client_token(db):
    from subscriptions.usage import usage_client_create

    user, key = usage_client_create(actor=system("test"), name="gateway")
    return user, key


@pytest.fixture
def machine(client_token):
    """An API client authenticated the way integrators are: with a token header."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {client_token[1]}")
    return client
