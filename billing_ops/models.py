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
        ]
