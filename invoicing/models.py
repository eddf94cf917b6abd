"""Invoices, their lines, credit notes and gapless document numbering."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing_ops.fields import MoneyField
from billing_ops.money import CURRENCY_CHOICES


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    OVERDUE = "overdue", "Overdue"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


I = InvoiceStatus
# CONTRACT §5. `paid` may go back to `issued`/`overdue` only through a refund or reversal service.
INVOICE_TRANSITIONS: dict[str, set[str]] = {
    I.DRAFT: {I.ISSUED, I.VOID},
    I.ISSUED: {I.PAID, I.OVERDUE, I.VOID, I.UNCOLLECTIBLE},
    I.OVERDUE: {I.PAID, I.VOID, I.UNCOLLECTIBLE},
    I.PAID: set(),
    I.VOID: set(),
    I.UNCOLLECTIBLE: {I.PAID},
}
OPEN_INVOICE_STATUSES = (I.ISSUED, I.OVERDUE)


class DocumentSequence(models.Model):
    """Per prefix and year counter; incremented under a row lock so numbers are gapless."""

    prefix = models.CharField(max_length=8)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="one_sequence_per_prefix_year")]


class Invoice(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey("subscriptions.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    subtotal = MoneyField()
    discount = MoneyField()
    discount_description = models.CharField(max_length=255, blank=True)
    credit_applied = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    amount_paid = MoneyField()
    amount_credited = MoneyField()
    amount_refunded = MoneyField()
    amount_due = MoneyField()
    seller_details = models.JSONField(default=dict, blank=True, help_text="Snapshotted at issue")
    buyer_details = models.JSONField(default=dict, blank=True, help_text="Snapshotted at issue")
    memo = models.TextField(blank=True)
    status_reason = models.CharField(max_length=255, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Invoice generation relies on this for idempotency: one invoice per subscription period.
            models.UniqueConstraint(
                fields=["subscription", "period_start"], condition=Q(subscription__isnull=False), name="one_invoice_per_subscription_period"
            ),
            models.CheckConstraint(condition=Q(amount_due__gte=0), name="invoice_amount_due_not_negative"),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["-created_at", "-id"]),
            models.Index(fields=["-issue_date", "-id"]),
            # The list filtered by status in its default order: without it a status filter walks the
            # created_at index past every invoice of other statuses (e.g. a day's 100,000 generated ones).
            models.Index(fields=["status", "-created_at", "-id"], name="invoice_status_created"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft #{self.pk}"


class LineKind(models.TextChoices):
    PLAN = "plan", "Plan"
    ADD_ON = "add_on", "Add-on"
    USAGE = "usage", "Usage"
    PRORATION = "proration", "Proration"
    MANUAL = "manual", "Manual"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=LineKind.choices, default=LineKind.MANUAL)
    description = models.CharField(max_length=255)
    quantity = models.DecimalField(max_digits=18, decimal_places=4, default=1)
    # Finer than the minor unit for usage prices (0.0035 per call); the line amount is rounded.
    unit_price = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0, help_text="Percentage")
    amount = MoneyField(help_text="quantity × unit price, rounded")
    discount_share = MoneyField()
    credit_share = MoneyField()
    net = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description


class CreditNoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    APPLIED = "applied", "Applied"
    VOID = "void", "Void"


C = CreditNoteStatus
CREDIT_NOTE_TRANSITIONS: dict[str, set[str]] = {
    C.DRAFT: {C.APPROVED, C.VOID},
    C.APPROVED: {C.APPLIED},
    C.APPLIED: set(),
    C.VOID: set(),
}


class CreditResolution(models.TextChoices):
    REDUCE_DUE = "reduce_due", "Reduce the amount due"
    ACCOUNT_CREDIT = "account_credit", "Add to account credit"
    REFUND = "refund", "Refund the payment"


class CreditNote(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=CreditNoteStatus.choices, default=CreditNoteStatus.DRAFT)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    reason = models.CharField(max_length=255)
    resolution = models.CharField(max_length=16, choices=CreditResolution.choices, default=CreditResolution.REDUCE_DUE)
    net = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    applied_to_due = MoneyField(help_text="Part that reduced the invoice's amount due")
    applied_to_credit = MoneyField(help_text="Part that became account credit")
    refund_amount = MoneyField(help_text="Part to be refunded through the payment gateway")
    refund_status = models.CharField(max_length=16, blank=True, help_text="'' | pending | processing | processed | failed")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"]), models.Index(fields=["-created_at", "-id"])]

    def __str__(self) -> str:
        return self.number or f"Draft credit note #{self.pk}"


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_note_lines")
    description = models.CharField(max_length=255)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    net = MoneyField()
    tax = MoneyField()
    total = MoneyField()

    class Meta:
        ordering = ["id"]
