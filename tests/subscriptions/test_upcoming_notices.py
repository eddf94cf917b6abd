"""Trial-ending and renewal-upcoming notices: sent once per subscription and date, by a daily task."""
from __future__ import annotations

from datetime import date

import pytest

from dunning.models import Notification
from subscriptions.tasks import send_upcoming_notices
from tests.subscriptions.factories import make_subscription

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)


def test_trial_ending_in_three_days_and_renewal_in_seven_are_noticed_once():
    trial = make_subscription(status="trialing", start=date(2026, 11, 9), end=date(2026, 11, 23))
    renewing = make_subscription(start=date(2026, 10, 27), end=date(2026, 11, 27))
    make_subscription(start=date(2026, 11, 1), end=date(2026, 12, 1))  # renews later: nothing yet
    make_subscription(start=date(2026, 10, 27), end=date(2026, 11, 27), cancel_at_period_end=True)  # will not renew

    assert send_upcoming_notices(on=TODAY) == {"trial_ending": 1, "renewal_upcoming": 1}
    assert send_upcoming_notices(on=TODAY) == {"trial_ending": 0, "renewal_upcoming": 0}

    trial_note = Notification.objects.get(kind="trial_ending")
    assert trial_note.tenant_id == trial.tenant_id and "2026-11-23" in trial_note.subject
    renewal_note = Notification.objects.get(kind="renewal_upcoming")
    assert renewal_note.tenant_id == renewing.tenant_id and "2026-11-27" in renewal_note.subject


def test_renewal_notice_quotes_the_amount_with_tax():
    renewing = make_subscription(start=date(2026, 10, 27), end=date(2026, 11, 27))
    send_upcoming_notices(on=TODAY)
    note = Notification.objects.get(kind="renewal_upcoming", tenant=renewing.tenant)
    from subscriptions.tasks import renewal_total

    total = renewal_total(renewing)
    assert total is not None and total > 0
    assert f"{total:,}" in note.body_text or str(total) in note.body_text
