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
            except Exception:
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


TRIAL_NOTICE_DAYS = 3
RENEWAL_NOTICE_DAYS = 7


def renewal_total(subscription: Subscription):
    """What the next period's recurring items cost, tax included, by the invoicing amount engine."""
    from invoicing.amounts import LineInput, compute_invoice
    from subscriptions.selectors import subscription_billable_lines

    lines = [LineInput(description=line.description, quantity=line.quantity, unit_price=line.unit_price,
                       tax_rate=line.tax_rate, kind=line.kind) for line in subscription_billable_lines(subscription=subscription)]
    return compute_invoice(currency=subscription.currency, lines=lines).total if lines else None


def send_upcoming_notices(*, on: date | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Tell tenants their trial ends in TRIAL_NOTICE_DAYS days or their subscription renews in
    RENEWAL_NOTICE_DAYS days. One notice per subscription and date (the notification's dedupe key),
    so a second run, or two at once, sends nothing more."""
    from datetime import timedelta

    try:
        from dunning.models import Notification
        from dunning.notifications import notify
    except ImportError:
        return {"skipped": 1}
    on = on or timezone.now().date()
    summary = {"trial_ending": 0, "renewal_upcoming": 0}
    trial_day, renewal_day = on + timedelta(days=TRIAL_NOTICE_DAYS), on + timedelta(days=RENEWAL_NOTICE_DAYS)
    trials = Subscription.objects.filter(status="trialing", trial_end=trial_day)
    renewals = Subscription.objects.filter(status="active", auto_renew=True, cancel_at_period_end=False,
                                           current_period_end=renewal_day)
    for kind, queryset, day_field in (("trial_ending", trials, "trial_end"), ("renewal_upcoming", renewals, "current_period_end")):
        last_id = 0
        while True:
            batch = list(queryset.filter(pk__gt=last_id).select_related("tenant", "plan").order_by("pk")[:batch_size])
            if not batch:
                break
            last_id = batch[-1].pk
            for subscription in batch:
                day = getattr(subscription, day_field)
                key = f"{kind}:{subscription.pk}:{day.isoformat()}"
                if Notification.objects.filter(dedupe_key=key).exists():
                    continue
                context = {"plan": subscription.plan.name, "trial_end": day, "renewal_date": day,
                           "currency": subscription.currency, "amount": renewal_total(subscription)}
                notify(tenant=subscription.tenant, kind=kind, context=context, dedupe_key=key)
                summary[kind] += 1
    logger.info("Upcoming notices for %s: %s", on.isoformat(), summary)
    return summary


@shared_task(name="subscriptions.tasks.send_upcoming_notices", **DB_RETRY)
def send_upcoming_notices_task(on: str | None = None) -> dict[str, int]:
    """Celery entry point (daily 09:00 UTC)."""
    return send_upcoming_notices(on=date.fromisoformat(on) if on else None)
