"""The same signed Paystack webhook delivered 20 times at once over real HTTP to a live server
(threaded, one database connection per request), and webhooks racing the charge that caused them.
One stored event, one payment applied, one invoice.paid."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from billing_ops.models import DomainEvent
from payments.models import Payment, WebhookEvent
from payments.paystack.signing import sign
from tests.factories import InvoiceFactory
from tests.faults.conftest import FAKE_SECRET, postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def deliver(url: str, raw: bytes, signature: str) -> int:
    request = urllib.request.Request(url, data=raw, method="POST", headers={
        "Content-Type": "application/json", "X-Paystack-Signature": signature})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_twenty_concurrent_http_deliveries_store_one_event_and_apply_one_payment(live_server, paystack):
    from tests.payments.test_webhooks import charge_success

    invoice = InvoiceFactory(total=Decimal("100.00"), amount_due=Decimal("100.00"))
    payment = Payment.objects.create(tenant=invoice.tenant, invoice=invoice, amount=Decimal("100.00"), currency="NGN",
                                     method="card", status="pending", reference=f"{invoice.number}-A1", attempt=1)
    raw = json.dumps(charge_success(payment.reference)).encode()
    signature = sign(raw, FAKE_SECRET)
    url = f"{live_server.url}/webhooks/paystack"
    barrier = threading.Barrier(20)

    def one(_):
        barrier.wait()
        return deliver(url, raw, signature)

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(one, range(20)))
    assert codes == [200] * 20
    event = WebhookEvent.objects.get()
    assert (event.deliveries, event.status) == (20, "processed")
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == "succeeded"
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("100.00"))
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 1
    assert DomainEvent.objects.filter(name="invoice.paid").count() == 1


def test_webhooks_racing_the_charge_that_caused_them_apply_it_once(live_server, paystack):
    """The fake posts charge.success twice to the live server while charge_invoice is settling the
    same payment from the synchronous answer: three writers, one application."""
    from billing_ops.actors import system
    from payments.services import charge_invoice
    from tests.payments.test_charging import invoice_with_card

    paystack.configure(webhook_url=f"{live_server.url}/webhooks/paystack")
    invoices = [invoice_with_card(code=f"AUTH_webhook_twice_{i}")[0] for i in range(5)]
    for invoice in invoices:
        assert charge_invoice(actor=system("faults"), invoice=invoice).status == "succeeded"
    deadline = time.monotonic() + 20
    while WebhookEvent.objects.filter(status="received").exists() or \
            sum(WebhookEvent.objects.values_list("deliveries", flat=True)) < 10:
        assert time.monotonic() < deadline, list(WebhookEvent.objects.values("status", "deliveries"))
        time.sleep(0.1)
    for invoice in invoices:
        invoice.refresh_from_db()
        assert (invoice.status, invoice.amount_paid) == ("paid", invoice.total)
        assert Payment.objects.filter(invoice=invoice).count() == 1
    assert WebhookEvent.objects.count() == 5
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 5
    assert DomainEvent.objects.filter(name="invoice.paid").count() == 5
