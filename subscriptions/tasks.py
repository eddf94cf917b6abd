"""Subscription renewal (CONTRACT §9: daily 00:00 UTC)."""
from __future__ import annotations

import logging
from datetime import date

from celery import shared_task
from django.utils import timezone

from billing_ops.actors import system
from billing_ops.queue import DB_CONNECTION_ERRORS, DB_RETRY
from subscriptions.models import Subscription
from subscriptions.services import RENEWABLE_STATUSES, subscription_renew_if_due

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


def renew_due(*, on: date | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Advance every subscription whose period ended on or before ``on`` (default: today, UTC).

    Ids are read in keyset batches; each subscription is then processed in its own transaction
    under a row lock taken with SKIP LOCKED (PostgreSQL), re-checking that it is still due. So a
    second run finds nothing left to do, a concurrent run skips rows another worker holds, and a
    crash leaves each subscription either fully renewed or untouched. One failing subscription is
    logged and does not stop the others.
    """
    on = on or timezone.now().date()
    actor = system("renewal")
    summary = {"renewed": 0, "canceled": 0, "expired": 0, "trial_ended": 0, "failed": 0}
    last_id = 0
    due = Subscription.objects.filter(status__in=RENEWABLE_STATUSES, current_period_end__lte=on)
    while True:
        ids = list(due.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        last_id = ids[-1]
        for subscription_id in ids:
            try:
                outcomes = subscription_renew_if_due(actor=actor, subscription_id=subscription_id, on=on)
            except DB_CONNECTION_ERRORS:
                raise  # the connection is gone: stop now; the task is retried (billing_ops.queue.DB_RETRY)
            except Exception:  # noqa: BLE001 - keep renewing the others; the failure is logged
                logger.exception("Renewal of subscription %s failed", subscription_id)
                summary["failed"] += 1
                continue
            for outcome in outcomes:
                summary[outcome] = summary.get(outcome, 0) + 1
    logger.info("Renewal run for %s: %s", on.isoformat(), summary)
    return summary


@shared_task(name="subscriptions.tasks.renew_due_subscriptions", **DB_RETRY)
def renew_due_subscriptions(on: str | None = None) -> dict[str, int]:
    """Celery entry point; ``on`` is an ISO date (for catching up), default today UTC."""
    return renew_due(on=date.fromisoformat(on) if on else None)
