import datetime as dt

import pytest


@pytest.fixture
def freeze_today(monkeypatch):
    """Set the dunning app's idea of today (its one clock: dunning.services.today)."""

    def set_today(day: dt.date):
        monkeypatch.setattr("dunning.services.today", lambda: day)
        return day

    return set_today


try:  # the payments app's fake Paystack fixtures, for end-to-end retries (present once payments is merged)
    from tests.payments.conftest import eager_tasks, fake_paystack, paystack  # noqa: F401
except ImportError:  # pragma: no cover
    pass
