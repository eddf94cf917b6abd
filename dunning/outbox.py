"""Transactional outbox to tenant deployments: signed JSON events, delivered with back-off.

``outbox_write`` runs inside the transaction of the state change, so the event exists exactly
when the change does. ``deliver_due`` (the every-minute ``deliver_outbox`` task) claims due rows
under a short lease (``select_for_update(skip_locked=True)``), POSTs them and records the result;
a worker crash leaves the lease to expire and the row is picked up again. Receivers de-duplicate
on the event id.

Each request carries:
    X-BillingOps-Event-Id:   the event id (stable across retries and re-sends)
    X-BillingOps-Event:      the event type, e.g. ``tenant.suspended``
    X-BillingOps-Timestamp:  unix seconds at sending
    X-BillingOps-Signature:  ``sha256=`` + hex HMAC-SHA256(secret, ``<timestamp>.<raw body>``)
where the secret is the tenant's ``deployment_webhook_secret``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import uuid

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from billing_ops.access import WRITE, require_capability
from billing_ops.errors import ValidationFailed
from dunning.models import OutboxEvent, OutboxStatus

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-BillingOps-Signature"
TIMESTAMP_HEADER = "X-BillingOps-Timestamp"
EVENT_ID_HEADER = "X-BillingOps-Event-Id"
EVENT_TYPE_HEADER = "X-BillingOps-Event"


def _setting(name: str, default):
    return getattr(settings, name, default)


def backoff_base() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("DUNNING_OUTBOX_BACKOFF_BASE_SECONDS", 30))


def backoff_cap() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("DUNNING_OUTBOX_BACKOFF_CAP_SECONDS", 6 * 3600))


def max_age() -> dt.timedelta:
    return dt.timedelta(hours=_setting("DUNNING_OUTBOX_MAX_AGE_HOURS", 72))


LEASE = dt.timedelta(minutes=2)


def next_delay(attempts: int) -> dt.timedelta:
    """Exponential back-off after the ``attempts``-th failure: 30 s, 1 min, 2 min, … capped at 6 h."""
    return min(backoff_base() * (2 ** max(attempts - 1, 0)), backoff_cap())


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiving deployment does (also used by our tests)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def body_bytes(event: OutboxEvent) -> bytes:
    return json.dumps(event.payload, sort_keys=True, separators=(",", ":")).encode()


def outbox_write(*, tenant_id: int, event_type: str, data: dict, source_event_id=None) -> OutboxEvent:
    """Queue ``event_type`` for the tenant's deployment; must run in the change's transaction.

    Idempotent per ``source_event_id`` (the domain event it reports).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_write must run inside the transaction of the change it reports")
    if source_event_id is not None:
        existing = OutboxEvent.objects.filter(source_event_id=source_event_id).first()
        if existing:
            return existing
    now = timezone.now()
    event_id = uuid.uuid4()
    payload = {"id": str(event_id), "type": event_type, "created_at": now.isoformat(), "tenant_id": tenant_id, "data": data}
    try:
        with transaction.atomic():
            return OutboxEvent.objects.create(
                id=event_id, tenant_id=tenant_id, event_type=event_type, payload=payload, source_event_id=source_event_id,
                next_attempt_at=now, expires_at=now + max_age(),
            )
    except IntegrityError:
        return OutboxEvent.objects.get(source_event_id=source_event_id)


def _claim(*, now, batch: int) -> list[OutboxEvent]:
    with transaction.atomic():
        rows = list(
            OutboxEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED])
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .select_related("tenant")
            .order_by("next_attempt_at", "created_at")[:batch]
        )
        if rows:
            OutboxEvent.objects.filter(pk__in=[r.pk for r in rows]).update(locked_until=now + LEASE)
    return rows


def _post(event: OutboxEvent) -> tuple[int | None, str]:
    tenant = event.tenant
    body = body_bytes(event)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: str(event.pk),
        EVENT_TYPE_HEADER: event.event_type,
        TIMESTAMP_HEADER: timestamp,
        "User-Agent": "billing-ops-outbox/1",
    }
    if tenant.deployment_webhook_secret:
        headers[SIGNATURE_HEADER] = sign(tenant.deployment_webhook_secret, timestamp, body)
    try:
        response = requests.post(
            tenant.deployment_webhook_url, data=body, headers=headers,
            timeout=(_setting("DUNNING_OUTBOX_CONNECT_TIMEOUT", 3.05), _setting("DUNNING_OUTBOX_READ_TIMEOUT", 10)),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}"


def deliver_one(event: OutboxEvent, *, now=None) -> str:
    """Attempt one claimed event; returns its new status."""
    now = now or timezone.now()
    if event.expires_at and event.expires_at < now:
        status, code, error = OutboxStatus.DEAD, event.last_status_code, event.last_error or "Maximum age reached"
    elif not event.tenant.deployment_webhook_url:
        status, code, error = OutboxStatus.NO_ENDPOINT, None, "The tenant has no deployment webhook URL"
    else:
        code, error = _post(event)
        status = OutboxStatus.DELIVERED if not error else OutboxStatus.FAILED
    attempts = event.attempts + (0 if status in (OutboxStatus.DEAD, OutboxStatus.NO_ENDPOINT) else 1)
    updates = {"status": status, "attempts": attempts, "last_status_code": code, "last_error": error, "locked_until": None}
    if status == OutboxStatus.DELIVERED:
        updates["delivered_at"] = timezone.now()
        updates["next_attempt_at"] = None
    elif status == OutboxStatus.FAILED:
        retry_at = timezone.now() + next_delay(attempts)
        if event.expires_at and retry_at > event.expires_at:
            updates["status"] = OutboxStatus.DEAD
            updates["next_attempt_at"] = None
        else:
            updates["next_attempt_at"] = retry_at
    else:
        updates["next_attempt_at"] = None
    OutboxEvent.objects.filter(pk=event.pk).update(**updates)
    if updates["status"] != OutboxStatus.DELIVERED:
        logger.info("Outbox event %s to tenant %s: %s (%s)", event.pk, event.tenant_id, updates["status"], error)
    return updates["status"]


def deliver_due(*, batch: int = 100, max_batches: int = 10) -> dict[str, int]:
    """Deliver every due event (the ``deliver_outbox`` task). Safe to run twice at once."""
    counts: dict[str, int] = {}
    for _ in range(max_batches):
        rows = _claim(now=timezone.now(), batch=batch)
        if not rows:
            break
        for event in rows:
            status = deliver_one(event)
            counts[status] = counts.get(status, 0) + 1
    return counts


def outbox_resend(*, actor, event: OutboxEvent) -> OutboxEvent:
    """Queue an event again (same id, so the deployment can de-duplicate), with a fresh maximum age."""
    require_capability(actor, WRITE)
    with transaction.atomic():
        event = OutboxEvent.objects.select_for_update().get(pk=event.pk)
        if event.locked_until and event.locked_until > timezone.now():
            raise ValidationFailed("This event is being delivered right now; try again in a minute.", code="busy")
        before = {"status": event.status, "attempts": event.attempts}
        now = timezone.now()
        event.status = OutboxStatus.PENDING
        event.next_attempt_at = now
        event.expires_at = now + max_age()
        event.save(update_fields=["status", "next_attempt_at", "expires_at"])
        audit.record(actor=actor, action="outbox.resend", object_type="dunning.outboxevent", object_id=event.pk,
                     tenant_id=event.tenant_id, before=before, after={"status": event.status, "event_type": event.event_type})
    return event
