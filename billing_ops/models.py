"""Cross-app records: the domain event log (the outbox that subscribers and deliveries read)."""
from __future__ import annotations

import uuid

from django.db import models


class DomainEvent(models.Model):
    """A fact that happened (``invoice.paid``), written in the transaction of the change itself."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=80, db_index=True)
    payload = models.JSONField(default=dict)
    actor_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.id}"


class Capability(models.Model):
    """No table: carries the `billing.*` permissions that roles grant (see billing_ops.access)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("read", "See every billing screen and GET API"),
            ("write", "Create, edit, send, record, remind, suspend, run"),
            ("approve", "Approve credit notes and refunds"),
            ("manage_subscription", "Manage a tenant's subscription"),
            ("configure_payments", "Configure Paystack keys and mode"),
            ("view_audit", "See the audit log"),
            ("all_tenants", "See every tenant (not only assigned ones)"),
            ("ingest_usage", "Send usage events (machine clients)"),
        ]


# --- Revenue analytics snapshots (issue 8; see billing_ops/analytics and docs/analytics.md) -----
from billing_ops.fields import MoneyField  # noqa: E402
from billing_ops.money import CURRENCY_CHOICES  # noqa: E402


class SubscriptionMrrSnapshot(models.Model):
    """One subscription's MRR at the end of one UTC day: the raw material of every movement figure."""

    date = models.DateField()
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="+")
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey("subscriptions.Plan", null=True, on_delete=models.SET_NULL, related_name="+")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    mrr = MoneyField()
    first_paid_on = models.DateField(null=True, help_text="First day the subscription paid (end of trial)")

    class Meta:
        ordering = ["-date", "subscription_id"]
        constraints = [models.UniqueConstraint(fields=["date", "subscription"], name="one_mrr_snapshot_per_day")]
        indexes = [models.Index(fields=["date", "currency"], name="mrr_snapshot_date_currency")]


class RevenueDailySnapshot(models.Model):
    """MRR and its day-over-day movement per plan and currency at the end of one UTC day."""

    date = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    plan = models.ForeignKey("subscriptions.Plan", null=True, on_delete=models.SET_NULL, related_name="+")
    plan_name = models.CharField(max_length=200, blank=True)
    mrr = MoneyField()
    active_subscriptions = models.PositiveIntegerField(default=0)
    new_mrr = MoneyField()
    expansion_mrr = MoneyField()
    contraction_mrr = MoneyField()
    churned_mrr = MoneyField()
    reactivation_mrr = MoneyField()
    new_count = models.PositiveIntegerField(default=0)
    churned_count = models.PositiveIntegerField(default=0)
    reactivated_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "currency", "plan_name"]
        constraints = [models.UniqueConstraint(fields=["date", "currency", "plan"], name="one_revenue_daily_snapshot")]


class RevenueMonthlySnapshot(models.Model):
    """A closed month's consolidated metrics in one currency (``month`` is its 1st)."""

    month = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    starting_mrr = MoneyField()
    mrr = MoneyField()
    new_mrr = MoneyField()
    expansion_mrr = MoneyField()
    contraction_mrr = MoneyField()
    churned_mrr = MoneyField()
    reactivation_mrr = MoneyField()
    net_new_mrr = MoneyField(help_text="May be negative")
    active_subscriptions = models.PositiveIntegerField(default=0)
    starting_customers = models.PositiveIntegerField(default=0)
    customers = models.PositiveIntegerField(default=0)
    churned_customers = models.PositiveIntegerField(default=0)
    arpu = MoneyField()
    logo_churn_rate = models.DecimalField(max_digits=9, decimal_places=6, null=True)
    revenue_churn_rate = models.DecimalField(max_digits=9, decimal_places=6, null=True)
    ltv = MoneyField(null=True, default=None)
    invoiced = MoneyField()
    collected = MoneyField()
    failed_payments = models.PositiveIntegerField(default=0)
    failed_amount = MoneyField()
    recovered_payments = models.PositiveIntegerField(default=0)
    recovered_amount = MoneyField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "currency"]
        constraints = [models.UniqueConstraint(fields=["month", "currency"], name="one_revenue_monthly_snapshot")]
