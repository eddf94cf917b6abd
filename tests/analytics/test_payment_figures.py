"""Collected, failed and recovered payments, read from the payments app once it is merged."""
import datetime as dt
from decimal import Decimal

import pytest

from billing_ops.analytics.metrics import _payment_model, compute_month
from tests.factories import InvoiceFactory, TenantFactory

pytestmark = pytest.mark.django_db
D = Decimal


def at(day):
    return dt.datetime(2026, 10, day, 9, tzinfo=dt.UTC)


def test_cash_figures_from_payments():
    Payment = _payment_model()
    if Payment is None:
        pytest.skip("the payments app (Payment model) is not merged on this branch")
    tenant = TenantFactory()
    first = InvoiceFactory(tenant=tenant, issue_date=dt.date(2026, 10, 1), total=D("100.00"))
    second = InvoiceFactory(tenant=tenant, issue_date=dt.date(2026, 10, 2), total=D("50.00"))

    def pay(invoice, status, amount, ref, **dates):
        fields = {f.name for f in Payment._meta.get_fields()}
        data = {"tenant": tenant, "invoice": invoice, "amount": D(amount), "currency": "NGN", "status": status, "reference": ref}
        data.update({k: v for k, v in dates.items() if k in fields})
        return Payment.objects.create(**{k: v for k, v in data.items() if k in fields})

    pay(first, "failed", "100.00", "r1", failed_at=at(3), created_at=at(3))
    pay(first, "succeeded", "100.00", "r2", paid_at=at(5))  # recovered after the failure
    pay(second, "succeeded", "50.00", "r3", paid_at=at(6))
    pay(second, "failed", "50.00", "r4", failed_at=dt.datetime(2026, 9, 30, tzinfo=dt.UTC))  # not October
    m = compute_month(dt.date(2026, 10, 1), today=dt.date(2026, 11, 23))["NGN"]
    assert (m.invoiced, m.collected) == (D("150.00"), D("150.00"))
    assert (m.failed_payments, m.failed_amount) == (1, D("100.00"))
    # both succeeded payments belong to invoices with a failed attempt (the second's was in September)
    assert (m.recovered_payments, m.recovered_amount) == (2, D("150.00"))
