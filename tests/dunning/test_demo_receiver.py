"""The demo stand-in for tenant deployments answers billing-ops' signed events with 200."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

import requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_receiver_accepts_events():
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "dunning.demo_receiver", "--port", str(port)],
                               stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                response = requests.post(f"http://127.0.0.1:{port}/tenants/acme/billing-events", data=b'{"type": "tenant.suspended"}',
                                         headers={"X-BillingOps-Event": "tenant.suspended", "X-BillingOps-Event-Id": "ev-1"}, timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert response.status_code == 200 and response.json() == {"received": True}
    finally:
        process.terminate()
        output = process.communicate(timeout=5)[0]
    assert "tenant.suspended ev-1 -> /tenants/acme/billing-events" in output
