"""One FilterSet per list, shared by the screen and the API."""
import django_filters
from django.db.models import Q

from billing_ops import filters as common
from billing_ops.money import CURRENCY_CHOICES
from payments.models import Payment, PaymentMethodKind, PaymentStatus, WebhookEvent


class PaymentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=PaymentStatus.choices)
    method = django_filters.ChoiceFilter(choices=PaymentMethodKind.choices)
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    tenant = django_filters.NumberFilter(field_name="tenant_id", label="Tenant id")
    invoice = django_filters.NumberFilter(field_name="invoice_id", label="Invoice id")
    date_from = common.date_from("created_at__date")
    date_to = common.date_to("created_at__date")

    class Meta:
        model = Payment
        fields = ["q", "status", "method", "currency", "tenant", "invoice", "date_from", "date_to"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(reference__icontains=value) | Q(external_reference__icontains=value) | Q(invoice__number__icontains=value)
            | Q(tenant__name__icontains=value) | Q(failure_reason__icontains=value)
        )


class WebhookEventFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    event = django_filters.CharFilter(lookup_expr="istartswith")
    date_from = common.date_from("received_at__date")
    date_to = common.date_to("received_at__date")

    class Meta:
        model = WebhookEvent
        fields = ["q", "event", "date_from", "date_to"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(reference__icontains=value) | Q(review_reason__icontains=value))
