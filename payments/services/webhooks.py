"""Received Paystack webhooks: stored once (the view verified the signature), processed by a task."""
from __future__ import annotations

import hashlib
import logging
from contextlib import nullcontext
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts import audit
from billing_ops.access import WRITE, require_capability
from billing_ops.actors import actor_user, system
from billing_ops.errors import ApplicationError, TransitionNotAllowed
from billing_ops.money import to_minor
from payments.models import (
    OPEN_REFUND_STATUSES,
    Payment,
    Refund,
    WebhookEvent,
    WebhookStatus,
)

logger = logging.getLogger(__name__)

WEBHOOK_ACTOR = system("paystack-webhook")


def _as_minor(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def webhook_dedupe_key(payload: dict, raw: bytes) -> tuple[str, str]:
    """(dedupe key, reference). Paystack events carry no id: the key is the event name plus the
    transaction or refund id/reference (CONTRACT §7); unknown shapes fall back to the body's hash."""
    event = str(payload.get("event") or "")[:80]
    data = payload.get("data")
    digest = hashlib.sha256(raw).hexdigest()
    if not isinstance(data, dict):
        return f"{event}:sha256:{digest}", ""
    if event.startswith("refund."):
        reference = str(data.get("transaction_reference") or "")
        refund_id = data.get("id") or data.get("refund_reference")
        tail = f"refund:{refund_id}" if refund_id else f"amount:{data.get('amount')}"
        return f"{event}:{reference}:{tail}"[:255], reference[:100]
    if event.startswith("charge.dispute"):
        tx = data.get("transaction") if isinstance(data.get("transaction"), dict) else {}
        return f"{event}:{data.get('id') or digest}"[:255], str(tx.get("reference") or "")[:100]
    if event.startswith("charge.") or event.startswith("transfer."):
        reference = str(data.get("reference") or "")
        if reference:
            return f"{event}:ref:{reference}"[:255], reference[:100]
        if data.get("id"):
            return f"{event}:id:{data['id']}"[:255], ""
    if event.startswith("invoice."):
        tx = data.get("transaction") if isinstance(data.get("transaction"), dict) else {}
        reference = str(tx.get("reference") or "")
        return f"{event}:{data.get('invoice_code')}:{data.get('status')}:{reference}"[:255], reference[:100]
    if event.startswith("subscription.") and data.get("subscription_code"):
        return f"{event}:{data['subscription_code']}:{data.get('status')}"[:255], ""
    return f"{event}:sha256:{digest}", str(data.get("reference") or "")[:100]


def webhook_receive(*, raw: bytes, payload: dict) -> tuple[WebhookEvent, bool]:
    """Store a verified event once; a repeat only counts the delivery. Processing is queued on commit."""
    key, reference = webhook_dedupe_key(payload, raw)
    # The hot path of webhook ingestion: outside a transaction (the webhook view) the INSERT is one
    # autocommitted statement, without BEGIN/COMMIT round trips; inside one it gets a savepoint, so a
    # duplicate does not break the caller's transaction.
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else nullcontext():
            event = WebhookEvent.objects.create(
                event=str(payload.get("event"))[:80], dedupe_key=key, raw_body=raw.decode("utf-8"),
                payload=payload, reference=reference,
            )
        _enqueue_on_commit(event.pk)
        return event, True
    except IntegrityError:
        WebhookEvent.objects.filter(dedupe_key=key).update(deliveries=F("deliveries") + 1)
        return WebhookEvent.objects.get(dedupe_key=key), False


# Processing is woken through one flag on the broker's Redis instead of one Celery message per event
# (the publish was the largest part of a delivery's cost): a delivery that sets the flag queues one
# drain_webhook_events task, the rest find it set. The drain clears it before its last look for work.
DRAIN_FLAG = "billing-ops:webhooks:drain-queued"
# A drain lost after being queued holds back wake-ups at most this long (then the next delivery queues
# one; the hourly sweep remains the backstop).
DRAIN_FLAG_TTL = 60
DRAIN_BATCH = 200


def _enqueue_on_commit(event_id: int) -> None:
    """Processing is queued after commit; a broker outage leaves the row ``received`` for the sweep
    (``process_stale_webhooks``, run by the hourly auto-charge task) instead of failing the delivery."""
    transaction.on_commit(lambda: _wake_processing(event_id))


def _wake_processing(event_id: int) -> None:
    from billing_ops.queue import enqueue, enqueue_debounced
    from payments.tasks import drain_webhook_events, process_webhook_event

    # One task per event when tasks run eagerly (tests, demo without Redis) or Redis cannot be reached.
    if not enqueue_debounced(drain_webhook_events, flag=DRAIN_FLAG, ttl=DRAIN_FLAG_TTL):
        enqueue(process_webhook_event, event_id)


def _review(event: WebhookEvent, reason: str) -> None:
    event.status = WebhookStatus.REVIEW
    event.needs_review = True
    event.review_reason = reason[:255]


def _handle_charge_success(event: WebhookEvent, data: dict) -> None:
    from payments.services.core import payment_apply

    reference = str(data.get("reference") or "")
    payment = Payment.objects.filter(reference=reference).first() if reference else None
    if payment is None:
        _review(event, f"Unknown reference {reference!r}: no payment of ours has it")
        return
    event.payment = payment
    amount = _as_minor(data.get("amount"))
    expected = to_minor(payment.amount, payment.currency)
    currency = str(data.get("currency") or payment.currency)
    if amount != expected or currency != payment.currency:
        _review(event, f"Amount does not match: Paystack {amount} {currency}, payment {expected} {payment.currency}")
        return
    try:
        payment_apply(actor=WEBHOOK_ACTOR, payment=payment, route="webhook", gateway_data=data)
    except ApplicationError as exc:
        _review(event, f"Could not apply: {exc.message}")
        return
    event.status = WebhookStatus.PROCESSED


def _handle_refund(event: WebhookEvent, data: dict) -> None:
    from payments.services.refunds import refund_apply_gateway_status

    reference = str(data.get("transaction_reference") or "")
    payment = Payment.objects.filter(reference=reference).first() if reference else None
    if payment is None:
        _review(event, f"Refund for unknown transaction {reference!r}")
        return
    event.payment = payment
    amount = _as_minor(data.get("amount"))
    candidates = [r for r in Refund.objects.filter(payment=payment).order_by("created_at", "id")
                  if amount is not None and to_minor(r.amount, r.currency) == amount]
    open_ones = [r for r in candidates if r.status in OPEN_REFUND_STATUSES]
    refund = (open_ones or candidates or [None])[0]
    if refund is None:
        _review(event, f"No refund of {amount} on {reference} was requested here")
        return
    refund_apply_gateway_status(actor=WEBHOOK_ACTOR, refund=refund, status=str(data.get("status") or event.event.split(".", 1)[1]),
                                data=data)
    event.status = WebhookStatus.PROCESSED


def webhook_process(*, event_id: int) -> WebhookEvent:
    """Act on a stored event exactly once (row lock + status), whatever the number of deliveries or workers."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if event.status in (WebhookStatus.RECEIVED, WebhookStatus.FAILED):
            _process_locked(event)
    return event


def _process_locked(event: WebhookEvent) -> None:
    data = event.payload.get("data") if isinstance(event.payload, dict) else None
    try:
        with transaction.atomic():
            if event.event == "charge.success" and isinstance(data, dict):
                _handle_charge_success(event, data)
            elif event.event.startswith("refund.") and isinstance(data, dict):
                _handle_refund(event, data)
            else:
                _review(event, f"Not handled automatically: {event.event}")
    except Exception as exc:  # kept for a retry; never lost
        logger.exception("Processing webhook %s failed", event.pk)
        event.status = WebhookStatus.FAILED
        event.error = f"{type(exc).__name__}: {exc}"[:2000]
    event.processed_at = timezone.now()
    event.save()


def webhook_drain(*, batch_size: int = DRAIN_BATCH) -> int:
    """Process every ``received`` event, oldest first, each exactly once; returns how many this run did.

    The wake-up flag is cleared before the first look for work, so an event stored after that queues
    a new drain and none waits. Drains may run at once: each takes an event under a row lock and skips
    the ones another holds (failed events are left to the sweep)."""
    from billing_ops.queue import clear_flag, enqueue_debounced
    from payments.tasks import drain_webhook_events

    clear_flag(DRAIN_FLAG)
    done, last_id = 0, 0
    while True:
        ids = list(WebhookEvent.objects.filter(status=WebhookStatus.RECEIVED, pk__gt=last_id)
                   .order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return done
        if len(ids) == batch_size:
            # A backlog: queue a helper for another worker process (at most one waits, by the flag).
            enqueue_debounced(drain_webhook_events, flag=DRAIN_FLAG, ttl=DRAIN_FLAG_TTL)
        for event_id in ids:
            with transaction.atomic():
                event = (WebhookEvent.objects.select_for_update(skip_locked=True)
                         .filter(pk=event_id, status=WebhookStatus.RECEIVED).first())
                if event is not None:
                    _process_locked(event)
                    done += 1
        last_id = ids[-1]


def webhook_resolve(*, actor, event: WebhookEvent, note: str = "") -> WebhookEvent:
    """A person has dealt with an event on the review list."""
    require_capability(actor, WRITE)
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if event.status != WebhookStatus.REVIEW:
            raise TransitionNotAllowed("Only events waiting for review can be resolved.")
        event.status = WebhookStatus.RESOLVED
        event.needs_review = False
        event.resolved_at = timezone.now()
        event.resolved_by = actor_user(actor)
        event.resolution_note = (note or "")[:255]
        event.save()
        audit.record(actor=actor, action="webhook.resolved", obj=event, reason=note,
                     after={"event": event.event, "reference": event.reference})
    return event


def process_stale_webhooks(*, older_than_seconds: int = 60) -> int:
    """Re-queue events stuck in received/failed (a lost task, a broker outage). Returns how many ran."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(WebhookEvent.objects.filter(status__in=(WebhookStatus.RECEIVED, WebhookStatus.FAILED),
                                           received_at__lte=cutoff).values_list("pk", flat=True)[:500])
    for event_id in ids:
        webhook_process(event_id=event_id)
    return len(ids)
