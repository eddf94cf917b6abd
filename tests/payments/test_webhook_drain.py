"""Webhook processing woken through one flag on the broker's Redis: deliveries queue one drain task,
the drain processes every received event exactly once, and no wake-up is lost (real Redis broker)."""
from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from billing_ops.models import DomainEvent
from billing_ops.queue import broker_redis
from payments.models import Payment, PaystackConfig, WebhookEvent
from payments.services.webhooks import webhook_drain, webhook_receive
from payments.tasks import drain_webhook_events
from tests.factories import InvoiceFactory
from tests.payments.conftest import FAKE_SECRET, signed_post
from tests.payments.test_webhooks import charge_success

DRAIN, PER_EVENT = "payments.tasks.drain_webhook_events", "payments.tasks.process_webhook_event"
QUEUE = "celery"  # Celery's default queue: a Redis list on the broker


class Broker:
    """The real Redis broker, read as Celery's workers would find it."""

    def __init__(self, client):
        self.client = client
        self.before = Counter(self._tasks())

    def _ours(self) -> list[dict]:
        """The queued messages this process published (another pytest-xdist worker may share the Redis db)."""
        from celery.utils.nodenames import anon_nodename

        found = [json.loads(message) for message in self.client.lrange(QUEUE, 0, -1)]
        return [m for m in found if m["headers"].get("origin") == anon_nodename()]

    def _tasks(self) -> list[str]:
        return [message["headers"]["task"] for message in self._ours()]

    def published(self) -> Counter:
        """Task messages queued since the last call."""
        now = Counter(self._tasks())
        new, self.before = now - self.before, now
        return new

    def messages(self, task: str) -> list[dict]:
        return [m for m in self._ours() if m["headers"]["task"] == task]

    def flag_ttl(self) -> int:
        from payments.services import webhooks

        return self.client.ttl(webhooks.DRAIN_FLAG)  # -2: no flag


@pytest.fixture
def broker(db, monkeypatch):
    from payments.services import webhooks

    client = broker_redis()
    if client is None:
        pytest.skip("the drain is used with a Redis broker and tasks not eager (set REDIS_URL)")
    # A flag of this test's own: a web process or worker on the same Redis must not set or clear it.
    monkeypatch.setattr(webhooks, "DRAIN_FLAG", f"{webhooks.DRAIN_FLAG}:test-{uuid.uuid4().hex}")
    length = client.llen(QUEUE)
    yield Broker(client)
    client.delete(webhooks.DRAIN_FLAG)
    added = client.llen(QUEUE) - length
    if added > 0:  # new messages are pushed at the head; nothing consumes them in the tests
        client.ltrim(QUEUE, added, -1)


@pytest.fixture
def configured_not_eager(db):
    PaystackConfig.objects.update_or_create(pk=1, defaults={"mode": "test", "test_secret_key": FAKE_SECRET,
                                                            "test_public_key": "pk_test_fixture000000001234"})


def pending_payment(n: int) -> Payment:
    invoice = InvoiceFactory(total=Decimal("100.00"), amount_due=Decimal("100.00"))
    return Payment.objects.create(tenant=invoice.tenant, invoice=invoice, amount=Decimal("100.00"), currency="NGN",
                                  method="card", status="pending", reference=f"{invoice.number}-D{n}", attempt=1)


@pytest.mark.django_db
def test_deliveries_queue_one_drain_that_processes_each_event_once(
        client, broker, configured_not_eager, django_capture_on_commit_callbacks):
    payments = [pending_payment(n) for n in range(5)]
    bodies = [charge_success(p.reference) for p in payments] + [charge_success(f"UNKNOWN-{n}") for n in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        for body in bodies + bodies[:3]:  # three delivered twice
            assert signed_post(client, body).status_code == 200
    assert broker.published() == Counter({DRAIN: 1})
    assert 0 < broker.flag_ttl() <= 60
    assert WebhookEvent.objects.filter(status="received").count() == 10

    assert drain_webhook_events() == 10
    assert broker.flag_ttl() == -2
    assert not WebhookEvent.objects.filter(status="received").exists()
    assert Counter(WebhookEvent.objects.values_list("status", flat=True)) == Counter({"processed": 5, "review": 5})
    assert set(Payment.objects.values_list("status", flat=True)) == {"succeeded"}
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 5
    assert drain_webhook_events() == 0  # nothing left, nothing applied twice
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 5


@pytest.mark.django_db
def test_an_event_stored_after_the_drain_cleared_the_flag_queues_a_new_drain(
        client, broker, configured_not_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(client, charge_success("FIRST"))
    assert broker.published() == Counter({DRAIN: 1})
    assert webhook_drain() == 1
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(client, charge_success("SECOND"))
    assert broker.published() == Counter({DRAIN: 1})
    assert webhook_drain() == 1
    assert not WebhookEvent.objects.filter(status="received").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="true concurrency needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_an_event_delivered_while_a_drain_runs_is_not_lost(broker, configured_not_eager, monkeypatch):
    """The second delivery commits (on its own connection) while the drain is processing the first
    event, after the drain cleared the flag: it queues a new drain, and is processed exactly once."""
    from django.db import connections

    from payments.paystack.signing import sign
    from payments.services import webhooks

    payments = [pending_payment(n) for n in range(2)]
    raws = [json.dumps(charge_success(p.reference)).encode() for p in payments]

    def deliver(raw):
        try:
            response = Client().post("/webhooks/paystack", data=raw, content_type="application/json",
                                     HTTP_X_PAYSTACK_SIGNATURE=sign(raw, FAKE_SECRET))
            assert response.status_code == 200
        finally:
            connections.close_all()

    deliver(raws[0])
    assert broker.published() == Counter({DRAIN: 1})
    process = webhooks._process_locked

    def process_then_deliver(event):
        process(event)
        if event.reference == payments[0].reference:
            worker = threading.Thread(target=deliver, args=(raws[1],))
            worker.start()
            worker.join()

    monkeypatch.setattr(webhooks, "_process_locked", process_then_deliver)
    done = webhook_drain()
    assert broker.published() == Counter({DRAIN: 1})  # the second delivery woke a new drain
    assert done + webhook_drain() == 2
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="true concurrency needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_process_each_event_once(broker, configured_not_eager):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    payments = [pending_payment(n) for n in range(30)]
    for p in payments:
        raw = json.dumps(charge_success(p.reference)).encode()
        webhook_receive(raw=raw, payload=json.loads(raw))
    assert broker.published() == Counter({DRAIN: 1})

    def drain(_):
        try:
            return webhook_drain(batch_size=7)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=3) as pool:
        done = list(pool.map(drain, range(3)))
    assert sum(done) == 30
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 30
    assert set(Payment.objects.values_list("status", flat=True)) == {"succeeded"}


@pytest.mark.django_db
def test_flag_redis_unreachable_falls_back_to_one_task_per_event(
        client, broker, configured_not_eager, closed_port_url, monkeypatch, django_capture_on_commit_callbacks):
    import redis

    from billing_ops import queue
    from billing_ops.celery import app

    dead = redis.Redis.from_url(closed_port_url.replace("http://", "redis://") + "/0", socket_connect_timeout=1)
    monkeypatch.setitem(queue._redis_clients, app.conf.broker_url, dead)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_post(client, charge_success("NO-FLAG"))
    assert response.status_code == 200 and response.json()["duplicate"] is False
    event = WebhookEvent.objects.get()
    assert broker.published() == Counter({PER_EVENT: 1})
    assert broker.messages(PER_EVENT)[0]["headers"]["argsrepr"] == f"({event.pk},)"


@pytest.mark.django_db
def test_redis_down_keeps_the_delivery_and_leaves_the_event_for_the_sweep(
        client, broker, configured_not_eager, closed_port_url, django_capture_on_commit_callbacks):
    from billing_ops.celery import app
    from payments.services.webhooks import process_stale_webhooks
    from tests.faults.conftest import celery_overrides

    with celery_overrides(app, broker_url=closed_port_url.replace("http://", "redis://") + "/0"):
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_post(client, charge_success("REDIS-DOWN"))
    assert response.status_code == 200 and response.json()["duplicate"] is False
    assert broker.published() == Counter()
    assert WebhookEvent.objects.get().status == "received"
    assert process_stale_webhooks(older_than_seconds=0) == 1
    assert WebhookEvent.objects.get().status == "review"


@pytest.mark.django_db
def test_a_hung_redis_costs_the_delivery_seconds_not_minutes(
        client, broker, configured_not_eager, django_capture_on_commit_callbacks):
    import time

    from billing_ops.celery import app
    from tests.faults.conftest import celery_overrides, hung_redis

    with hung_redis() as url, celery_overrides(app, broker_url=url, broker_transport_options={
            "socket_timeout": 1, "socket_connect_timeout": 1}):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_post(client, charge_success("REDIS-HUNG"))
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and WebhookEvent.objects.get().status == "received"
    assert elapsed < 6, elapsed


@pytest.mark.django_db
def test_eager_tasks_and_the_embedded_broker_keep_one_task_per_event():
    from billing_ops.celery import app
    from billing_ops.queue import enqueue_debounced
    from tests.faults.conftest import celery_overrides

    with celery_overrides(app, broker_url="filesystem://"):
        assert broker_redis() is None
        assert enqueue_debounced(drain_webhook_events, flag="unused", ttl=1) is False
    with celery_overrides(app, broker_url="redis://127.0.0.1:6379/0", task_always_eager=True):
        assert broker_redis() is None
