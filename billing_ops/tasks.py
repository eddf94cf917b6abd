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
