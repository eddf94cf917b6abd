"""EXPLAIN (ANALYZE, BUFFERS) of the hot queries, built from the app's own querysets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench .venv/bin/python -m bench.explain_plans

Prints (and writes to bench/results/explain_plans.md) the plans of: the invoice list's first page,
a filtered page and a deep page (cursor of the 2,500th row), the subscription and dunning queue
first pages, the dunning queue's at-risk totals, the invoice-generation claim query and the auto-charge
claim queries (the window of open invoices, then the candidate conditions on that window).
"""
from __future__ import annotations

from bench.common import RESULTS_DIR, bench_admin, explain, setup_django


def _sql(queryset) -> tuple[str, list]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def queries() -> list[tuple[str, object]]:
    from django.db.models import Count, Sum
    from django.test import RequestFactory
    from django.utils import timezone

    from billing_ops.pagination import _seek
    from dunning import selectors as dunning_selectors
    from invoicing import selectors as invoice_selectors
    from invoicing.filters import InvoiceFilter
    from invoicing.generation import due_subscriptions
    from invoicing.models import Invoice
    from invoicing.views import sortable_invoices
    from payments.models import WebhookEvent, WebhookStatus
    from payments.services.charging import CHARGEABLE_INVOICE_STATUSES, CLAIM_WINDOW, auto_charge_candidates
    from payments.services.webhooks import DRAIN_BATCH
    from subscriptions import selectors as subscription_selectors

    user = bench_admin()
    page = 51
    invoices = sortable_invoices(invoice_selectors.invoice_list(user=user))
    request = RequestFactory().get("/billing/invoices/", {"status": "overdue", "currency": "NGN"})
    request.user = user
    filtered = InvoiceFilter(request.GET, queryset=invoices, request=request).qs
    deep_row = invoices.order_by("-created_at", "-pk").values_list("created_at", "pk")[2499]
    deep = invoices.filter(_seek(["created_at", "pk"], list(deep_row), True)).order_by("-created_at", "-pk")
    window_query = (Invoice.objects.filter(pk__gt=0, status__in=CHARGEABLE_INVOICE_STATUSES, amount_due__gt=0, number__isnull=False)
                    .order_by("pk").values_list("pk", flat=True)[:CLAIM_WINDOW])
    window = list(window_query)
    return [
        ("Invoice list, first page (sort -created_at, 50 + 1 rows)", invoices.order_by("-created_at", "-pk")[:page]),
        ("Invoice list, filtered page (status=overdue, currency=NGN)", filtered.order_by("-created_at", "-pk")[:page]),
        ("Invoice list, deep page (keyset cursor at row 2,500)", deep[:page]),
        ("Subscription list, first page", subscription_selectors.subscription_list(user=user).order_by("-created_at", "-pk")[:page]),
        ("Dunning queue, first page (sort next action)", dunning_selectors.active_case_list(user=user).order_by("next_at", "pk")[:page]),
        ("Dunning queue, at-risk totals per currency", dunning_selectors.active_case_list(user=user).filter(
            status__in=("open", "suspended")).order_by().values("currency").annotate(
            total=Sum("amount_due"), cases=Count("*")).order_by("currency")),
        ("Invoice generation claim query (next batch of 500 due subscriptions)",
         due_subscriptions(today=timezone.localdate()).filter(pk__gt=0).values_list("pk", flat=True)[:500]),
        (f"Auto-charge claim, step 1: the next window of {CLAIM_WINDOW} open invoices in id order", window_query),
        ("Auto-charge claim, step 2: the candidate conditions on that window (locked, SKIP LOCKED)",
         auto_charge_candidates().filter(pk__in=window).select_for_update(skip_locked=True, of=("self",))
         .only("pk", "tenant_id", "number", "amount_due", "currency", "status")[:200]),
        (f"Webhook drain: the next {DRAIN_BATCH} received events in id order",
         WebhookEvent.objects.filter(status=WebhookStatus.RECEIVED, pk__gt=0).order_by("pk").values_list("pk", flat=True)[:DRAIN_BATCH]),
    ]


def main() -> None:
    setup_django()
    from django.db import transaction

    out = []
    with transaction.atomic():  # the claim query locks (FOR UPDATE SKIP LOCKED), as it does in the run
        plans = [(title, explain(*_sql(queryset))) for title, queryset in queries()]
    for title, plan in plans:
        block = f"### {title}\n\n```\n{plan}\n```\n"
        print(block, flush=True)
        out.append(block)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "explain_plans.md").write_text("\n".join(out))


if __name__ == "__main__":
    main()
