"""Fixtures for the Paystack adapter and fake: a running fake and a webhook receiver. No Django."""
from __future__ import annotations

import queue
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from payments.paystack.fake_server import FakePaystack

FAKE_SECRET = "sk_test_fixture0000000000001234"


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
