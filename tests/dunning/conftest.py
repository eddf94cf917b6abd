import datetime as dt

import pytest


@pytest.fixture
def freeze_today(monkeypatch):
    """Set the dunning app's idea of today (its one clock: dunning.services.today)."""

    def set_today(day: dt.date):
        monkeypatch.setattr("dunning.services.today", lambda: day)
        return day

    return set_today


# The payments app's fake Paystack fixtures, for end-to-end retries.
from tests.payments.conftest import eager_tasks, fake_paystack, paystack  # noqa: E402,F401
