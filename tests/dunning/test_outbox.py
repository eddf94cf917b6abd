"""The outbox to tenant deployments: written with the change, delivered signed, retried with back-off."""
import datetime as dt
import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.services import tenant_set_status
from billing_ops.actors import system
from dunning import outbox
from dunning.models import OutboxEvent
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db
SECRET = "whsec-deployment-0001"


class Deployment:
    """A tenant deployment that answers 500 to the first ``failures`` requests, then 200."""

    def __init__(self, failures: int = 1):
        self.requests: queue.Queue = queue.Queue()
        self.failures = failures
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests.put(({k.lower(): v for k, v in self.headers.items()}, body))
                code = 500 if owner.failures > 0 else 200
                owner.failures -= 1
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/billing-events"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def received(self) -> list:
        items = []
        while not self.requests.empty():
            items.append(self.requests.get())
        return items

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def deployment():
    server = Deployment(failures=1)
    yield server
    server.stop()


def test_event_is_written_in_the_same_transaction_as_the_change():
    tenant = TenantFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        tenant_set_status(actor=system("t"), tenant=tenant, status="suspended", reason="Non-payment: test")
        assert OutboxEvent.objects.filter(tenant=tenant).count() == 1
        raise RuntimeError("roll back the change")
    assert not OutboxEvent.objects.exists()  # rolled back with it: never an event without its change


def test_delivery_fails_then_succeeds_signed_with_the_same_event_id(deployment):
    tenant = TenantFactory(deployment_webhook_url=deployment.url, deployment_webhook_secret=SECRET)
    tenant_set_status(actor=system("t"), tenant=tenant, status="suspended", reason="Non-payment: invoice INV-1")
    event = OutboxEvent.objects.get(tenant=tenant)
    assert event.event_type == "tenant.suspended" and event.status == "pending"

    assert outbox.deliver_due() == {"failed": 1}
    event.refresh_from_db()
    assert event.status == "failed" and event.attempts == 1 and event.last_status_code == 500
    assert event.next_attempt_at > timezone.now()  # backing off
    assert outbox.deliver_due() == {}  # not due yet
    OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    assert outbox.deliver_due() == {"delivered": 1}
    event.refresh_from_db()
    assert event.status == "delivered" and event.attempts == 2 and event.delivered_at

    requests = deployment.received()
    assert len(requests) == 2
    for headers, body in requests:
        assert outbox.verify(SECRET, headers["x-billingops-timestamp"], body, headers["x-billingops-signature"])
        assert not outbox.verify("wrong-secret", headers["x-billingops-timestamp"], body, headers["x-billingops-signature"])
        assert headers["x-billingops-event-id"] == str(event.pk)
        payload = json.loads(body)
        assert payload["id"] == str(event.pk) and payload["type"] == "tenant.suspended"
        assert payload["data"]["tenant_id"] == tenant.pk and "Non-payment" in payload["data"]["reason"]


def test_backoff_grows_and_gives_up_after_max_age(settings):
    assert [outbox.next_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert outbox.next_delay(30) == dt.timedelta(hours=6)
    tenant = TenantFactory(deployment_webhook_url="http://127.0.0.1:9/closed")
    with transaction.atomic():
        event = outbox.outbox_write(tenant_id=tenant.pk, event_type="tenant.suspended", data={})
    OutboxEvent.objects.filter(pk=event.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert outbox.deliver_due() == {"dead": 1}


def test_unreachable_deployment_is_retried_not_lost():
    tenant = TenantFactory(deployment_webhook_url="http://127.0.0.1:9/closed")
    with transaction.atomic():
        outbox.outbox_write(tenant_id=tenant.pk, event_type="subscription.suspended", data={"subscription_id": 1})
    assert outbox.deliver_due() == {"failed": 1}
    event = OutboxEvent.objects.get()
    assert event.status == "failed" and "ConnectionError" in event.last_error


def test_no_url_then_resend_after_it_is_set(deployment, billing_user):
    tenant = TenantFactory(deployment_webhook_url="")
    tenant_set_status(actor=billing_user, tenant=tenant, status="suspended", reason="Non-payment")
    assert outbox.deliver_due() == {"no_endpoint": 1}
    tenant.deployment_webhook_url, tenant.deployment_webhook_secret = deployment.url, SECRET
    tenant.save()
    deployment.failures = 0
    event = outbox.outbox_resend(actor=billing_user, event=OutboxEvent.objects.get())
    assert event.status == "pending"
    assert outbox.deliver_due() == {"delivered": 1}


def test_deliver_outbox_task_is_wired_through_billing_ops(deployment):
    from billing_ops.tasks import deliver_outbox

    deployment.failures = 0
    tenant = TenantFactory(deployment_webhook_url=deployment.url, deployment_webhook_secret=SECRET)
    tenant_set_status(actor=system("t"), tenant=tenant, status="closed", reason="Left")
    assert deliver_outbox()["delivered"] == 1


@pytest.mark.skipif(__import__("django.db").db.connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_deliver_each_event_once():
    from tests.dunning.test_tasks import _run_twice_at_once

    server = Deployment(failures=0)
    try:
        tenants = [TenantFactory(deployment_webhook_url=server.url, deployment_webhook_secret=SECRET) for _ in range(6)]
        for tenant in tenants:
            tenant_set_status(actor=system("t"), tenant=tenant, status="suspended", reason="Non-payment")
        _run_twice_at_once(outbox.deliver_due)
        ids = [headers["x-billingops-event-id"] for headers, _ in server.received()]
        assert len(ids) == 6 and len(set(ids)) == 6
        assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}
    finally:
        server.stop()
