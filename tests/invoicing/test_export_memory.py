"""The CSV export streams: 100,000 invoices go out with memory that does not grow with the row count."""
import datetime as dt
import tracemalloc

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.factories import TenantFactory

ROWS = 100_000


def insert_invoices(tenant, count: int) -> None:
    """One INSERT … SELECT over a generated series: 100k rows in a second or two on either database."""
    if connection.vendor == "postgresql":
        series, json = "SELECT n FROM generate_series(1, %s) AS n", "%s::jsonb"
    else:
        series, json = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %s) SELECT n FROM s", "%s"
    sql = f"""
        INSERT INTO invoicing_invoice (tenant_id, number, status, currency, issue_date, due_date, subtotal, discount, discount_description,
            credit_applied, tax, total, amount_paid, amount_credited, amount_refunded, amount_due, seller_details, buyer_details, memo,
            status_reason, created_at, updated_at)
        SELECT %s, 'INV-2026-' || CAST(n AS TEXT), 'issued', 'NGN', %s, %s, 100.00, 0, '', 0, 7.50, 107.50, 0, 0, 0, 107.50,
            {json}, {json}, '', '', %s, %s
        FROM ({series}) AS seq
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant.pk, dt.date(2026, 11, 1), dt.date(2026, 11, 15), "{}", "{}", now, now, count])


@pytest.mark.slow
@pytest.mark.django_db
def test_csv_export_of_100k_rows_has_bounded_memory(billing_user):
    insert_invoices(TenantFactory(name="Bulk Buyer"), ROWS)
    client = Client()
    client.force_login(billing_user)

    response = client.get("/billing/invoices/export.csv?status=issued")
    assert response.streaming
    tracemalloc.start()
    rows, size, first = 0, 0, None
    try:
        for chunk in response.streaming_content:
            first = first or chunk
            rows += chunk.count(b"\n")
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first.startswith(b"number,status,tenant_id")
    assert rows == ROWS + 1
    # The file is ~15 MB; a buffered export would hold all of it (and 100k model rows) at once.
    assert size > 10_000_000 and peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for {size / 1e6:.1f} MB of CSV"
