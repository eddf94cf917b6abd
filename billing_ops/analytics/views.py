"""Screens: /billing/analytics/ (per currency, last 12 months, SVG charts) and its CSV downloads."""
from __future__ import annotations

import csv

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.generic import TemplateView, View

from billing_ops.access import READ, CapabilityRequiredMixin
from billing_ops.analytics import charts
from billing_ops.analytics.metrics import monthly_metrics, mrr_by_plan
from billing_ops.money import CURRENCY_EXPONENTS, format_amount

MONTHLY_COLUMNS = [
    ("month", "Month"), ("starting_mrr", "Starting MRR"), ("new_mrr", "New"), ("expansion_mrr", "Expansion"),
    ("reactivation_mrr", "Reactivation"), ("contraction_mrr", "Contraction"), ("churned_mrr", "Churned"),
    ("net_new_mrr", "Net new MRR"), ("mrr", "MRR"), ("active_subscriptions", "Subscriptions"),
    ("customers", "Customers"), ("churned_customers", "Churned customers"), ("logo_churn_rate", "Logo churn"),
    ("revenue_churn_rate", "Revenue churn"), ("arpu", "ARPU"), ("ltv", "LTV"), ("invoiced", "Invoiced"),
    ("collected", "Collected"), ("failed_payments", "Failed payments"), ("failed_amount", "Failed amount"),
    ("recovered_payments", "Recovered payments"), ("recovered_amount", "Recovered amount"),
]
RATE_COLUMNS = {"logo_churn_rate", "revenue_churn_rate"}
COUNT_COLUMNS = {"active_subscriptions", "customers", "churned_customers", "failed_payments", "recovered_payments"}
MONTHS = 12


def _cell(metrics, name: str, currency: str, *, for_csv: bool):
    value = getattr(metrics, name)
    if name == "month":
        return value.strftime("%Y-%m") + ("" if for_csv or not metrics.partial else " (to date)")
    if value is None:
        return "" if for_csv else "—"
    if name in RATE_COLUMNS:
        return f"{value:f}" if for_csv else f"{value * 100:.1f}%"
    if name in COUNT_COLUMNS:
        return value if for_csv else f"{value:,}"
    return format_amount(value, currency) if for_csv else f"{value:,.2f}"


class AnalyticsContextMixin:
    def analytics(self):
        data = monthly_metrics(months=MONTHS, today=timezone.now().date())
        plans = mrr_by_plan()
        currencies = sorted(set(data) | set(plans))
        requested = self.request.GET.get("currency", "")
        if requested and requested not in CURRENCY_EXPONENTS:
            raise Http404("Unknown currency")
        currency = requested or (currencies[0] if currencies else "")
        return data, plans, currencies, currency


class AnalyticsView(AnalyticsContextMixin, CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ}
    template_name = "billing/analytics.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        data, plans, currencies, currency = self.analytics()
        months = data.get(currency, [])
        labels = [m.month.strftime("%b %y") for m in months]
        rows = [[_cell(m, name, currency, for_csv=False) for name, _ in MONTHLY_COLUMNS] for m in months]
        latest = months[-1] if months else None
        context.update(
            currency=currency, currencies=currencies, columns=[label for _, label in MONTHLY_COLUMNS], rows=rows,
            latest=latest, plans=plans.get(currency, []),
            mrr_chart=charts.grouped_bars(labels=labels, series={"mrr": [m.mrr for m in months]}, currency=currency,
                                          title=f"MRR per month ({currency})") if months else "",
            movement_chart=charts.diverging_stacked_bars(
                labels=labels,
                up={"new": [m.new_mrr for m in months], "expansion": [m.expansion_mrr for m in months],
                    "reactivation": [m.reactivation_mrr for m in months]},
                down={"contraction": [m.contraction_mrr for m in months], "churned": [m.churned_mrr for m in months]},
                currency=currency, title=f"Net new MRR movement ({currency})") if months else "",
            cash_chart=charts.grouped_bars(
                labels=labels, series={"invoiced": [m.invoiced for m in months], "collected": [m.collected for m in months]},
                currency=currency, title=f"Invoiced vs collected ({currency})") if months else "",
            latest_logo_churn=_cell(latest, "logo_churn_rate", currency, for_csv=False) if latest else "—",
            latest_revenue_churn=_cell(latest, "revenue_churn_rate", currency, for_csv=False) if latest else "—",
        )
        return context


class AnalyticsCsvView(AnalyticsContextMixin, CapabilityRequiredMixin, View):
    """``?table=monthly`` (default) or ``plans``; ``?currency=XXX`` (default: the first with data)."""

    capabilities = {"GET": READ}

    def get(self, request):
        data, plans, _, currency = self.analytics()
        table = request.GET.get("table", "monthly")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="analytics-{table}-{currency or "none"}.csv"'
        writer = csv.writer(response)
        if table == "plans":
            writer.writerow(["currency", "plan", "subscriptions", "mrr"])
            for entry in plans.get(currency, []):
                writer.writerow([currency, entry["plan"], entry["subscriptions"], format_amount(entry["mrr"], currency)])
        elif table == "monthly":
            writer.writerow(["currency", *[name for name, _ in MONTHLY_COLUMNS], "partial"])
            for m in data.get(currency, []):
                writer.writerow([currency, *[_cell(m, name, currency, for_csv=True) for name, _ in MONTHLY_COLUMNS], str(m.partial).lower()])
        else:
            raise Http404("Unknown table")
        return response
