"""Invoices of one tenant settled at the same moment all settle and recover their dunning cases.

The auto-charge benchmark saw 3 deadlocks in ~12,000 charges where dunning's recovery locked the tenant
late in the transaction; recovery now locks the tenant only when there is something to reactivate. This
test did not reproduce that rare interleaving before the fix; it guards concurrent same-tenant
settlement as a whole."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from billing_ops.actors import system
from dunning.models import DunningCase
from invoicing.models import Invoice
from payments.services import payment_record_manual
from tests.dunning.factories import make_invoice, open_case
from tests.factories import TenantFactory
from tests.faults.conftest import postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def test_payments_of_one_tenants_invoices_at_once_all_settle():
    actor = system("tests")
    tenant = TenantFactory(deployment_webhook_url="")
    invoices = [make_invoice(tenant=tenant, total="100.00") for _ in range(8)]
    for invoice in invoices:
        open_case(invoice)
    errors = []
    barrier = threading.Barrier(len(invoices))

    def pay(invoice):
        try:
            barrier.wait()
            payment_record_manual(actor=actor, invoice=invoice, amount=Decimal("100.00"), method="bank_transfer",
                                  reference=f"TRF-{invoice.pk}")
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay, args=(invoice,)) for invoice in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert set(Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list("status", flat=True)) == {"paid"}
    assert set(DunningCase.objects.filter(invoice__in=invoices).values_list("status", flat=True)) == {"recovered"}
