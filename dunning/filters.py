"""The dunning queue's FilterSet, shared by the screen and GET /api/dunning/."""
import django_filters
from django.db.models import Q

from billing_ops import filters as common
from billing_ops.money import CURRENCY_CHOICES
from dunning.models import ACTIVE_CASE_STATUSES, CaseStatus, DunningCase

STATUS_CHOICES = [("active", "Open or suspended"), *CaseStatus.choices, ("all", "All")]  # "" = screen default


class DunningCaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    # The queue screen shows open and suspended cases unless asked; the API lists every case.
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", empty_label="—")
    tenant = django_filters.NumberFilter(field_name="tenant_id")
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    step = django_filters.NumberFilter()
    next_action = django_filters.ChoiceFilter(choices=[("retry", "Retry"), ("reminder", "Reminder"), ("suspension", "Suspension")])
    opened_from = common.date_from("opened_at__date", "Opened from")
    opened_to = common.date_to("opened_at__date", "Opened to")

    class Meta:
        model = DunningCase
        fields = ["q", "status", "tenant", "currency", "step", "next_action", "opened_from", "opened_to"]

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(status__in=ACTIVE_CASE_STATUSES)
        if value == "all":
            return queryset
        return queryset.filter(status=value)

    def search(self, queryset, name, value):
        return queryset.filter(Q(tenant__name__icontains=value) | Q(invoice__number__icontains=value))
