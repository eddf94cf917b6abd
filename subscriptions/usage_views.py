"""Screens: meters (list, new, edit) and the usage summary panel on the tenant page."""
from __future__ import annotations

import django_filters
from django import forms
from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect
from django.views.generic import FormView

from billing_ops.access import READ, WRITE, CapabilityRequiredMixin, has_capability
from billing_ops.errors import ApplicationError
from billing_ops.forms import apply_application_error
from billing_ops.money import CURRENCY_CHOICES
from billing_ops.views import ListScreen
from subscriptions import usage
from subscriptions.models import Price
from subscriptions.usage_models import Meter, MeterAggregation


class MeterFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    aggregation = django_filters.ChoiceFilter(choices=MeterAggregation.choices)
    active = django_filters.BooleanFilter(widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]))

    class Meta:
        model = Meter
        fields = ["q", "currency", "aggregation", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))


class MeterForm(forms.Form):
    code = forms.SlugField(max_length=64)
    name = forms.CharField(max_length=200)
    unit = forms.CharField(max_length=64)
    aggregation = forms.ChoiceField(choices=MeterAggregation.choices)
    property = forms.CharField(max_length=64, required=False, help_text="Counted by COUNT_DISTINCT, e.g. user_id")
    price = forms.ModelChoiceField(queryset=Price.objects.select_related("product").filter(active=True))
    active = forms.BooleanField(required=False, initial=True)


class MeterListView(ListScreen):
    template_name = "subscriptions/meter_list.html"
    filterset_class = MeterFilter
    sort_options = {"code": ("Code", "code"), "name": ("Name", "name"), "created": ("Created", "created_at")}
    default_sort = "code"

    def get_queryset(self):
        return usage.meter_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_write"] = has_capability(self.request.user, WRITE)
        return context


class MeterCreateView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "subscriptions/meter_form.html"
    form_class = MeterForm

    def form_valid(self, form):
        try:
            meter = usage.meter_create(actor=self.request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Meter {meter.code} created.")
        return redirect("usage:meter-list")


class MeterEditView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "subscriptions/meter_form.html"
    form_class = MeterForm

    def get_meter(self):
        if not hasattr(self, "_meter"):
            self._meter = usage.meter_get(user=self.request.user, pk=self.kwargs["pk"])
        return self._meter

    def get_initial(self):
        meter = self.get_meter()
        return {f: getattr(meter, f) for f in ("code", "name", "unit", "aggregation", "property", "price", "active")}

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.fields["code"].disabled = True
        return form

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["meter"] = self.get_meter()
        return context

    def form_valid(self, form):
        changes = {k: v for k, v in form.cleaned_data.items() if k != "code"}
        try:
            usage.meter_update(actor=self.request.user, meter=self.get_meter(), **changes)
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, "Meter saved.")
        return redirect("usage:meter-list")


def usage_tenant_panel(tenant, user):
    """Tenant page: usage so far this period for each live subscription with active meters."""
    from subscriptions.models import Subscription

    if not has_capability(user, READ):
        return None
    if not Meter.objects.filter(active=True, currency=tenant.currency).exists():
        return None
    subscriptions = Subscription.objects.filter(tenant=tenant, status__in=usage.USAGE_STATUSES).select_related("plan")
    summaries = [usage.usage_summary(subscription=s) for s in subscriptions]
    if not summaries:
        return None
    return {"title": "Usage this period", "template": "subscriptions/_usage_panel.html", "summaries": summaries}
