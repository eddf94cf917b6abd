"""Fixtures for the payments tests: a running fake Paystack, a webhook receiver, a configured app."""
from __future__ import annotations

import json
import queue
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from payments.paystack.fake_server import FakePaystack

FAKE_SECRET = "sk_test_fixture0000000000001234"


# Paystack's reference material (OpenAPI description, sample webhooks) as published in ../shared/paystack,
# vendored so that the suite runs from any clone; test_reference_copy_matches_shared keeps it in step.
SHARED = Path(__file__).resolve().parent / "paystack_reference"


@pytest.fixture
def fake_paystack():
    """A fake Paystack on a free 127.0.0.1 port, with short delays so tests stay fast."""
    fake = FakePaystack(secret_key=FAKE_SECRET, timeout_delay_s=1.0, webhook_delay_s=0.3, refund_delay_s=0.1)
    fake.start()
    yield fake
    fake.stop()


class WebhookReceiver:
    """Collects the webhooks POSTed to ``url`` as (headers, raw body) pairs."""

    def __init__(self):
        self.received: queue.Queue[tuple[dict, bytes]] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.put(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/paystack"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def next(self, timeout: float = 3.0) -> tuple[dict, bytes]:
        return self.received.get(timeout=timeout)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on which nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- Django side -----------------------------------------------------------------------------------


@pytest.fixture
def eager_tasks():
    """Run Celery tasks inline (``.delay`` calls the task at once)."""
    from billing_ops.celery import app

    keys = ("task_always_eager", "task_eager_propagates")
    saved = {key: app.conf.changes[key] for key in keys if key in app.conf.changes}
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    # Drop the overrides rather than writing the old values back: an explicit value would shadow the
    # CELERY_* Django settings for every later test in the process (settings.CELERY_TASK_ALWAYS_EAGER).
    for key in keys:
        app.conf.changes.pop(key, None)
    app.conf.changes.update(saved)


@pytest.fixture
def paystack(fake_paystack, settings, db, eager_tasks):
    """The app configured (test mode) against the fake, with short time-outs. Returns the fake."""
    from payments.models import PaystackConfig

    settings.PAYSTACK_BASE_URL = fake_paystack.base_url
    settings.PAYSTACK_CONNECT_TIMEOUT = 1.0
    settings.PAYSTACK_READ_TIMEOUT = 0.5
    PaystackConfig.objects.update_or_create(pk=1, defaults={"mode": "test", "test_secret_key": FAKE_SECRET,
                                                            "test_public_key": "pk_test_fixture000000001234"})
    return fake_paystack


def signed_post(client, body, *, secret: str = FAKE_SECRET, signature: str | None = None):
    """POST ``body`` (dict or bytes) to the webhook as Paystack would."""
    from payments.paystack.signing import sign

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/webhooks/paystack", data=raw, content_type="application/json",
                       HTTP_X_PAYSTACK_SIGNATURE=signature if signature is not None else sign(raw, secret))
