"""Auto-charge when Paystack (or the network to it, or the worker itself) fails at the worst moment:
the charge went through but the answer timed out, came back as a 5xx, or never came because the
worker was killed. The next run verifies the reference with Paystack and nobody is charged twice —
counted on the fake's own ledger (GET /__fake__/charges).

The faults are injected by a real proxy (tests/faults/proxy.py) between the app and the fake
Paystack, and by SIGKILL of a real worker process; nothing in the app is mocked."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from billing_ops.actors import system
from billing_ops.models import DomainEvent
from payments.models import Payment
from payments.tasks import run_auto_charge
from tests.faults.conftest import postgres_only
from tests.faults.proxy import FaultProxy
from tests.payments.test_charging import invoice_with_card

ACTOR = system("faults")
ROOT = Path(__file__).resolve().parents[2]


def fake_ledger(fake) -> Counter:
    """How many times Paystack (the fake) recorded each reference, from its control API."""
    with urllib.request.urlopen(f"{fake.base_url}/__fake__/charges", timeout=5) as response:
        charges = json.load(response)["charges"]
    return Counter(c["reference"] for c in charges)


def charged_once(fake, invoice) -> None:
    ledger = fake_ledger(fake)
    mine = {ref: n for ref, n in ledger.items() if ref.startswith(f"{invoice.number}-")}
    successes = [c for c in fake.charges if c["reference"] in mine and c["status"] == "success"]
    assert all(n == 1 for n in mine.values()) and len(successes) == 1, (mine, successes)
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_due == 0
    assert Payment.objects.filter(invoice=invoice, status="succeeded").count() == 1
    assert DomainEvent.objects.filter(name="payment.succeeded", payload__invoice_id=invoice.pk).count() == 1


@pytest.fixture
def proxy(paystack, settings):
    proxy = FaultProxy(paystack.base_url, hang_s=2.0)
    settings.PAYSTACK_BASE_URL = proxy.url
    yield proxy
    proxy.stop()


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["hang_after", "502_after", "drop_after"])
def test_answer_lost_after_paystack_charged_then_verify_fails_too(paystack, proxy, fault):
    """Run 1: the charge goes through but its answer is lost (time-out, 5xx, dropped connection) and
    the verification fails as well: the attempt stays pending. Run 2 verifies: paid, one charge."""
    invoice, _ = invoice_with_card()
    proxy.modes.update(charge=fault, verify="503")
    first = run_auto_charge()
    assert first["charged"] == 0 and first["pending"] + first["errors"] == 1, first
    payment = Payment.objects.get(invoice=invoice)
    assert payment.status == "pending"  # outcome unknown: neither paid nor failed
    assert fake_ledger(paystack) == {payment.reference: 1}

    proxy.modes.update(charge="pass", verify="pass")
    second = run_auto_charge()
    assert second["charged"] == 1, second
    charged_once(paystack, invoice)
    assert ("charge", "pass") not in proxy.seen  # never sent again
    assert run_auto_charge()["charged"] == 0  # and a third run has nothing to do
    charged_once(paystack, invoice)


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["hang_after", "502_after", "drop_after"])
def test_answer_lost_after_paystack_charged_is_verified_at_once(paystack, proxy, fault):
    invoice, _ = invoice_with_card()
    proxy.modes.update(charge=fault)
    assert run_auto_charge()["charged"] == 1
    charged_once(paystack, invoice)


@pytest.mark.django_db
def test_fake_paystack_5xx_and_slow_outcomes(paystack):
    """The fake's own faults: ``server_error`` (500, nothing charged) and ``slow`` (charged, answer
    after the read time-out). Repeated runs: each invoice charged exactly once."""
    erroring, card = invoice_with_card(code="AUTH_server_error_f")
    slow, _ = invoice_with_card(code="AUTH_slow_f")
    first = run_auto_charge()
    assert first["errors"] == 1 and first["charged"] == 1, first  # 500 → error; slow → verified
    assert fake_ledger(paystack)[f"{slow.number}-A1"] == 1
    assert not any(ref.startswith(erroring.number) for ref in fake_ledger(paystack))  # a 500 charged nothing
    paystack.script("success", authorization_code=card.authorization_code)
    assert run_auto_charge()["charged"] == 1
    assert run_auto_charge()["charged"] == 0
    charged_once(paystack, erroring)
    charged_once(paystack, slow)
    assert [ref for ref in fake_ledger(paystack) if ref.startswith(erroring.number)] == [f"{erroring.number}-A2"]


# --- a worker killed between recording the attempt and hearing the answer ---------------------------

def _spawn_worker(invoice, base_url) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "PAYSTACK_BASE_URL": base_url,
        "PAYSTACK_READ_TIMEOUT": "30",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen([sys.executable, "-m", "tests.faults.charge_worker", str(invoice.pk)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("when", ["after_paystack_charged", "before_paystack_heard"])
def test_worker_killed_mid_charge_next_run_verifies_and_never_charges_twice(paystack, proxy, when):
    invoice, _ = invoice_with_card()
    proxy.hang_s = 60
    proxy.modes["charge"] = "hang_after" if when == "after_paystack_charged" else "hold_before"
    worker = _spawn_worker(invoice, proxy.url)
    try:
        assert proxy.arrived.wait(60), worker.stderr.read() if worker.poll() is not None else "no charge request"
        # The worker has committed its attempt and is waiting for Paystack's answer: kill it.
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.status, payment.reference) == ("pending", f"{invoice.number}-A1")
    expected_before = {payment.reference: 1} if when == "after_paystack_charged" else {}
    assert dict(fake_ledger(paystack)) == expected_before

    proxy.modes["charge"] = "pass"
    time.sleep(1.1)  # the dead worker's lease (1 s in tests/faults/worker_settings.py) runs out
    summary = run_auto_charge()
    assert summary["charged"] == 1, summary
    charged_once(paystack, invoice)
    assert Payment.objects.filter(invoice=invoice).count() == 1  # the same attempt, verified (or re-sent once)
    assert run_auto_charge()["charged"] == 0
    charged_once(paystack, invoice)
