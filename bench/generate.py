"""Make a big book of customers fast (COPY, not the ORM row by row).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/billing_ops_bench \\
      .venv/bin/python -m bench.generate --tenants 100000 --invoices 1000000 --reset

Creates tenants (NGN, a few currencies mixed in), one plan per currency, one active monthly
subscription per tenant and ``--invoices`` invoices spread over the tenants and 24 months in every
status. ``--due-subscriptions`` of the subscriptions get a period that started today and no
invoice (for the invoice-generation benchmark).
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


def make_book(*, tenants: int, invoices: int, due_subscriptions: int, seed: int = 7) -> dict:
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
            yield {"id": sid, "tenant_id": tid, "plan_id": plan.id, "status": "active", "currency": plan.currency,
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
            yield {"id": iid, "tenant_id": tid, "subscription_id": None, "number": number, "status": status,
                   "currency": currency, "period_start": issue, "period_end": _add_month(issue),
                   "issue_date": None if status == "draft" else issue,
                   "due_date": issue + dt.timedelta(days=14), "subtotal": net, "tax": tax, "total": total,
                   "amount_paid": paid, "amount_due": due_amount, "discount": Decimal("0.00"),
                   "credit_applied": Decimal("0.00"), "amount_credited": Decimal("0.00"), "amount_refunded": Decimal("0.00"),
                   "seller_details": {}, "buyer_details": {}}

    copy_rows(Invoice, invoice_rows())
    figures["invoices_s"] = round(time.perf_counter() - started, 2)

    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    figures.update(tenants=tenants, subscriptions=tenants, invoices=invoices, due_subscriptions=len(due))
    return figures


def _add_month(day: dt.date) -> dt.date:
    from subscriptions.periods import add_interval

    return add_interval(day, "monthly", 1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--due-subscriptions", type=int, default=0)
    parser.add_argument("--reset", action="store_true", help="Empty the domain tables first")
    args = parser.parse_args(argv)
    setup_django()
    if args.reset:
        reset()
    figures = make_book(tenants=args.tenants, invoices=args.invoices, due_subscriptions=args.due_subscriptions)
    print(figures)


if __name__ == "__main__":
    main()
