"""Tenants (the operator's customers), the append-only audit trail and the account-credit ledger."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from billing_ops.fields import EncryptedTextField, MoneyField
from billing_ops.money import CURRENCY_CHOICES


class TenantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CLOSED = "closed", "Closed"


TENANT_TRANSITIONS = {
    TenantStatus.ACTIVE: {TenantStatus.SUSPENDED, TenantStatus.CLOSED},
    TenantStatus.SUSPENDED: {TenantStatus.ACTIVE, TenantStatus.CLOSED},
    TenantStatus.CLOSED: set(),
}


class TaxIdType(models.TextChoices):
    NONE = "", "—"
    NG_TIN = "ng_tin", "Nigeria TIN"
    GH_TIN = "gh_tin", "Ghana TIN"
    ZA_VAT = "za_vat", "South Africa VAT"
    KE_PIN = "ke_pin", "Kenya KRA PIN"
    EU_VAT = "eu_vat", "EU VAT"
    US_EIN = "us_ein", "US EIN"
    OTHER = "other", "Other"


class Tenant(models.Model):
    """A customer of the operator: who is billed, in which currency, and whether they may use the service."""

    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    tax_id = models.CharField(max_length=64, blank=True)
    tax_id_type = models.CharField(max_length=16, choices=TaxIdType.choices, blank=True)
    billing_email = models.EmailField()
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. NG")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=16, choices=TenantStatus.choices, default=TenantStatus.ACTIVE)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=255, blank=True)
    credit_balance = MoneyField(help_text="Account credit; changed only through the credit ledger.")
    payment_terms_days = models.PositiveSmallIntegerField(default=14)
    deployment_webhook_url = models.URLField(blank=True)
    deployment_webhook_secret = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        permissions = [("onboard_tenant", "Is assigned to onboard this tenant")]
        indexes = [
            models.Index(fields=["status", "name"]),
            models.Index(fields=["created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(credit_balance__gte=0), name="tenant_credit_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class CreditLedgerEntry(models.Model):
    """Append-only movements of a tenant's account credit; the balance is their running sum."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="credit_entries")
    amount = MoneyField(help_text="Positive adds credit, negative draws it.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    balance_after = MoneyField()
    reason = models.CharField(max_length=255)
    source_type = models.CharField(max_length=64, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.amount} {self.currency}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} is append-only")

    def delete(self):
        raise TypeError(f"{self.model.__name__} is append-only")


class AuditEntry(models.Model):
    """One recorded change: who, what, before/after, why and from where. Never updated or deleted."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    tenant_id = models.BigIntegerField(null=True, blank=True, help_text="The tenant concerned, for filtering")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["object_type", "object_id", "-created_at"]),
            models.Index(fields=["-created_at"]),
            models.Index(fields=["action", "-created_at"]),
            models.Index(fields=["tenant_id", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("AuditEntry is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("AuditEntry is append-only")
