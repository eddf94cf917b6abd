"""Make a big book of customers fast (COPY, not the ORM row by row).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/billing_ops_bench \\
      .venv/bin/python -m bench.generate --tenants 100000 --invoices 1000000 --reset

Creates tenants (NGN, a few currencies mixed in), one plan per currency, one active monthly
subscription per tenant and ``--invoices`` invoices spread over the tenants and 24 months in every
status. ``--due-subscriptions`` of the subscriptions get a period that started today and no
invoice (for the invoice-generation benchmark). Every subscription's current period has begun and
has no invoice yet, so all of them are due for generation.

Invoices get a creation time on their issue day (so lists sorted by creation have a real spread),
every paid invoice a succeeded card payment, and every overdue invoice an open dunning case
(``--no-payments`` / ``--no-cases`` skip those). ``make_cards`` gives tenants a reusable default
saved card (used by bench_autocharge).
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from decimal import Decimal

from bench.common import copy_rows, reserve_ids, setup_django

CURRENCIES = [("NGN", "NG", Decimal("25000.00")), ("GHS", "GH", Decimal("450.00")),
              ("ZAR", "ZA", Decimal("899.00")), ("KES", "KE", Decimal("3500.00")), ("USD", "US", Decimal("49.00"))]
STATUS_MIX = [("paid", 70), ("issued", 12), ("overdue", 8), ("draft", 4), ("void", 3), ("uncollectible", 3)]


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'django_%%' "
                    "AND tablename NOT LIKE 'auth_%%'")
        tables = [r[0] for r in cur.fetchall()]
        keep = {"accounts_staffprofile"}
        wipe = [t for t in tables if t not in keep and not t.startswith("guardian_")]
        if wipe:
            cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in wipe) + " RESTART IDENTITY CASCADE")


def ensure_catalogue() -> dict:
    from subscriptions.models import Plan, Price, Product

    product, _ = Product.objects.get_or_create(name="Bench platform")
    plans = {}
    for currency, _country, amount in CURRENCIES:
        price, _ = Price.objects.get_or_create(product=product, currency=currency, interval="monthly", pricing_model="flat",
                                               defaults={"unit_amount": amount, "tax_rate": Decimal("7.5"), "nickname": f"Bench {currency}"})
        plan, _ = Plan.objects.get_or_create(code=f"bench-{currency.lower()}", defaults={
            "name": f"Bench {currency}", "currency": currency, "interval": "monthly", "base_price": price})
        plans[currency] = plan
    return plans


def make_book(*, tenants: int, invoices: int, due_subscriptions: int, seed: int = 7, payments: bool = True,
              cases: bool = True) -> dict:
    from accounts.models import Tenant
    from invoicing.models import Invoice
    from subscriptions.models import Subscription, SubscriptionItem

    rng = random.Random(seed)
    today = dt.date.today()
    plans = ensure_catalogue()
    figures = {}

    started = time.perf_counter()
    tenant_ids = reserve_ids(Tenant, tenants)
    tenant_currency = {}

    def tenant_rows():
        for n, tid in enumerate(tenant_ids):
            currency, country, _ = CURRENCIES[0] if rng.random() < 0.8 else rng.choice(CURRENCIES)
            tenant_currency[tid] = currency
            yield {"id": tid, "name": f"Bench tenant {tid:07d}", "legal_name": f"Bench tenant {tid:07d} Ltd",
                   "billing_email": f"billing{tid}@bench.example", "country": country, "currency": currency,
                   "status": "active", "credit_balance": Decimal("0.00"), "payment_terms_days": 14}

    copy_rows(Tenant, tenant_rows())
    figures["tenants_s"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    sub_ids = reserve_ids(Subscription, tenants)
    due = set(rng.sample(list(sub_ids), min(due_subscriptions, tenants)))
    sub_of_tenant = {}

    def period_for(sid):
        if sid in due:
            return today - dt.timedelta(days=31), today  # the period ending today is due for renewal/invoice
        start = today - dt.timedelta(days=rng.randint(1, 27))
        return start, _add_month(start)

    periods = {}

    def sub_rows():
        for tid, sid in zip(tenant_ids, sub_ids, strict=True):
            plan = plans[tenant_currency[tid]]
            start, end = period_for(sid)
            periods[sid] = (start, end)
            sub_of_tenant[tid] = sid
            created = dt.datetime.combine(today - dt.timedelta(days=rng.randint(31, 1500)), dt.time(), tzinfo=dt.UTC)
            yield {"created_at": created, "updated_at": created,
                   "id": sid, "tenant_id": tid, "plan_id": plan.id, "status": "active", "currency": plan.currency,
                   "billing_anchor": start, "current_period_start": start, "current_period_end": end, "auto_renew": True}

    copy_rows(Subscription, sub_rows())
    item_ids = reserve_ids(SubscriptionItem, tenants)
    copy_rows(SubscriptionItem, ({"id": iid, "subscription_id": sid, "price_id": plans[tenant_currency[tid]].base_price_id,
                                  "kind": "base", "quantity": Decimal("1")}
                                 for iid, sid, tid in zip(item_ids, sub_ids, tenant_ids, strict=True)))
    figures["subscriptions_s"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    invoice_ids = reserve_ids(Invoice, invoices)
    statuses = [s for s, weight in STATUS_MIX for _ in range(weight)]
    tenant_list = list(tenant_ids)
    year_seq: dict[int, int] = {}
    paid_rows: list[tuple] = []  # (invoice id, tenant id, number, total, currency, paid at)
    overdue_rows: list[tuple] = []  # (invoice id, tenant id, due date, total, currency)
    utc = dt.UTC

    def invoice_rows():
        for iid in invoice_ids:
            tid = rng.choice(tenant_list)
            currency = tenant_currency[tid]
            status = rng.choice(statuses)
            issue = today - dt.timedelta(days=rng.randint(0, 730))
            net = plans[currency].base_price.unit_amount
            tax = (net * Decimal("0.075")).quantize(Decimal("0.01"))
            total = net + tax
            number = None
            if status != "draft":
                year_seq[issue.year] = year_seq.get(issue.year, 0) + 1
                number = f"INV-{issue.year}-B{year_seq[issue.year]:07d}"
            paid = total if status == "paid" else Decimal("0.00")
            due_amount = Decimal("0.00") if status in ("paid", "void", "draft") else total
            if status == "draft":
                due_amount = total
            created = dt.datetime.combine(issue, dt.time(), tzinfo=utc) + dt.timedelta(seconds=rng.randint(0, 86399))
            if status == "paid":
                paid_rows.append((iid, tid, number, total, currency, created + dt.timedelta(days=rng.randint(0, 14))))
            elif status == "overdue":
                overdue_rows.append((iid, tid, issue + dt.timedelta(days=14), total, currency))
            yield {"created_at": created, "updated_at": created,
                   "id": iid, "tenant_id": tid, "subscription_id": None, "number": number, "status": status,
                   "currency": currency, "period_start": issue, "period_end": _add_month(issue),
                   "issue_date": None if status == "draft" else issue,
                   "due_date": issue + dt.timedelta(days=14), "subtotal": net, "tax": tax, "total": total,
                   "amount_paid": paid, "amount_due": due_amount, "discount": Decimal("0.00"),
                   "credit_applied": Decimal("0.00"), "amount_credited": Decimal("0.00"), "amount_refunded": Decimal("0.00"),
                   "seller_details": {}, "buyer_details": {}}

    copy_rows(Invoice, invoice_rows())
    figures["invoices_s"] = round(time.perf_counter() - started, 2)

    if payments:
        started = time.perf_counter()
        figures["payments"] = make_payments(paid_rows)
        figures["payments_s"] = round(time.perf_counter() - started, 2)
    if cases:
        started = time.perf_counter()
        figures["dunning_cases"] = make_cases(overdue_rows, sub_of_tenant)
        figures["dunning_cases_s"] = round(time.perf_counter() - started, 2)

    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    figures.update(tenants=tenants, subscriptions=tenants, invoices=invoices, due_subscriptions=len(due))
    return figures


def make_payments(paid_rows) -> int:
    """One succeeded card payment (attempt 1) per paid invoice."""
    from payments.models import Payment

    ids = reserve_ids(Payment, len(paid_rows))

    def rows():
        for pid, (iid, tid, number, total, currency, paid_at) in zip(ids, paid_rows, strict=True):
            yield {"id": pid, "tenant_id": tid, "invoice_id": iid, "amount": total, "currency": currency, "method": "card",
                   "status": "succeeded", "reference": f"{number}-A1", "attempt": 1, "reason": "auto",
                   "card_brand": "visa", "card_last4": "4081", "card_exp_month": 12, "card_exp_year": 2030,
                   "gateway_response": "Approved", "raw_response": {}, "paid_at": paid_at,
                   "received_at": paid_at.date(), "created_at": paid_at, "updated_at": paid_at}

    return copy_rows(Payment, rows())


def make_cases(overdue_rows, sub_of_tenant) -> int:
    """One open dunning case per overdue invoice."""
    from dunning.models import DunningCase, DunningPolicy

    policy = DunningPolicy.objects.filter(is_default=True).first() or DunningPolicy.objects.create(name="Default")
    ids = reserve_ids(DunningCase, len(overdue_rows))
    utc = dt.UTC

    def rows():
        for cid, (iid, tid, due, total, currency) in zip(ids, overdue_rows, strict=True):
            opened = dt.datetime.combine(due, dt.time(9), tzinfo=utc)
            yield {"id": cid, "tenant_id": tid, "invoice_id": iid, "subscription_id": sub_of_tenant.get(tid),
                   "policy_id": policy.id, "status": "open", "step": 1, "retries_done": 0, "opened_by": "invoice_overdue",
                   "failure_date": due, "due_date": due, "currency": currency, "amount_at_risk": total, "amount_due": total,
                   "next_action": "remind",
                   "next_action_at": opened + dt.timedelta(days=3 + cid % 30), "opened_at": opened, "updated_at": opened}

    return copy_rows(DunningCase, rows())


def make_cards(tenant_ids, *, email_of=None) -> int:
    """A reusable default saved card for each tenant (authorization codes encrypted like the app does)."""
    from django.db import connection

    from payments.models import PaymentMethod

    field = PaymentMethod._meta.get_field("authorization_code")
    tenant_ids = list(tenant_ids)
    ids = reserve_ids(PaymentMethod, len(tenant_ids))

    def rows():
        for mid, tid in zip(ids, tenant_ids, strict=True):
            code = f"AUTH_bench{tid:08d}"
            yield {"id": mid, "tenant_id": tid, "authorization_code": field.get_db_prep_save(code, connection),
                   "authorization_fingerprint": PaymentMethod.fingerprint(code),
                   "email": email_of(tid) if email_of else f"billing{tid}@bench.example", "brand": "visa", "last4": "4081",
                   "exp_month": 12, "exp_year": 2030, "bank": "Bench Bank", "reusable": True, "is_default": True}

    return copy_rows(PaymentMethod, rows())


def _add_month(day: dt.date) -> dt.date:
    from subscriptions.periods import add_interval

    return add_interval(day, "monthly", 1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--due-subscriptions", type=int, default=0)
    parser.add_argument("--reset", action="store_true", help="Empty the domain tables first")
    parser.add_argument("--no-payments", action="store_true", help="No payments for the paid invoices")
    parser.add_argument("--no-cases", action="store_true", help="No dunning cases for the overdue invoices")
    args = parser.parse_args(argv)
    setup_django()
    if args.reset:
        reset()
    figures = make_book(tenants=args.tenants, invoices=args.invoices, due_subscriptions=args.due_subscriptions,
                        payments=not args.no_payments, cases=not args.no_cases)
    print(figures)


if __name__ == "__main__":
    main()
