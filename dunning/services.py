"""Dunning writes: the policy, opening, reminding, suspending, recovering and reactivating.

Each service is one transaction: lock the case, check CASE_TRANSITIONS, write a RecoveryRecord
and an audit entry, emit a ``dunning.*`` event. Planned dates come from ``dunning.timeline``
only. Suspensions, reactivations and cancellations reach the tenant's deployment through the
outbox rows written by ``dunning.subscribers`` in the same transaction.
"""
from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone

from accounts import audit
from billing_ops import events
from billing_ops.access import WRITE, require_capability
from billing_ops.actors import actor_label, system
from billing_ops.errors import Conflict, TransitionNotAllowed, ValidationFailed
from billing_ops.state import check_transition
from dunning import policy as policy_rules
from dunning.models import (
    ACTIVE_CASE_STATUSES,
    CASE_TRANSITIONS,
    CaseStatus,
    DunningCase,
    DunningPolicy,
    Notification,
    NotificationKind,
    NotificationStatus,
    OpenedBy,
    RecordKind,
    RecoveryRecord,
)
from dunning.timeline import REMINDER, Timeline, plan_timeline

logger = logging.getLogger(__name__)

NON_PAYMENT_PREFIX = "Non-payment"
POLICY_FIELDS = ["max_retries", "retry_interval_days", "grace_period_days", "suspend_after_retries",
                 "auto_retry_enabled", "retry_method_order", "ladder"]


def dunning_actor():
    return system("dunning")


def today() -> dt.date:
    return timezone.localdate()


# --- Policy -----------------------------------------------------------------------------------

def policy_get() -> DunningPolicy:
    """The organisation's policy (the default row, created with CONTRACT §8 defaults on first use)."""
    policy = DunningPolicy.objects.filter(is_default=True).first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            return DunningPolicy.objects.create(is_default=True)
    except IntegrityError:
        return DunningPolicy.objects.get(is_default=True)


def policy_validate(data: dict) -> dict:
    """Clean policy fields or raise ValidationFailed with one message per field."""
    from dunning.models import NotificationKind

    clean, errors = policy_rules.clean_policy(data, template_kinds=set(NotificationKind.values))
    if errors:
        raise ValidationFailed("The dunning policy is not valid.", fields=errors)
    return clean


def policy_update(*, actor, **data) -> DunningPolicy:
    """Replace the policy's settings (all fields) and re-plan every active case from it."""
    require_capability(actor, WRITE)
    current = policy_get()
    merged = {name: getattr(current, name) for name in POLICY_FIELDS}
    merged.update({k: v for k, v in data.items() if k in POLICY_FIELDS})
    unknown = set(data) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown policy fields: {', '.join(sorted(unknown))}.")
    clean = policy_validate(merged)
    with transaction.atomic():
        policy = DunningPolicy.objects.select_for_update().get(pk=current.pk)
        before = audit.snapshot(policy, POLICY_FIELDS)
        for name, value in clean.items():
            setattr(policy, name, value)
        policy.updated_by = actor if getattr(actor, "pk", None) else None
        policy.save()
        audit.record(actor=actor, action="dunning.policy_updated", obj=policy, before=before, after=audit.snapshot(policy, POLICY_FIELDS))
        for case in DunningCase.objects.filter(policy=policy, status__in=ACTIVE_CASE_STATUSES).select_related("policy"):
            case.policy = policy
            _refresh_next_action(case)
            case.save(update_fields=["next_action", "next_action_at", "updated_at"])
    return policy


# --- Timeline helpers --------------------------------------------------------------------------

def case_timeline(case: DunningCase) -> Timeline:
    return plan_timeline(case.policy, case.failure_date, case.due_date)


def _at_start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _refresh_next_action(case: DunningCase, timeline: Timeline | None = None) -> None:
    if case.status not in ACTIVE_CASE_STATUSES:
        case.next_action, case.next_action_at = "", None
        return
    timeline = timeline or case_timeline(case)
    nxt = timeline.next_action(retries_done=case.retries_done, step=case.step, suspended=case.status == CaseStatus.SUSPENDED)
    case.next_action = nxt.kind if nxt else ""
    case.next_action_at = _at_start_of(nxt.date) if nxt else None


def _record(case: DunningCase, *, kind: str, actor, number=None, outcome: str = "", detail: str = "", payment_ref: str = "") -> RecoveryRecord:
    return RecoveryRecord.objects.create(case=case, kind=kind, number=number, outcome=outcome, detail=detail[:2000],
                                         actor_label=actor_label(actor), payment_ref=str(payment_ref or "")[:64])


def _lock(case_or_pk) -> DunningCase:
    pk = getattr(case_or_pk, "pk", case_or_pk)
    return DunningCase.objects.select_for_update(of=("self",)).select_related("policy", "tenant", "invoice").get(pk=pk)


def notice_context(case: DunningCase, timeline: Timeline | None = None, **extra) -> dict:
    invoice = case.invoice
    timeline = timeline or case_timeline(case)
    next_retry = timeline.retries[case.retries_done].date if case.retries_done < len(timeline.retries) else ""
    return {
        "amount": invoice.amount_due, "currency": invoice.currency, "invoice_number": invoice.number or f"#{invoice.pk}",
        "due_date": invoice.due_date or "", "case_id": case.pk, "step": case.step, "reason": case.last_failure_reason,
        "next_retry_date": next_retry, "suspension_date": timeline.suspension.date if timeline.suspension else "", **extra,
    }


# --- Opening ------------------------------------------------------------------------------------

def case_open(*, actor, invoice, opened_by: str, reason: str = "", payment_ref: str = "") -> tuple[DunningCase | None, bool]:
    """Open the invoice's case (at most one per invoice, ever); a repeat records the new failure.

    Returns (case, created). Nothing opens for an invoice that is not issued/overdue with an
    amount due. Sends every ladder step already due (normally "payment failed") right away.
    """
    from invoicing.models import Invoice, InvoiceStatus

    require_capability(actor, WRITE)
    if opened_by not in OpenedBy.values:
        raise ValidationFailed(f"Unknown reason to open a case: {opened_by!r}.")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        existing = DunningCase.objects.select_for_update().filter(invoice=invoice).first()
        if existing is not None:
            if existing.status in ACTIVE_CASE_STATUSES and opened_by == OpenedBy.PAYMENT_FAILED:
                existing.last_failure_reason = (reason or existing.last_failure_reason)[:255]
                existing.save(update_fields=["last_failure_reason", "updated_at"])
                _record(existing, kind=RecordKind.FAILURE, actor=actor, outcome="failed", detail=reason, payment_ref=payment_ref)
            return existing, False
        if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE) or invoice.amount_due <= 0:
            return None, False
        policy = policy_get()
        case = DunningCase(
            tenant_id=invoice.tenant_id, invoice=invoice, subscription_id=invoice.subscription_id, policy=policy,
            opened_by=opened_by, failure_date=today(), due_date=invoice.due_date, currency=invoice.currency,
            amount_at_risk=invoice.amount_due, amount_due=invoice.amount_due, last_failure_reason=(reason or "")[:255],
        )
        _refresh_next_action(case)
        try:
            with transaction.atomic():
                case.save()
        except IntegrityError:  # opened concurrently by another event: that one wins
            return DunningCase.objects.get(invoice=invoice), False
        _record(case, kind=RecordKind.OPENED, actor=actor, outcome=opened_by, detail=reason, payment_ref=payment_ref)
        audit.record(actor=actor, action="dunning.case_opened", obj=case,
                     after={"invoice": invoice.pk, "opened_by": opened_by, "amount_at_risk": case.amount_at_risk, "reason": reason})
        events.emit("dunning.case_opened", actor=actor, case_id=case.pk, invoice_id=invoice.pk, tenant_id=case.tenant_id)
        _mark_subscription_past_due(actor=actor, case=case)
        case = _lock(case)
        _send_due_steps(case, actor=actor, on=today())
    return case, True


def _mark_subscription_past_due(*, actor, case: DunningCase) -> None:
    """An active subscription with a case is past due (the subscriptions app's service, once merged)."""
    from subscriptions.models import SUBSCRIPTION_TRANSITIONS, SubscriptionStatus

    service = _call("subscriptions.services", "subscription_mark_past_due")
    subscription = case.subscription
    if service is None or subscription is None:
        return
    if SubscriptionStatus.PAST_DUE in SUBSCRIPTION_TRANSITIONS.get(subscription.status, ()) and \
            subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        service(actor=actor, subscription=subscription, reason=f"Dunning case #{case.pk} opened")


# --- Ladder -------------------------------------------------------------------------------------

def _send_step(case: DunningCase, *, actor, timeline: Timeline, manual: bool) -> RecoveryRecord:
    """Send ladder step ``case.step + 1`` now and advance the case (caller holds the row lock)."""
    from dunning.notifications import notify

    event = timeline.reminders[case.step]
    kind = event.template if event.template in NotificationKind.values else NotificationKind.DUNNING_REMINDER
    note = notify(tenant=case.tenant, kind=kind, case=case, channel=event.channel,
                  context=notice_context(case, timeline, step=event.number, step_label=event.label),
                  dedupe_key=f"dunning:{case.pk}:step:{event.number}")
    record = _record(case, kind=RecordKind.REMINDER, actor=actor, number=event.number,
                     outcome="queued" if note.status == NotificationStatus.PENDING else note.status, detail=f"{event.label} ({kind}, {event.channel}){' — sent by staff' if manual else ''}")
    case.step = event.number
    _refresh_next_action(case, timeline)
    case.save(update_fields=["step", "next_action", "next_action_at", "updated_at"])
    return record


def _send_due_steps(case: DunningCase, *, actor, on: dt.date) -> int:
    """Send every ladder step whose date has come (steps sent by the suspension wait for it)."""
    timeline = case_timeline(case)
    sent = 0
    while case.status in ACTIVE_CASE_STATUSES:
        due = timeline.reminder_due(step=case.step, today=on, suspended=case.status == CaseStatus.SUSPENDED)
        if due is None:
            break
        _send_step(case, actor=actor, timeline=timeline, manual=False)
        sent += 1
    return sent


def case_remind(*, actor, case: DunningCase) -> DunningCase:
    """Advance the ladder one step and send that step's notice now (409 on a closed case)."""
    require_capability(actor, WRITE)
    with transaction.atomic():
        case = _lock(case)
        if case.status not in ACTIVE_CASE_STATUSES:
            raise TransitionNotAllowed(f"Case #{case.pk} is {case.status}; reminders go to open or suspended cases only.",
                                       code="case_closed")
        timeline = case_timeline(case)
        if case.step >= len(timeline.reminders):
            raise Conflict("Every step of the reminder ladder has been sent.", code="ladder_complete")
        nxt = timeline.reminders[case.step]
        if nxt.at_suspension and case.status != CaseStatus.SUSPENDED:
            raise Conflict(f"The next step ({nxt.label}) is sent by the suspension itself; suspend the case instead.",
                           code="step_needs_suspension")
        record = _send_step(case, actor=actor, timeline=timeline, manual=True)
        audit.record(actor=actor, action="dunning.case_reminded", obj=case, after={"step": case.step, "notice": record.outcome})
        events.emit("dunning.case_reminded", actor=actor, case_id=case.pk, tenant_id=case.tenant_id, step=case.step)
    return case


advance_dunning_case = case_remind


def case_send_due_reminders(*, actor, case: DunningCase, on: dt.date | None = None) -> int:
    """The daily sweep's reminder part for one case (idempotent: a step is sent once)."""
    with transaction.atomic():
        case = _lock(case)
        return _send_due_steps(case, actor=actor, on=on or today())


# --- Retries --------------------------------------------------------------------------------------

def case_record_retry(*, actor, case: DunningCase, number: int, outcome: str, reason: str = "", payment_ref: str = "") -> DunningCase:
    """Record retry ``number`` (once: a second record of the same retry is refused) and release the claim."""
    with transaction.atomic():
        case = _lock(case)
        _record(case, kind=RecordKind.RETRY, actor=actor, number=number, outcome=outcome, detail=reason, payment_ref=payment_ref)
        case.retries_done = max(case.retries_done, number)
        case.retry_claimed_at = None
        if outcome == "failed" and reason:
            case.last_failure_reason = reason[:255]
        _refresh_next_action(case)
        case.save(update_fields=["retries_done", "retry_claimed_at", "last_failure_reason", "next_action", "next_action_at", "updated_at"])
    return case


# --- Suspension -----------------------------------------------------------------------------------

def _call(module: str, name: str):
    try:
        mod = __import__(module, fromlist=[name])
    except ImportError:
        return None
    return getattr(mod, name, None)


def _suspend_subscription(*, actor, subscription, reason: str) -> str:
    from subscriptions.models import SUBSCRIPTION_TRANSITIONS, Subscription, SubscriptionStatus

    service = _call("subscriptions.services", "subscription_suspend")
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.status == SubscriptionStatus.SUSPENDED:
        return "already suspended"
    if SubscriptionStatus.SUSPENDED not in SUBSCRIPTION_TRANSITIONS.get(subscription.status, ()):
        return f"left {subscription.status}"
    if service is not None:
        service(actor=actor, subscription=subscription, reason=reason)
        return "suspended"
    # Fallback until the subscriptions app's service is merged: the same change, audited and announced.
    before = audit.snapshot(subscription, ["status", "suspended_at", "status_reason"])
    subscription.status, subscription.suspended_at, subscription.status_reason = SubscriptionStatus.SUSPENDED, timezone.now(), reason[:255]
    subscription.save(update_fields=["status", "suspended_at", "status_reason", "updated_at"])
    audit.record(actor=actor, action="subscription.suspended", obj=subscription, before=before,
                 after=audit.snapshot(subscription, ["status", "suspended_at", "status_reason"]), reason=reason)
    events.emit("subscription.suspended", actor=actor, subscription_id=subscription.pk, tenant_id=subscription.tenant_id, reason=reason)
    return "suspended"


def _reactivate_subscription(*, actor, subscription, reason: str) -> str:
    from subscriptions.models import Subscription, SubscriptionStatus

    service = _call("subscriptions.services", "subscription_reactivate")
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.status != SubscriptionStatus.SUSPENDED:
        return f"left {subscription.status}"
    if service is not None:
        service(actor=actor, subscription=subscription, reason=reason)
        return "reactivated"
    before = audit.snapshot(subscription, ["status", "suspended_at", "status_reason"])
    subscription.status, subscription.suspended_at, subscription.status_reason = SubscriptionStatus.ACTIVE, None, reason[:255]
    subscription.save(update_fields=["status", "suspended_at", "status_reason", "updated_at"])
    audit.record(actor=actor, action="subscription.reactivated", obj=subscription, before=before,
                 after=audit.snapshot(subscription, ["status", "suspended_at", "status_reason"]), reason=reason)
    events.emit("subscription.reactivated", actor=actor, subscription_id=subscription.pk, tenant_id=subscription.tenant_id, reason=reason)
    return "reactivated"


def case_suspend(*, actor, case: DunningCase, reason: str) -> DunningCase:
    """Suspend the case's subscription and the tenant (status, suspended_at, reason), audited.

    Sends the ladder's suspension notice; the subscribers write the outbox events for the
    tenant's deployment in this same transaction. 409 unless the case is open.
    """
    from accounts.models import Tenant, TenantStatus
    from accounts.services import tenant_set_status

    require_capability(actor, WRITE)
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required.", fields={"reason": ["required"]})
    with transaction.atomic():
        case = _lock(case)
        check_transition(table=CASE_TRANSITIONS, current=case.status, target=CaseStatus.SUSPENDED, label="dunning case")
        full_reason = f"{NON_PAYMENT_PREFIX}: invoice {case.invoice.number or case.invoice.pk} — {reason.strip()}"[:255]
        results = []
        if case.subscription_id:
            results.append(f"subscription {_suspend_subscription(actor=actor, subscription=case.subscription, reason=full_reason)}")
        tenant = Tenant.objects.select_for_update().get(pk=case.tenant_id)
        if tenant.status == TenantStatus.ACTIVE:
            tenant_set_status(actor=actor, tenant=tenant, status=TenantStatus.SUSPENDED, reason=full_reason)
            case.suspended_tenant = True
            results.append("tenant suspended")
        else:
            results.append(f"tenant left {tenant.status}")
        case.status, case.suspended_at, case.suspension_reason = CaseStatus.SUSPENDED, timezone.now(), reason.strip()[:255]
        case.save(update_fields=["status", "suspended_at", "suspension_reason", "suspended_tenant", "updated_at"])
        _record(case, kind=RecordKind.SUSPENSION, actor=actor, outcome="suspended", detail=f"{reason.strip()} ({'; '.join(results)})")
        audit.record(actor=actor, action="dunning.case_suspended", obj=case, before={"status": CaseStatus.OPEN},
                     after={"status": case.status, "effects": results}, reason=reason)
        events.emit("dunning.case_suspended", actor=actor, case_id=case.pk, tenant_id=case.tenant_id,
                    subscription_id=case.subscription_id, reason=reason)
        case.tenant.refresh_from_db()
        timeline = case_timeline(case)
        sent = 0
        first = next((i for i in range(case.step, len(timeline.reminders)) if timeline.reminders[i].at_suspension), None)
        if first is not None:
            # An early suspension (staff, or the grace period) skips the steps not yet sent.
            for skipped in timeline.reminders[case.step:first]:
                _record(case, kind=RecordKind.REMINDER, actor=actor, number=skipped.number, outcome="skipped",
                        detail=f"{skipped.label} skipped: the case was suspended first")
            case.step = first
        while case.step < len(timeline.reminders) and timeline.reminders[case.step].at_suspension:
            _send_step(case, actor=actor, timeline=timeline, manual=False)
            sent += 1
        if not sent:
            from dunning.notifications import notify

            notify(tenant=case.tenant, kind=NotificationKind.SUBSCRIPTION_SUSPENDED, case=case,
                   context=notice_context(case, timeline), dedupe_key=f"dunning:{case.pk}:suspended")
        _refresh_next_action(case, timeline)
        case.save(update_fields=["next_action", "next_action_at", "updated_at"])
    return case


# --- Recovery and reactivation --------------------------------------------------------------------

def case_track_amount_due(*, invoice_ids: list[int]) -> int:
    """Copy the invoices' amount due onto their cases after a partial payment or a credit.

    Not a state change of the case (the invoice's own service audited the change), so no audit record
    or event: a denormalized figure that lets the queue sort and total without joining invoices.
    """
    from invoicing.models import Invoice

    return DunningCase.objects.filter(invoice_id__in=invoice_ids).update(
        amount_due=Subquery(Invoice.objects.filter(pk=OuterRef("invoice_id")).values("amount_due")[:1]),
        updated_at=timezone.now())


def case_recover(*, actor, invoice_id: int, route: str = "", tenant_id: int | None = None) -> DunningCase | None:
    """Close the invoice's case as recovered (any settlement route) and cancel its pending work.

    Pending retries and reminders are simply no longer planned once the case is closed; queued
    notices are canceled. Reactivates the tenant when nothing overdue is left. ``tenant_id``: the
    invoice's tenant when the caller knows it (saves reading it).
    """
    return case_recover_many(actor=actor, settled=[(invoice_id, route, tenant_id)])[0]


# What recovering a case changes on it.
RECOVERY_FIELDS = ["status", "closed_at", "closed_reason", "recovered_amount", "recovered_step", "recovery_route",
                   "retry_claimed_at", "next_action", "next_action_at", "updated_at"]


def case_recover_many(*, actor, settled: list[tuple[int, str, int | None]]) -> list[DunningCase | None]:
    """``case_recover`` for many settled invoices — (invoice id, route, tenant id or None) — at once (a batch of
    settlements): the same case changes, records, audit entries, events and reactivations, written together.
    Returns each invoice's case (None when it has none)."""
    from billing_ops.bulk import insert_values, save_many
    from invoicing.models import Invoice

    # Runs inside the settlement's transaction (an invoice.paid subscriber) and commits or fails with it:
    # a savepoint would only cost two round trips per payment.
    with transaction.atomic(savepoint=False):
        # Locked and read with what the recovery needs in one statement (as _lock does), in id order.
        cases = {case.invoice_id: case for case in DunningCase.objects.select_for_update(of=("self",))
                 .select_related("policy", "tenant", "invoice").filter(invoice_id__in=[i for i, _, _ in settled]).order_by("pk")}
        recovered, reconsider, closing = [], {}, set()
        for invoice_id, route, tenant_id in settled:
            case = cases.get(invoice_id)
            if case is None or case.status not in ACTIVE_CASE_STATUSES or case.pk in closing:
                # No case to close (e.g. a written-off invoice paid after all): the tenant may still be due reactivation.
                tenant_id = tenant_id or Invoice.objects.filter(pk=invoice_id).values_list("tenant_id", flat=True).first()
                if tenant_id:
                    reconsider[tenant_id] = invoice_id
                continue
            timeline = case_timeline(case)
            planned = [e for e in timeline.events if (e.kind == "retry" and e.number > case.retries_done)
                       or (e.kind == REMINDER and e.number > case.step)
                       or (e.kind == "suspension" and case.status == CaseStatus.OPEN)]
            previous = case.status
            check_transition(table=CASE_TRANSITIONS, current=case.status, target=CaseStatus.RECOVERED, label="dunning case")
            case.status = CaseStatus.RECOVERED
            case.closed_at = timezone.now()
            case.closed_reason = f"Invoice settled ({route or 'payment'})"
            case.recovered_amount = case.amount_at_risk
            case.recovered_step = case.step
            case.recovery_route = (route or "")[:32]
            case.retry_claimed_at = None
            _refresh_next_action(case)
            recovered.append((case, planned, previous, route, invoice_id))
            closing.add(case.pk)
            reconsider[case.tenant_id] = invoice_id
        if recovered:
            save_many([case for case, *_ in recovered], fields=RECOVERY_FIELDS)
            queued = Notification.objects.filter(case__in=[case for case, *_ in recovered],
                                                 status__in=[NotificationStatus.PENDING, NotificationStatus.FAILED])
            canceled = dict(queued.order_by().values_list("case_id").annotate(n=Count("pk")))
            if canceled:
                queued.update(status=NotificationStatus.CANCELED, next_attempt_at=None)
            label, records = actor_label(actor), []
            for case, planned, _, route, _ in recovered:
                records.append((case.pk, RecordKind.RECOVERED, route or "paid",
                                f"Recovered {case.recovered_amount} {case.currency} at step {case.step} via {route or 'payment'}"))
                if planned or canceled.get(case.pk):
                    count = canceled.get(case.pk)
                    records.append((case.pk, RecordKind.CANCELED, "canceled", "; ".join(f"{e.label} on {e.date}" for e in planned)
                                    + (f"; {count} queued notice(s)" if count else "")))
            insert_values(RecoveryRecord, ["case_id", "kind", "outcome", "detail", "actor_label"],
                          [(case_id, kind, outcome, detail[:2000], label) for case_id, kind, outcome, detail in records])
            audit.record_many(actor=actor, entries=[
                {"action": "dunning.case_recovered", "obj": case, "before": {"status": previous},
                 "after": {"status": case.status, "route": route, "recovered_amount": case.recovered_amount}}
                for case, _, previous, route, _ in recovered])
            events.emit_many("dunning.case_recovered", actor=actor, payloads=[
                {"case_id": case.pk, "tenant_id": case.tenant_id, "invoice_id": invoice_id, "route": route}
                for case, _, _, route, invoice_id in recovered])
        for tenant_id in sorted(tenants_suspended(tenant_ids=list(reconsider))):
            tenant_reactivate_if_settled(actor=actor, tenant_id=tenant_id, settled_invoice_id=reconsider[tenant_id])
    return [cases.get(invoice_id) for invoice_id, _, _ in settled]


def tenant_has_outstanding(tenant_id: int, *, settled_invoice_id: int | None = None) -> bool:
    from invoicing.models import Invoice, InvoiceStatus

    # invoice.paid is emitted before the settled invoice's row is saved: leave that one out.
    overdue = Invoice.objects.filter(tenant_id=tenant_id, status=InvoiceStatus.OVERDUE, amount_due__gt=0).exclude(pk=settled_invoice_id)
    return (overdue.exists()
            or DunningCase.objects.filter(tenant_id=tenant_id, status=CaseStatus.SUSPENDED).exists())


def _suspended_by_dunning(tenant_id):
    """The tenant's subscriptions that dunning suspended (``tenant_id``: an id or an ``OuterRef``)."""
    from subscriptions.models import Subscription, SubscriptionStatus

    return Subscription.objects.filter(tenant_id=tenant_id, status=SubscriptionStatus.SUSPENDED,
                                       dunning_cases__suspended_at__isnull=False)


def tenants_suspended(*, tenant_ids) -> set[int]:
    """Which of these tenants are suspended, or have a subscription dunning suspended (one query): the only
    ones a settlement may have to reactivate."""
    from accounts.models import Tenant, TenantStatus

    return set(Tenant.objects.filter(Q(status=TenantStatus.SUSPENDED) | Exists(_suspended_by_dunning(OuterRef("pk"))),
                                     pk__in=list(tenant_ids)).values_list("pk", flat=True))


def tenant_reactivate_if_settled(*, actor, tenant_id: int, settled_invoice_id: int | None = None) -> bool:
    """Reactivate what dunning suspended once the tenant's overdue invoices are all settled."""
    from accounts.models import Tenant, TenantStatus
    from accounts.services import tenant_set_status

    # Most settlements concern tenants dunning never suspended: answer those without locking the tenant,
    # which would otherwise deadlock two payments of one tenant settling at once (each holds its invoice,
    # the foreign-key checks hold the tenant in KEY SHARE, and both then ask for FOR UPDATE).
    if not tenants_suspended(tenant_ids=[tenant_id]):
        return False
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant_id)
        if tenant_has_outstanding(tenant_id, settled_invoice_id=settled_invoice_id):
            return False
        reason = "Balance settled: overdue invoices paid or credited"
        effects = []
        for subscription in _suspended_by_dunning(tenant_id).distinct():
            effects.append(f"subscription {subscription.pk} {_reactivate_subscription(actor=actor, subscription=subscription, reason=reason)}")
        if tenant.status == TenantStatus.SUSPENDED and tenant.suspension_reason.startswith(NON_PAYMENT_PREFIX):
            tenant_set_status(actor=actor, tenant=tenant, status=TenantStatus.ACTIVE, reason=reason)
            effects.append("tenant reactivated")
        if not effects:
            return False
        cases = DunningCase.objects.filter(tenant_id=tenant_id, suspended_at__isnull=False, status=CaseStatus.RECOVERED)
        last = cases.order_by("-closed_at").first()
        if last is not None:
            _record(last, kind=RecordKind.REACTIVATION, actor=actor, outcome="reactivated", detail="; ".join(effects))
        audit.record(actor=actor, action="dunning.tenant_reactivated", obj=tenant, after={"effects": effects}, reason=reason)
        from dunning.notifications import notify

        tenant.refresh_from_db()
        notify(tenant=tenant, kind=NotificationKind.SUBSCRIPTION_REACTIVATED, case=last, context={})
    return True


def case_write_off(*, actor, case: DunningCase, reason: str) -> DunningCase:
    """Stop chasing: close the case as written off (the invoice itself is the invoicing app's)."""
    require_capability(actor, WRITE)
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required.", fields={"reason": ["required"]})
    with transaction.atomic():
        case = _lock(case)
        previous = case.status
        check_transition(table=CASE_TRANSITIONS, current=case.status, target=CaseStatus.WRITTEN_OFF, label="dunning case")
        case.status, case.closed_at, case.closed_reason = CaseStatus.WRITTEN_OFF, timezone.now(), reason.strip()[:255]
        case.retry_claimed_at = None
        _refresh_next_action(case)
        case.save()
        Notification.objects.filter(case=case, status__in=[NotificationStatus.PENDING, NotificationStatus.FAILED]).update(
            status=NotificationStatus.CANCELED, next_attempt_at=None)
        _record(case, kind=RecordKind.WRITTEN_OFF, actor=actor, outcome="written_off", detail=reason)
        audit.record(actor=actor, action="dunning.case_written_off", obj=case, before={"status": previous},
                     after={"status": case.status}, reason=reason)
        events.emit("dunning.case_written_off", actor=actor, case_id=case.pk, tenant_id=case.tenant_id)
    return case


def case_close_uncollectible(*, actor, invoice_id, voided: bool) -> DunningCase | None:
    """The invoice was voided or marked uncollectible: stop chasing it (written off).

    After a void the tenant owes nothing for it, so a non-payment suspension may be lifted.
    """
    if not invoice_id:
        return None
    with transaction.atomic():
        # Locked and read with what the recovery needs in one statement (as _lock does).
        case = (DunningCase.objects.select_for_update(of=("self",)).select_related("policy", "tenant", "invoice")
                .filter(invoice_id=invoice_id).first())
        if case is None or case.status not in ACTIVE_CASE_STATUSES:
            return case
        case = case_write_off(actor=actor, case=case, reason="Invoice voided" if voided else "Invoice marked uncollectible")
        if voided:
            tenant_reactivate_if_settled(actor=actor, tenant_id=case.tenant_id, settled_invoice_id=invoice_id)
    return case
