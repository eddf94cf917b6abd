"""URLs of usage billing: the API (under /api/, names ``api:…``) and the meter screens (``usage:…``).

Included by billing_ops/urls.py with one additive block.
"""
from django.urls import path

from subscriptions import api_usage, usage_views

api_patterns = [
    path("usage-events", api_usage.UsageEventsApi.as_view(), name="usage-events"),
    path("meters/", api_usage.MeterListCreateApi.as_view(), name="meter-list"),
    path("meters/<int:pk>/", api_usage.MeterDetailApi.as_view(), name="meter-detail"),
    path("subscriptions/<int:pk>/usage", api_usage.SubscriptionUsageApi.as_view(), name="subscription-usage"),
]

screen_patterns = [
    path("billing/meters/", usage_views.MeterListView.as_view(), name="meter-list"),
    path("billing/meter-new/", usage_views.MeterCreateView.as_view(), name="meter-create"),
    path("billing/meters/<int:pk>/edit/", usage_views.MeterEditView.as_view(), name="meter-edit"),
]
