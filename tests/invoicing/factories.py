"""Invoices built through the services (so every figure comes from the amount engine)."""
from __future__ import annotations

from decimal import Decimal

from billing_ops.actors import system
from tests.factories import TenantFactory

EXAMPLE_LINES = [
    {"description": "Plan", "quantity": "1", "unit_price": "29.00", "tax_rate": "20", "kind": "plan"},
    {"description": "Add-on", "quantity": "1", "unit_price": "10.00", "tax_rate": "20", "kind": "add_on"},
]


def make_invoice(*, actor=None, tenant=None, lines=None, discount=None, credit=None, issue=True, **kwargs):
    """A manual invoice (issued unless ``issue=False``); default lines are CONTRACT §6's example."""
    from invoicing.services import invoice_create, invoice_issue

    actor = actor or system("tests")
    tenant = tenant or TenantFactory()
    invoice = invoice_create(actor=actor, tenant=tenant, lines=lines or EXAMPLE_LINES, discount=discount, credit=credit, **kwargs)
    if issue:
        invoice = invoice_issue(actor=actor, invoice=invoice)
    return invoice


def simple_lines(amount: str = "100.00", tax_rate: str = "0") -> list[dict]:
    return [{"description": "Service", "quantity": "1", "unit_price": amount, "tax_rate": tax_rate}]


def with_credit(tenant, amount: str):
    from accounts.services import tenant_credit_adjust

    tenant_credit_adjust(actor=system("tests"), tenant=tenant, amount=Decimal(amount), reason="test credit")
    tenant.refresh_from_db()
    return tenant
