"""Dunning test data: cases are opened through the service so they look like real ones."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing_ops.actors import system
from tests.factories import InvoiceFactory, SubscriptionFactory, TenantFactory


def make_invoice(*, tenant=None, with_subscription=True, total="100.00", due_date=dt.date(2026, 11, 15), status="issued", **kwargs):
    tenant = tenant or TenantFactory(deployment_webhook_url="")
    subscription = SubscriptionFactory(tenant=tenant) if with_subscription else None
    return InvoiceFactory(tenant=tenant, subscription=subscription, total=Decimal(total), amount_due=Decimal(total),
                          due_date=due_date, status=status, **kwargs)


def open_case(invoice=None, *, opened_by="payment_failed", reason="Insufficient funds", **invoice_kwargs):
    from dunning.services import case_open

    invoice = invoice or make_invoice(**invoice_kwargs)
    case, _ = case_open(actor=system("test"), invoice=invoice, opened_by=opened_by, reason=reason)
    return case
