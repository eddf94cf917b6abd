"""Appended to billing_patterns (namespace ``billing``) by billing_ops/urls.py."""
from django.urls import path

from billing_ops.analytics import views

billing_patterns = [
    path("analytics/", views.AnalyticsView.as_view(), name="analytics"),
    path("analytics/export.csv", views.AnalyticsCsvView.as_view(), name="analytics-csv"),
]
