"""Dunning's periodic tasks (CONTRACT §9). Each is batched, idempotent and safe to run twice at once.

- ``run_payment_retries`` (every 6 h): due retries through ``payments.services.charge_invoice``;
  a case is claimed under a row lock (``retry_claimed_at`` lease) so one case never has two
  attempts at once, and each retry number is recorded once (unique constraint).
- ``run_suspension_check`` (daily 02:15): sends ladder steps whose date has come and suspends
  cases whose planned suspension date has come.
- ``send_expiring_card_alerts`` (Mondays 10:00): one notice per card and month.
- ``deliver_outbox`` (every minute, via ``billing_ops.tasks.deliver_outbox``): outbox events
  and notice retries.
- ``send_notifications`` (queued by ``notifications.notify_many``): the emails of a batch's notices.
All dates come from ``dunning.timeline.plan_timeline`` through ``services.case_timeline``.
"""
from __future__ import annotations

import calendar
import datetime as dt
import logging

from celery import shared_task
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing_ops.errors import ApplicationError
from billing_ops.queue import DB_RETRY
from dunning import services
from dunning.models import ACTIVE_CASE_STATUSES, CaseStatus, DunningCase

logger = logging.getLogger(__name__)

BATCH = 200
RETRY_LEASE = dt.timedelta(minutes=15)


def _active_cases(*, extra: Q | None = None):
    """Active cases in id order, fetched in batches (keyset on id)."""
    last = 0
    while True:
        qs = DunningCase.objects.filter(status__in=ACTIVE_CASE_STATUSES, pk__gt=last).select_related("policy")
        if extra is not None:
            qs = qs.filter(extra)
        rows = list(qs.order_by("pk")[:BATCH])
        if not rows:
            return
        yield from rows
        last = rows[-1].pk


# --- Retries --------------------------------------------------------------------------------------

def charge_service():
    """``payments.services.charge_invoice`` once the payments app provides it, else None."""
    try:
        from payments.services import charge_invoice
    except ImportError:
        return None
    return charge_invoice


def payment_methods_in_order(case: DunningCase) -> list:
    """The tenant's reusable saved methods in the policy's order (default card, then the others)."""
    try:
        from payments.models import PaymentMethod
    except ImportError:
        return []
    methods = list(PaymentMethod.objects.filter(tenant_id=case.tenant_id, reusable=True).order_by("-is_default", "pk"))
    ordered = []
    for source in case.policy.retry_method_order:
        if source == "default_card":
            ordered += [m for m in methods if m.is_default and m not in ordered]
        elif source == "other_cards":
            ordered += [m for m in methods if not m.is_default and m not in ordered]
    return ordered


def _claim_retry(case_pk: int, number: int, now) -> DunningCase | None:
    with transaction.atomic():
        case = (DunningCase.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=case_pk, status__in=ACTIVE_CASE_STATUSES, retries_done=number - 1)
                .filter(Q(retry_claimed_at__isnull=True) | Q(retry_claimed_at__lt=now - RETRY_LEASE))
                .select_related("policy", "invoice", "tenant").first())
        if case is None:
            return None
        case.retry_claimed_at = now
        case.save(update_fields=["retry_claimed_at"])
        return case


def attempt_retry(case: DunningCase, number: int, charge) -> str:
    """Charge the case's invoice, trying the methods in order until one succeeds or is pending."""
    actor = services.dunning_actor()
    methods = payment_methods_in_order(case) or [None]
    outcomes, final, reason, ref = [], "failed", "", ""
    for method in methods:
        try:
            outcome = charge(actor=actor, invoice=case.invoice, payment_method=method, reason="retry")
        except ApplicationError as exc:
            outcome_status, outcome_reason, payment = "skipped", exc.message, None
        else:
            outcome_status, outcome_reason = outcome.status, getattr(outcome, "reason", "") or ""
            payment = getattr(outcome, "payment", None)
        label = f"{method.brand} ••{method.last4}" if method is not None else "default method"
        outcomes.append(f"{label}: {outcome_status}{f' ({outcome_reason})' if outcome_reason else ''}")
        final, reason = outcome_status, outcome_reason
        ref = getattr(payment, "reference", "") or getattr(payment, "pk", "") or ref
        if outcome_status in ("succeeded", "pending"):
            break
    services.case_record_retry(actor=actor, case=case, number=number, outcome=final, reason="; ".join(outcomes) if len(outcomes) > 1 else reason,
                               payment_ref=str(ref or ""))
    return final


@shared_task(name="dunning.tasks.run_payment_retries", **DB_RETRY)
def run_payment_retries() -> dict:
    charge = charge_service()
    if charge is None:
        logger.info("Payment retries skipped: payments.services.charge_invoice is not available")
        return {"skipped": "payments unavailable"}
    counts: dict[str, int] = {}
    day = services.today()
    for case in _active_cases(extra=Q(policy__auto_retry_enabled=True, retries_done__lt=F("policy__max_retries"))):
        due = services.case_timeline(case).retry_due(retries_done=case.retries_done, today=day)
        if due is None:
            continue
        claimed = _claim_retry(case.pk, due.number, timezone.now())
        if claimed is None:
            counts["busy"] = counts.get("busy", 0) + 1
            continue
        try:
            result = attempt_retry(claimed, due.number, charge)
        except IntegrityError:  # this retry number was recorded by someone else meanwhile
            DunningCase.objects.filter(pk=case.pk).update(retry_claimed_at=None)
            result = "duplicate"
        except Exception:
            DunningCase.objects.filter(pk=case.pk).update(retry_claimed_at=None)
            logger.exception("Retry %s of case %s failed", due.number, case.pk)
            result = "error"
        counts[result] = counts.get(result, 0) + 1
    return counts


# --- Reminders and suspension --------------------------------------------------------------------

def suspension_reason(case: DunningCase, day: dt.date) -> str | None:
    """Why the case must be suspended today, per its timeline, or None."""
    timeline = services.case_timeline(case)
    if case.status != CaseStatus.OPEN or timeline.suspension is None or timeline.suspension.date > day:
        return None
    exhausted = timeline.retries and case.retries_done >= len(timeline.retries)
    if case.policy.suspend_after_retries and exhausted:
        return f"Automatic: all {len(timeline.retries)} payment retries failed"
    grace_end = (case.due_date or case.failure_date) + dt.timedelta(days=case.policy.grace_period_days)
    if day >= grace_end:
        return f"Automatic: {case.policy.grace_period_days}-day grace period after the due date has passed"
    return None


@shared_task(name="dunning.tasks.run_suspension_check", **DB_RETRY)
def run_suspension_check() -> dict:
    actor = services.dunning_actor()
    day = services.today()
    counts = {"reminders": 0, "suspended": 0}
    for case in _active_cases():
        try:
            counts["reminders"] += services.case_send_due_reminders(actor=actor, case=case, on=day)
            case.refresh_from_db()
            reason = suspension_reason(case, day)
            if reason:
                services.case_suspend(actor=actor, case=case, reason=reason)
                counts["suspended"] += 1
        except (ApplicationError, IntegrityError) as exc:  # another run got there first
            logger.info("Suspension check skipped case %s: %s", case.pk, exc)
    return counts


# --- Expiring cards -------------------------------------------------------------------------------

def _months_ending_between(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        if start <= last <= end:
            months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@shared_task(name="dunning.tasks.send_expiring_card_alerts")
def send_expiring_card_alerts(within_days: int = 30) -> dict:
    try:
        from payments.models import PaymentMethod
    except ImportError:
        return {"skipped": "payments unavailable"}
    from dunning.notifications import notify

    day = services.today()
    months = _months_ending_between(day, day + dt.timedelta(days=within_days))
    if not months:
        return {"sent": 0}
    query = Q()
    for year, month in months:
        query |= Q(exp_year=year, exp_month=month)
    sent = 0
    for method in PaymentMethod.objects.filter(query, reusable=True).select_related("tenant").order_by("pk"):
        key = f"card_expiring:{method.pk}:{day:%Y-%m}"
        with transaction.atomic():
            note = notify(tenant=method.tenant, kind="card_expiring", dedupe_key=key, context={
                "card_brand": method.brand, "card_last4": method.last4, "card_expiry": f"{int(method.exp_month):02d}/{method.exp_year}",
            })
        sent += int(getattr(note, "created_now", False))
    return {"sent": sent}


# --- Outbound deliveries --------------------------------------------------------------------------

def deliver_outbox() -> dict:
    """Deliver due outbox events and retry failed notices (called by billing_ops.tasks.deliver_outbox)."""
    from dunning.notifications import retry_notifications
    from dunning.outbox import deliver_due

    counts = deliver_due()
    counts["notices_sent"] = retry_notifications()
    return counts


@shared_task(name="dunning.tasks.send_notifications")
def send_notifications(notification_ids: list[int]) -> dict:
    """Email the pending notices a batch recorded (``notifications.notify_many``); each is row-locked, so a
    notice is never sent twice, and one that fails is retried by ``retry_notifications``."""
    from dunning.notifications import send_notification

    counts: dict[str, int] = {}
    for pk in notification_ids:
        status = send_notification(pk)
        counts[status] = counts.get(status, 0) + 1
    return counts
