"""Usage-based billing: meters, the usage events clients send, and daily/monthly usage snapshots.

Imported at the end of ``subscriptions/models.py`` so that the models belong to the
``subscriptions`` app. Business logic lives in ``subscriptions.usage``.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from billing_ops.money import CURRENCY_CHOICES
from billing_ops.tenant_panels import register_tenant_panel

USAGE_VALUE_MAX_DIGITS = 24
USAGE_VALUE_DECIMAL_PLACES = 6


class MeterAggregation(models.TextChoices):
    SUM = "sum", "Sum of values"
    MAX = "max", "Maximum value"
    LAST = "last", "Last value in the period"
    AVERAGE = "average", "Average value"
    COUNT_DISTINCT = "count_distinct", "Count of distinct property values"


class Meter(models.Model):
    """What is measured and how one period's events become a billable quantity.

    The quantity is priced by ``price`` (any pricing model of the catalogue). A meter's code is
    unique per currency, so that ``api_calls`` can be priced in NGN and in USD by two meters; an
    event names the code and the subscription's currency picks the meter.
    """

    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=64, help_text="Plural unit shown on invoices, e.g. 'API calls'")
    aggregation = models.CharField(max_length=16, choices=MeterAggregation.choices, default=MeterAggregation.SUM)
    property = models.CharField(
        max_length=64, blank=True, help_text="Event property counted by COUNT_DISTINCT (e.g. user_id)"
    )
    price = models.ForeignKey("subscriptions.Price", on_delete=models.PROTECT, related_name="meters")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, help_text="Copied from the price")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code", "currency", "id"]
        constraints = [models.UniqueConstraint(fields=["code", "currency"], name="one_meter_code_per_currency")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code}, {self.currency})"


class UsageEvent(models.Model):
    """One measurement sent by a client. The client's idempotency key is unique per tenant:
    the same key sent twice (a retry) is stored once."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="usage_events")
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.PROTECT, related_name="usage_events")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="events")
    value = models.DecimalField(max_digits=USAGE_VALUE_MAX_DIGITS, decimal_places=USAGE_VALUE_DECIMAL_PLACES, default=1)
    properties = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField()
    idempotency_key = models.CharField(max_length=255)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="usage_event_idempotency_key"),
        ]
        indexes = [models.Index(fields=["subscription", "meter", "timestamp"], name="usage_sub_meter_ts")]

    def __str__(self) -> str:
        return f"{self.meter_id}={self.value} @ {self.timestamp:%Y-%m-%d %H:%M}"


class UsageDailySnapshot(models.Model):
    """A meter's aggregate for one subscription over one UTC day (written by the daily task)."""

    date = models.DateField()
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="+")
    value = models.DecimalField(max_digits=USAGE_VALUE_MAX_DIGITS, decimal_places=USAGE_VALUE_DECIMAL_PLACES)
    event_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "subscription_id", "meter_id"]
        constraints = [
            models.UniqueConstraint(fields=["date", "subscription", "meter"], name="one_usage_daily_snapshot"),
        ]


class UsageMonthlySnapshot(models.Model):
    """A meter's aggregate for one subscription over one calendar month (``month`` is its 1st)."""

    month = models.DateField()
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="+")
    value = models.DecimalField(max_digits=USAGE_VALUE_MAX_DIGITS, decimal_places=USAGE_VALUE_DECIMAL_PLACES)
    event_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "subscription_id", "meter_id"]
        constraints = [
            models.UniqueConstraint(fields=["month", "subscription", "meter"], name="one_usage_monthly_snapshot"),
        ]


def _usage_tenant_panel(tenant, user):
    from subscriptions.usage_views import usage_tenant_panel

    return usage_tenant_panel(tenant, user)


# Registered here (imported with the app's models) so that no other app's view or config changes.
register_tenant_panel(_usage_tenant_panel)
