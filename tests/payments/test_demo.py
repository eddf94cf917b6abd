"""The demo: seed, then auto-charge against the fake with webhooks posted to the live app."""
from __future__ import annotations

import queue
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.db import connection
from django.utils import timezone

from billing_ops.actors import system
from billing_ops.models import DomainEvent
from payments.models import PaymentMethod, PaystackConfig, WebhookEvent
from payments.paystack.fake_server import FakePaystack
from payments.services import run_auto_charge
from tests.factories import InvoiceFactory


@pytest.mark.django_db(transaction=True)
def test_demo_auto_charge_succeeds_for_some_and_fails_for_others(live_server, settings, eager_tasks, monkeypatch,
                                                                 webhook_receiver):
    from accounts import demo as accounts_demo
    from payments import demo

    monkeypatch.delenv("PAYSTACK_DEMO_SECRET_KEY", raising=False)
    # PostgreSQL takes the webhooks live, concurrently with the run. SQLite's shared in-memory test
    # database cannot take concurrent writers, so there they are collected and delivered after the run.
    live = connection.vendor == "postgresql"
    target = live_server.url + "/webhooks/paystack" if live else webhook_receiver.url
    fake = FakePaystack(secret_key=demo.DEMO_SECRET_KEY, webhook_url=target, webhook_delay_s=0.2, timeout_delay_s=0.2)
    fake.start()
    try:
        settings.PAYSTACK_BASE_URL = fake.base_url
        ctx = {"actor": system("seed_demo")}
        accounts_demo.seed(ctx)
        overdue = timezone.localdate() - timedelta(days=20)
        ctx["invoices"] = [
            InvoiceFactory(tenant=tenant, currency=tenant.currency, total=Decimal("150.00"), amount_due=Decimal("150.00"),
                           status=status, issue_date=overdue, due_date=overdue + timedelta(days=14))
            for tenant in ctx["tenants"][:11] for status in ("overdue", "issued")
        ]
        demo.seed(ctx)
        assert PaystackConfig.load().test_secret_key == demo.DEMO_SECRET_KEY
        assert PaymentMethod.objects.count() == 10
        assert DomainEvent.objects.filter(name="payment.failed").exists()  # historical declines for dunning

        summary = run_auto_charge(actor=system("test"))
        assert summary["charged"] >= 4 and summary["failed"] >= 1 and summary["errors"] == 0, summary
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and WebhookEvent.objects.filter(status="processed").count() < summary["charged"]:
            if live:
                time.sleep(0.1)
                continue
            try:
                headers, body = webhook_receiver.next(timeout=0.5)
            except queue.Empty:
                continue
            response = requests.post(live_server.url + "/webhooks/paystack", data=body, timeout=5, headers={
                "Content-Type": "application/json", "x-paystack-signature": headers["x-paystack-signature"]})
            assert response.status_code == 200
        assert WebhookEvent.objects.filter(status="processed").count() >= summary["charged"]
        assert not WebhookEvent.objects.filter(status__in=["review", "failed"]).exists()
        paid = {inv.pk for inv in ctx["invoices"] if type(inv).objects.get(pk=inv.pk).status == "paid"}
        assert len(paid) == summary["charged"]
    finally:
        fake.stop()
