"""Celery tasks: take ids, call one service, safe to run twice or at once."""
from __future__ import annotations

from celery import shared_task

from billing_ops.actors import system
from billing_ops.queue import DB_RETRY


@shared_task(name="payments.tasks.process_webhook_event", **DB_RETRY)
def process_webhook_event(event_id: int) -> str:
    from payments.models import WebhookEvent
    from payments.services.webhooks import webhook_process

    if not WebhookEvent.objects.filter(pk=event_id).exists():
        return "missing"
    return webhook_process(event_id=event_id).status


@shared_task(name="payments.tasks.drain_webhook_events", **DB_RETRY)
def drain_webhook_events() -> int:
    """Process the received webhook events (queued by deliveries through a wake-up flag)."""
    from payments.services.webhooks import webhook_drain

    return webhook_drain()


@shared_task(name="payments.tasks.run_auto_charge", **DB_RETRY)
def run_auto_charge() -> dict:
    """Hourly (CONTRACT §9): charge due invoices to saved cards; also sweeps up webhooks and refunds a lost task left behind."""
    from payments.services.charging import run_auto_charge as run
    from payments.services.refunds import process_stale_refunds
    from payments.services.webhooks import process_stale_webhooks

    process_stale_webhooks()
    process_stale_refunds()  # refunds whose task was lost (broker outage)
    summary = run(actor=system("auto-charge"))
    return {k: v for k, v in summary.items() if k != "invoices"}


@shared_task(name="payments.tasks.execute_refund")
def execute_refund(refund_id: int) -> str:
    from payments.models import Refund
    from payments.services.refunds import refund_execute

    refund = Refund.objects.filter(pk=refund_id).first()
    if refund is None:
        return "missing"
    return refund_execute(actor=system("refunds"), refund=refund).status
