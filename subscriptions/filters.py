"""One FilterSet per list, shared by the screen and the API."""
import django_filters
from django import forms
from django.db.models import Q

from billing_ops import filters as common
from billing_ops.access import visible_tenants
from billing_ops.money import CURRENCY_CHOICES
from subscriptions.models import Coupon, Interval, Plan, Subscription, SubscriptionStatus


def _tenants(request):
    if request is None:
        from accounts.models import Tenant

        return Tenant.objects.none()
    return visible_tenants(request.user).order_by("name")


class SubscriptionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    plan = django_filters.ModelChoiceFilter(queryset=Plan.objects.order_by("name"))
    tenant = django_filters.ModelChoiceFilter(queryset=_tenants, widget=common.TenantSelect)
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    renews_from = common.date_from("current_period_end", "Renews from")
    renews_to = common.date_to("current_period_end", "Renews to")
    cancel_at_period_end = django_filters.BooleanFilter(
        label="Cancels at period end", widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]))

    class Meta:
        model = Subscription
        fields = ["q", "status", "plan", "tenant", "currency", "renews_from", "renews_to", "cancel_at_period_end"]

    def search(self, queryset, name, value):
        query = Q(tenant__name__icontains=value) | Q(plan__name__icontains=value) | Q(tenant__billing_email__icontains=value)
        if value.isdigit():
            query |= Q(pk=int(value))
        return queryset.filter(query)


class PlanFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    interval = django_filters.ChoiceFilter(choices=Interval.choices)
    active = django_filters.BooleanFilter(widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]))

    class Meta:
        model = Plan
        fields = ["q", "currency", "interval", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


class CouponFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    active = django_filters.BooleanFilter(widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]))

    class Meta:
        model = Coupon
        fields = ["q", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))
