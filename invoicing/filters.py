"""One FilterSet per list, shared by the screen, the API and the exports."""
from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from billing_ops import filters as common
from billing_ops.money import CURRENCY_CHOICES
from invoicing.models import (
    CreditNote,
    CreditNoteStatus,
    CreditResolution,
    Invoice,
    InvoiceStatus,
)


def _visible_tenants(request):
    from billing_ops.access import visible_tenants

    if request is None:
        from accounts.models import Tenant

        return Tenant.objects.none()
    return visible_tenants(request.user).order_by("name")


class InvoiceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    tenant = django_filters.ModelChoiceFilter(queryset=_visible_tenants, label="Tenant", widget=common.TenantSelect)
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    issued_from = common.date_from("issue_date", "Issued from")
    issued_to = common.date_to("issue_date", "Issued to")
    due_from = common.date_from("due_date", "Due from")
    due_to = common.date_to("due_date", "Due to")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Overdue", widget=forms.Select(
        choices=[("", "Any"), ("true", "Overdue only"), ("false", "Not overdue")]))
    amount_min = django_filters.NumberFilter(field_name="total", lookup_expr="gte", label="Total ≥")
    amount_max = django_filters.NumberFilter(field_name="total", lookup_expr="lte", label="Total ≤")

    class Meta:
        model = Invoice
        fields = ["q", "status", "tenant", "currency", "issued_from", "issued_to", "due_from", "due_to", "overdue",
                  "amount_min", "amount_max"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(number__icontains=value) | Q(tenant__name__icontains=value) | Q(tenant__legal_name__icontains=value))

    def filter_overdue(self, queryset, name, value):
        """Overdue means past due and unpaid, whether or not the nightly task has marked it yet."""
        late = Q(status=InvoiceStatus.OVERDUE) | Q(status=InvoiceStatus.ISSUED, due_date__lt=timezone.localdate())
        if value is True:
            return queryset.filter(late)
        if value is False:
            return queryset.exclude(late)
        return queryset


class CreditNoteFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=CreditNoteStatus.choices)
    resolution = django_filters.ChoiceFilter(choices=CreditResolution.choices)
    tenant = django_filters.ModelChoiceFilter(queryset=_visible_tenants, label="Tenant", widget=common.TenantSelect)
    invoice = django_filters.NumberFilter(field_name="invoice_id", label="Invoice id")
    created_from = common.date_from("created_at__date", "Created from")
    created_to = common.date_to("created_at__date", "Created to")

    class Meta:
        model = CreditNote
        fields = ["q", "status", "resolution", "tenant", "invoice", "created_from", "created_to"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(number__icontains=value) | Q(invoice__number__icontains=value) | Q(tenant__name__icontains=value)
                               | Q(reason__icontains=value))
