"""Cross-app tasks."""
from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone


@shared_task(name="billing_ops.tasks.heartbeat")
def heartbeat(token: str = "worker") -> str:
    """Record that a worker is alive and consuming (ops check, and the broker round-trip test)."""
    stamp = timezone.now().isoformat()
    cache.set(f"heartbeat:{token}", stamp, timeout=3600)
    return stamp


@shared_task(name="billing_ops.tasks.deliver_outbox")
def deliver_outbox() -> dict:
    """Outbound deliveries (every minute): the dunning app owns the outbox and the notice retries."""
    from dunning.tasks import deliver_outbox as deliver

    return deliver()
