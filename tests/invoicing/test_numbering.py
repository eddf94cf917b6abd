"""Gapless numbering under concurrent issuing (PostgreSQL: real row locks)."""
import threading

import pytest
from django.db import connection, connections

from billing_ops.actors import system
from invoicing.models import Invoice
from invoicing.services import invoice_issue, next_document_number
from tests.factories import TenantFactory
from tests.invoicing.factories import make_invoice


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_twenty_invoices_issued_at_once_get_twenty_consecutive_numbers():
    tenant = TenantFactory()
    drafts = [make_invoice(tenant=tenant, issue=False) for _ in range(20)]
    barrier = threading.Barrier(20)
    errors = []

    def issue(invoice):
        try:
            barrier.wait()
            invoice_issue(actor=system("tests"), invoice=invoice)
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    year = numbers[0].split("-")[1]
    assert numbers == [f"INV-{year}-{n:06d}" for n in range(1, 21)]


@pytest.mark.django_db
def test_sequences_are_per_prefix_and_year():
    from django.db import transaction

    with transaction.atomic():
        assert next_document_number(prefix="INV", year=2026) == "INV-2026-000001"
        assert next_document_number(prefix="INV", year=2026) == "INV-2026-000002"
        assert next_document_number(prefix="CN", year=2026) == "CN-2026-000001"
        assert next_document_number(prefix="INV", year=2027) == "INV-2027-000001"
