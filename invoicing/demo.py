"""Demo invoices in every status, with credit notes. Uses the subscriptions app's demo subscriptions
when present (through invoice generation) and adds manual invoices for the demo tenants."""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.utils import timezone

logger = logging.getLogger(__name__)

MANUAL_ITEMS = [
    # description, unit price per currency unit-ish scale, tax rate
    ("Implementation services (10 h)", Decimal("150.00"), Decimal("7.5")),
    ("Data migration", Decimal("400.00"), Decimal("7.5")),
    ("Training workshop", Decimal("250.00"), Decimal("7.5")),
    ("Premium support (monthly)", Decimal("99.00"), Decimal("7.5")),
]


def _lines(index: int) -> list[dict]:
    first = MANUAL_ITEMS[index % len(MANUAL_ITEMS)]
    second = MANUAL_ITEMS[(index + 1) % len(MANUAL_ITEMS)]
    return [
        {"description": first[0], "quantity": "1", "unit_price": first[1], "tax_rate": first[2]},
        {"description": second[0], "quantity": str(1 + index % 3), "unit_price": second[1], "tax_rate": second[2]},
    ]


def seed(ctx: dict) -> None:
    from invoicing import services
    from invoicing.generation import invoice_generate_for_subscription
    from invoicing.models import Invoice

    actor = ctx["actor"]
    today = timezone.localdate()
    invoices: list[Invoice] = []

    for subscription in ctx.get("subscriptions") or []:
        try:
            invoice = invoice_generate_for_subscription(actor=actor, subscription_id=subscription.pk, today=today)
        except Exception:  # demo data must not fail on another app's edge case
            logger.exception("Demo: could not generate the invoice of subscription %s", subscription.pk)
            continue
        if invoice is not None:
            invoices.append(invoice)

    tenants = [t for t in ctx.get("tenants") or [] if t.status != "closed"]
    creator = (ctx.get("users") or {}).get("billing") or actor
    by_status: dict[str, list[Invoice]] = {}

    def manual(tenant, index, *, issue=True, **kwargs):
        invoice = services.invoice_create(actor=creator, tenant=tenant, lines=_lines(index), **kwargs)
        if issue:
            invoice = services.invoice_issue(actor=actor, invoice=invoice)
        invoices.append(invoice)
        return invoice

    def back_date(invoice, days_late: int):
        Invoice.objects.filter(pk=invoice.pk).update(issue_date=today - dt.timedelta(days=14 + days_late),
                                                     due_date=today - dt.timedelta(days=days_late))
        invoice.refresh_from_db()
        return invoice

    for index, tenant in enumerate(tenants):
        kind = index % 6
        if kind == 0:  # open, and a second that is overdue
            by_status.setdefault("issued", []).append(manual(tenant, index))
            late = back_date(manual(tenant, index + 1), days_late=9)
            by_status.setdefault("overdue", []).append(services.invoice_mark_overdue(actor=actor, invoice=late))
        elif kind == 1:  # paid in full, then partly credited back as account credit
            paid = manual(tenant, index, discount={"percent": "10"}, discount_description="Loyalty 10%")
            paid = services.invoice_record_payment(actor=actor, invoice=paid, amount=paid.amount_due, route="demo")
            note = services.credit_note_create(actor=creator, invoice=paid, reason="Training session cancelled", amount=Decimal("50.00"),
                                               resolution="account_credit")
            services.credit_note_approve(actor=actor, credit_note=note)
            by_status.setdefault("paid", []).append(paid)
        elif kind == 2:  # a draft and a void one
            by_status.setdefault("draft", []).append(manual(tenant, index, issue=False, memo="Awaiting PO number from the customer"))
            wrong = manual(tenant, index + 2)
            by_status.setdefault("void", []).append(services.invoice_void(actor=actor, invoice=wrong, reason="Issued to the wrong entity"))
        elif kind == 3:  # overdue, written off
            late = back_date(manual(tenant, index), days_late=75)
            late = services.invoice_mark_overdue(actor=actor, invoice=late)
            by_status.setdefault("uncollectible", []).append(
                services.invoice_mark_uncollectible(actor=actor, invoice=late, reason="Customer unreachable for 60 days"))
        elif kind == 4:  # partly paid, a draft credit note waiting for approval, and a paid one with a refund requested
            open_one = manual(tenant, index)
            services.invoice_record_payment(actor=actor, invoice=open_one, amount=(open_one.total / 2).quantize(Decimal("0.01")), route="demo")
            services.credit_note_create(actor=creator, invoice=open_one, reason="Price agreed lower on the call", amount=Decimal("25.00"))
            by_status.setdefault("issued", []).append(open_one)
            paid = manual(tenant, index + 3)
            paid = services.invoice_record_payment(actor=actor, invoice=paid, amount=paid.amount_due, route="demo")
            addon_line = paid.lines.order_by("position").last()
            # Left for approval: approving asks the payments app to refund the card payment, and the demo
            # settled this invoice without one.
            services.credit_note_create(actor=creator, invoice=paid, reason="Duplicate charge for the add-on", line_ids=[addon_line.pk],
                                        resolution="refund")
            by_status.setdefault("paid", []).append(paid)
        else:  # open, settled in part by an approved credit note
            credited = manual(tenant, index)
            note = services.credit_note_create(actor=creator, invoice=credited, reason="SLA breach on 3 Nov", amount=Decimal("40.00"))
            services.credit_note_approve(actor=actor, credit_note=note)
            by_status.setdefault("issued", []).append(credited)

    ctx["invoices"] = [Invoice.objects.get(pk=i.pk) for i in invoices]
    ctx["invoices_by_status"] = by_status
    stdout = ctx.get("stdout")
    if stdout:
        counts = ", ".join(f"{status} {len(items)}" for status, items in sorted(by_status.items()))
        stdout.write(f"  invoices: {len(invoices)} ({counts})")
