"""One FilterSet per list, shared by the screen and the API."""
import django_filters
from django.db.models import Q

from accounts.models import AuditEntry, Tenant, TenantStatus
from billing_ops import filters as common
from billing_ops.money import CURRENCY_CHOICES


class TenantFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=TenantStatus.choices)
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    country = django_filters.CharFilter(lookup_expr="iexact")
    created_from = common.date_from("created_at__date", "Created from")
    created_to = common.date_to("created_at__date", "Created to")

    class Meta:
        model = Tenant
        fields = ["q", "status", "currency", "country", "created_from", "created_to"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(legal_name__icontains=value) | Q(billing_email__icontains=value) | Q(tax_id__iexact=value)
        )


class AuditEntryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    action = django_filters.CharFilter(lookup_expr="istartswith")
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    tenant = django_filters.NumberFilter(field_name="tenant_id")
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="iexact")
    date_from = common.date_from("created_at__date")
    date_to = common.date_to("created_at__date")

    class Meta:
        model = AuditEntry
        fields = ["q", "action", "object_type", "object_id", "tenant", "actor", "date_from", "date_to"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(reason__icontains=value) | Q(action__icontains=value) | Q(actor_label__icontains=value))
