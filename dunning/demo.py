"""Demo data for dunning: the default policy and cases at every step of the ladder.

Uses the unpaid invoices earlier apps put in ``ctx["invoices"]`` when there are any, and makes
its own otherwise. Case histories are back-dated so the queue, the timelines and the recovery
chart look like a few months of real use.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from dunning import services
from dunning.models import DunningCase, RecordKind, RecoveryRecord

# (days since the failure, retries done, what happens next)
SCENARIOS = [
    (0, 0, "open"),
    (3, 1, "open"),
    (8, 3, "open"),
    (17, 4, "open"),
    (24, 5, "suspend"),
    (12, 2, "recover"),
    (26, 5, "suspend_then_recover"),
]
HISTORY_MONTHS = [(1, "2500.00", True), (2, "1800.00", True), (2, "900.00", False), (4, "3200.00", True), (6, "1200.00", False)]


def _own_invoice(tenant, number: int, total: Decimal, due: dt.date):
    from invoicing.models import Invoice, InvoiceLine
    from subscriptions.models import Subscription

    subscription = (Subscription.objects.filter(tenant=tenant, status__in=["active", "trialing", "past_due"], currency=tenant.currency)
                    .order_by("pk").first())
    invoice = Invoice.objects.create(
        tenant=tenant, subscription=subscription, currency=tenant.currency, status="issued", number=f"INV-{due.year}-9{number:05d}",
        issue_date=due - dt.timedelta(days=14), due_date=due, subtotal=total, total=total, amount_due=total,
        issued_at=timezone.now(), memo="Demo invoice (dunning)",
    )
    InvoiceLine.objects.create(invoice=invoice, description="Monthly plan", quantity=1, unit_price=total, amount=total,
                               net=total, total=total)
    return invoice


def _unpaid(ctx) -> list:
    invoices = [i for i in (ctx.get("invoices") or []) if getattr(i, "status", "") in ("issued", "overdue")]
    from invoicing.models import Invoice

    return [i for i in Invoice.objects.filter(pk__in=[i.pk for i in invoices], amount_due__gt=0, dunning_case__isnull=True)]


def _backdate(case: DunningCase, days: int) -> DunningCase:
    today = timezone.localdate()
    failure = today - dt.timedelta(days=days)
    opened = timezone.now() - dt.timedelta(days=days)
    DunningCase.objects.filter(pk=case.pk).update(failure_date=failure, due_date=case.due_date or failure, opened_at=opened)
    RecoveryRecord.objects.filter(case=case).update(created_at=opened)
    case.refresh_from_db()
    return case


def _replay_retries(case: DunningCase, count: int, actor) -> DunningCase:
    timeline = services.case_timeline(case)
    for planned in timeline.retries[:count]:
        case = services.case_record_retry(actor=actor, case=case, number=planned.number, outcome="failed",
                                          reason="Insufficient funds (demo)", payment_ref=f"demo-{case.pk}-{planned.number}")
        RecoveryRecord.objects.filter(case=case, kind=RecordKind.RETRY, number=planned.number).update(
            created_at=dt.datetime.combine(planned.date, dt.time(6, 30), tzinfo=dt.UTC))
    return case


def seed(ctx: dict) -> None:
    from invoicing.services import invoice_record_payment

    actor = ctx["actor"]
    services.policy_get()
    tenants = [t for t in ctx.get("tenants", []) if t.status == "active"]
    if not tenants:
        return
    unpaid = _unpaid(ctx)
    today = timezone.localdate()
    number = 1
    cases = []

    def next_invoice(index: int, days: int):
        nonlocal number
        if unpaid:
            return unpaid.pop(0)
        tenant = tenants[index % len(tenants)]
        number += 1
        total = Decimal("1500.00") if tenant.currency == "NGN" else Decimal("120.00")
        return _own_invoice(tenant, number, total + index * 10, today - dt.timedelta(days=days))

    for index, (days, retries, outcome) in enumerate(SCENARIOS):
        invoice = next_invoice(index, days)
        case, _ = services.case_open(actor=actor, invoice=invoice, opened_by="payment_failed", reason="Insufficient funds (demo)")
        if case is None:
            continue
        case = _backdate(case, days)
        case = _replay_retries(case, retries, actor)
        services.case_send_due_reminders(actor=actor, case=case, on=today)
        case.refresh_from_db()
        if outcome in ("suspend", "suspend_then_recover") and case.status == "open":
            case = services.case_suspend(actor=actor, case=case, reason=f"All {retries} payment retries failed (demo)")
        if outcome in ("recover", "suspend_then_recover"):
            invoice.refresh_from_db()
            invoice_record_payment(actor=actor, invoice=invoice, amount=invoice.amount_due,
                                   route="manual" if outcome == "recover" else "webhook")
        cases.append(case)

    # Older, closed cases so the 12-month recovery chart has a history.
    for index, (months_ago, amount, recovered) in enumerate(HISTORY_MONTHS):
        when = timezone.now() - dt.timedelta(days=30 * months_ago + 3)
        tenant = tenants[(index + 3) % len(tenants)]
        total = Decimal(amount) if tenant.currency == "NGN" else Decimal(amount) / 10
        number += 1
        invoice = _own_invoice(tenant, number, total, when.date())
        case, _ = services.case_open(actor=actor, invoice=invoice, opened_by="invoice_overdue", reason="Invoice overdue (demo)")
        if recovered:
            services.case_remind(actor=actor, case=case)
            invoice_record_payment(actor=actor, invoice=invoice, amount=invoice.amount_due, route="retry")
        else:
            services.case_write_off(actor=actor, case=case, reason="Customer unreachable (demo)")
        DunningCase.objects.filter(pk=case.pk).update(opened_at=when, failure_date=when.date(),
                                                      closed_at=when + dt.timedelta(days=6))
        cases.append(case)
    ctx["dunning_cases"] = cases
