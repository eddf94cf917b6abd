"""Redis down (broker and cache): every screen and GET API still answers, actions that queue work
succeed, and the periodic sweeps finish that work once Redis is back."""
from __future__ import annotations

import json

import pytest
from django.core import mail
from django.urls import reverse

from billing_ops.access import ROLE_CAPABILITIES, SUPER_ADMIN
from billing_ops.queue import enqueue
from tests.access_rules import EXPECTED, SAMPLES
from tests.faults.conftest import dead_broker, redis_down, signed_post

pytestmark = pytest.mark.django_db


def _get_urls(world):
    for name, rules in sorted(EXPECTED.items()):
        capability = rules.get("GET")
        if capability is None or (capability not in ROLE_CAPABILITIES[SUPER_ADMIN] and capability != "public"):
            continue
        if name.startswith("api:schema") or "export" in name:
            continue
        yield name, reverse(name, kwargs=SAMPLES[name](world) if name in SAMPLES else {})


def test_every_screen_and_get_api_works_with_redis_down(client, world):
    client.force_login(world.users[SUPER_ADMIN])
    urls = list(_get_urls(world))
    assert len(urls) > 20 and any(url == "/billing/" or name.endswith("dashboard") for name, url in urls)
    with redis_down():
        failures = []
        for name, url in urls:
            response = client.get(url)
            if response.status_code >= 500 or response.status_code in (401, 403):
                failures.append(f"{name} {url}: {response.status_code}")
        assert not failures, failures


def test_login_works_with_redis_down(client, world):
    user = world.users["billing"]
    user.set_password("a-long-passphrase-1")
    user.save()
    with redis_down():
        response = client.post(reverse("login"), {"username": user.username, "password": "a-long-passphrase-1"})
        assert response.status_code == 302
        assert client.get(response["Location"]).status_code == 200


def test_queued_actions_succeed_with_redis_down_and_the_sweeps_finish_them(
        client, api, world, paystack, django_capture_on_commit_callbacks):
    from invoicing.emails import sweep_unsent_invoice_emails
    from payments.models import Payment, WebhookEvent
    from payments.services.webhooks import process_stale_webhooks
    from tests.factories import InvoiceFactory
    from tests.payments.test_webhooks import charge_success

    invoice = InvoiceFactory(total="100.00", amount_due="100.00")
    payment = Payment.objects.create(tenant=invoice.tenant, invoice=invoice, amount="100.00", currency="NGN",
                                     method="card", status="pending", reference=f"{invoice.number}-A1", attempt=1)
    draft = world.draft_invoice
    mail.outbox.clear()
    with redis_down():
        with django_capture_on_commit_callbacks(execute=True):
            sent = api.post(reverse("api:invoice-send", kwargs={"pk": draft.pk}), {}, format="json")
        assert sent.status_code == 200, sent.content
        with django_capture_on_commit_callbacks(execute=True):
            received = signed_post(client, charge_success(payment.reference))
        assert received.status_code == 200 and received.json()["duplicate"] is False
        assert enqueue(__import__("billing_ops.tasks", fromlist=["heartbeat"]).heartbeat) is False
    # Nothing was lost: the work waits in the database.
    event = WebhookEvent.objects.get(reference=payment.reference)
    assert event.status == "received"
    assert mail.outbox == []
    draft.refresh_from_db()
    assert draft.status == "issued"

    # Redis is back: the broker takes work again and the periodic sweeps finish the job.
    from billing_ops.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
    assert process_stale_webhooks(older_than_seconds=0) >= 1
    event.refresh_from_db()
    invoice.refresh_from_db()
    assert event.status == "processed" and invoice.status == "paid"
    assert sweep_unsent_invoice_emails(older_than_seconds=0) == 1
    assert [m.to for m in mail.outbox] == [[draft.tenant.billing_email]]
    assert sweep_unsent_invoice_emails(older_than_seconds=0) == 0  # emailed once, not again


def test_refund_approved_with_the_broker_down_is_sent_by_the_sweep(paystack, django_capture_on_commit_callbacks):
    from billing_ops.actors import system
    from payments.services import charge_invoice
    from payments.services.refunds import process_stale_refunds, refund_create
    from tests.payments.test_charging import invoice_with_card

    invoice, _ = invoice_with_card()
    payment = charge_invoice(actor=system("test"), invoice=invoice).payment
    with dead_broker(), django_capture_on_commit_callbacks(execute=True):
        refund = refund_create(actor=system("test"), payment=payment, reason="broker down")
    refund.refresh_from_db()
    assert refund.status == "requested" and paystack.refunds == []
    assert process_stale_refunds(older_than_seconds=0) == 1
    refund.refresh_from_db()
    assert refund.status != "requested" and len(paystack.refunds) == 1
    assert process_stale_refunds(older_than_seconds=0) == 0


def test_auto_charge_run_survives_a_dead_cache(paystack):
    from billing_ops.actors import system
    from payments.services import run_auto_charge
    from tests.faults.conftest import dead_cache
    from tests.payments.test_charging import invoice_with_card

    invoice_with_card()
    with dead_cache():
        assert run_auto_charge(actor=system("test"))["charged"] == 1


def test_api_async_auto_charge_with_the_broker_down_is_a_503_in_the_error_shape(api):
    with dead_broker():
        response = api.post(reverse("api:auto-charge-run"), json.dumps({"async": True}), content_type="application/json")
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "queue_unavailable"


def test_app_code_queues_work_only_through_billing_ops_queue():
    """A bare ``.delay()`` / ``.apply_async()`` raises in the request when the broker is down; every
    call must go through billing_ops.queue.enqueue / enqueue_on_commit (which log and let the sweeps
    finish the work)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for app in ("accounts", "billing_ops", "subscriptions", "invoicing", "payments", "dunning"):
        for path in (root / app).rglob("*.py"):
            if path.relative_to(root).as_posix() == "billing_ops/queue.py" or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"\.(delay|apply_async|send_task)\(", line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.skipif(not __import__("django.conf").conf.settings.CELERY_BROKER_URL.startswith("redis"),
                    reason="the Redis socket time-outs are configured only when REDIS_URL is set")
def test_a_hung_redis_fails_fast_instead_of_blocking_the_request(settings):
    """A Redis that accepts connections but never answers used to block enqueue (and so the web
    request) for minutes; the configured socket time-outs make it a quick, logged failure."""
    import time

    from django.core.cache import cache
    from django.test import override_settings

    from billing_ops.celery import app
    from billing_ops.soft_cache import cache_get
    from billing_ops.tasks import heartbeat
    from tests.faults.conftest import celery_overrides, hung_redis

    with hung_redis() as url:
        with celery_overrides(app, broker_url=url, task_always_eager=False):
            started = time.monotonic()
            assert enqueue(heartbeat) is False
            assert time.monotonic() - started < 10
        hung_cache = {"default": {**settings.CACHES["default"], "LOCATION": url}}
        with override_settings(CACHES=hung_cache):
            started = time.monotonic()
            assert cache_get("anything", "fallback") == "fallback"
            assert time.monotonic() - started < 5
            assert cache is not None
