"""Dunning reads, scoped to the tenants the user may see and prefetched for their screen."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, DateTimeField, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from billing_ops.access import scope_to_user
from dunning.models import ACTIVE_CASE_STATUSES, DunningCase, Notification, OutboxEvent

FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def case_list(*, user):
    queryset = DunningCase.objects.select_related("tenant", "invoice", "policy").annotate(
        next_at=Coalesce("next_action_at", Value(FAR_FUTURE, output_field=DateTimeField())),
    )
    return scope_to_user(queryset, user)


def active_case_list(*, user):
    return case_list(user=user).filter(status__in=ACTIVE_CASE_STATUSES)


def case_get(*, user, pk) -> DunningCase:
    return get_object_or_404(case_list(user=user), pk=pk)


def at_risk_totals(queryset) -> list[dict]:
    """Amount due of active cases per currency (no cross-currency sums), one query."""
    rows = (queryset.filter(status__in=ACTIVE_CASE_STATUSES).order_by().values("currency")
            .annotate(total=Sum("amount_due"), cases=Count("*")).order_by("currency"))
    from billing_ops.money import quantize

    # SQLite's SUM drops trailing zeros; quantize to the currency's places once here.
    return [{**row, "total": quantize(row["total"] or 0, row["currency"])} for row in rows]


def case_records(*, case):
    return list(case.records.all())


def case_notifications(*, case):
    return list(Notification.objects.filter(case=case).order_by("-created_at", "-id")[:50])


def tenant_notifications(*, tenant, limit: int = 30):
    return list(Notification.objects.filter(tenant=tenant).select_related("case").order_by("-created_at", "-id")[:limit])


def tenant_outbox(*, tenant, limit: int = 30):
    return list(OutboxEvent.objects.filter(tenant=tenant).order_by("-created_at")[:limit])


def outbox_get(*, user, pk) -> OutboxEvent:
    return get_object_or_404(scope_to_user(OutboxEvent.objects.select_related("tenant"), user), pk=pk)
