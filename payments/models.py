"""Paystack configuration, payments and their attempts, saved cards, refunds and received webhooks."""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing_ops.fields import EncryptedTextField, MoneyField
from billing_ops.money import CURRENCY_CHOICES


class PaystackMode(models.TextChoices):
    TEST = "test", "Test"
    LIVE = "live", "Live"


class PaystackConfig(models.Model):
    """The one Paystack integration (a singleton row, pk=1). Every key is Fernet-encrypted at rest."""

    SINGLETON_PK = 1

    mode = models.CharField(max_length=4, choices=PaystackMode.choices, default=PaystackMode.TEST)
    test_public_key = EncryptedTextField(blank=True, default="")
    test_secret_key = EncryptedTextField(blank=True, default="")
    live_public_key = EncryptedTextField(blank=True, default="")
    live_secret_key = EncryptedTextField(blank=True, default="")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="paystack_config_singleton")]

    def __str__(self) -> str:
        return f"Paystack ({self.mode})"

    def __repr__(self) -> str:  # never show keys
        return f"<PaystackConfig mode={self.mode}>"

    @classmethod
    def load(cls) -> PaystackConfig:
        """The stored configuration, or an unsaved empty one (no keys) when none was saved yet."""
        return cls.objects.filter(pk=cls.SINGLETON_PK).first() or cls(pk=cls.SINGLETON_PK)

    @property
    def secret_key(self) -> str:
        return self.live_secret_key if self.mode == PaystackMode.LIVE else self.test_secret_key

    @property
    def public_key(self) -> str:
        return self.live_public_key if self.mode == PaystackMode.LIVE else self.test_public_key

    @property
    def is_configured(self) -> bool:
        return bool(self.secret_key)


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"


S = PaymentStatus
# CONTRACT §5. failed -> succeeded: Paystack is the source of truth; a late charge.success for an
# attempt we had given up on still settles it (money was taken).
PAYMENT_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.SUCCEEDED, S.FAILED},
    S.FAILED: {S.SUCCEEDED},
    S.SUCCEEDED: {S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.PARTIALLY_REFUNDED: {S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.REFUNDED: set(),
}
SETTLED_STATUSES = (S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED)


class PaymentMethodKind(models.TextChoices):
    CARD = "card", "Card (Paystack)"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    OTHER = "other", "Other"


MANUAL_METHODS = (PaymentMethodKind.BANK_TRANSFER, PaymentMethodKind.CASH, PaymentMethodKind.CHEQUE, PaymentMethodKind.OTHER)


class PaymentMethod(models.Model):
    """A tenant's saved, reusable Paystack card authorization (from a successful charge). One default per tenant."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="payment_methods")
    authorization_code = EncryptedTextField()
    # sha256 of the authorization code: Fernet ciphertext is not deterministic, so uniqueness needs this.
    authorization_fingerprint = models.CharField(max_length=64, editable=False)
    email = models.EmailField(blank=True, help_text="The customer email the authorization belongs to (Paystack requires it)")
    brand = models.CharField(max_length=32, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    bank = models.CharField(max_length=100, blank=True)
    reusable = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant"], condition=Q(is_default=True), name="one_default_payment_method_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "authorization_fingerprint"], name="one_payment_method_per_authorization"),
        ]

    def __str__(self) -> str:
        return f"{self.brand or 'card'} •••• {self.last4}" if self.last4 else "card"

    def __repr__(self) -> str:
        return f"<PaymentMethod {self.pk} tenant={self.tenant_id} {self}>"

    @staticmethod
    def fingerprint(authorization_code: str) -> str:
        return hashlib.sha256(authorization_code.encode()).hexdigest()

    def save(self, *args, **kwargs):
        self.authorization_fingerprint = self.fingerprint(self.authorization_code or "")
        super().save(*args, **kwargs)

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}" if self.exp_month and self.exp_year else ""


class Payment(models.Model):
    """Money received (or attempted) against an invoice: a Paystack charge attempt or a manual record.

    Card attempts carry ``attempt`` and the deterministic ``reference`` ``<invoice-number>-A<n>``;
    the row is committed before Paystack is called, so a crash leaves a pending attempt that is
    verified before any new one. ``claimed_until`` is the lease of the worker that is calling Paystack.
    """

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    method = models.CharField(max_length=16, choices=PaymentMethodKind.choices, default=PaymentMethodKind.CARD)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    reference = models.CharField(max_length=100, unique=True, help_text="Gateway reference (card) or generated (manual)")
    external_reference = models.CharField(max_length=100, blank=True, help_text="Bank/cheque reference typed by staff")
    attempt = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=16, blank=True, help_text="Why a charge was attempted: auto, retry, manual")
    payment_method = models.ForeignKey(PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    # Authorization details as Paystack reported them for this charge.
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    card_bank = models.CharField(max_length=100, blank=True)
    card_reusable = models.BooleanField(null=True, blank=True)
    gateway_transaction_id = models.BigIntegerField(null=True, blank=True)
    gateway_response = models.CharField(max_length=255, blank=True)
    raw_response = models.JSONField(default=dict, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=32, blank=True)
    applied_amount = MoneyField(help_text="Part applied to the invoice")
    credited_amount = MoneyField(help_text="Overpayment moved to the tenant's account credit")
    refunded_amount = MoneyField()
    note = models.TextField(blank=True)
    received_at = models.DateField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "attempt"], condition=Q(attempt__isnull=False), name="one_payment_per_invoice_attempt"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"]),
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["invoice", "-attempt"]),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def refundable_amount(self):
        return self.amount - self.refunded_amount if self.status in SETTLED_STATUSES else 0

    @property
    def is_card(self) -> bool:
        return self.method == PaymentMethodKind.CARD


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    SENDING = "sending", "Sending to Paystack"
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


R = RefundStatus
REFUND_TRANSITIONS: dict[str, set[str]] = {
    R.REQUESTED: {R.SENDING, R.FAILED},
    R.SENDING: {R.PENDING, R.PROCESSING, R.PROCESSED, R.FAILED},
    R.PENDING: {R.PROCESSING, R.PROCESSED, R.FAILED},
    R.PROCESSING: {R.PENDING, R.PROCESSED, R.FAILED},
    R.PROCESSED: set(),
    R.FAILED: set(),
}
OPEN_REFUND_STATUSES = (R.REQUESTED, R.SENDING, R.PENDING, R.PROCESSING)


class Refund(models.Model):
    """Money returned through Paystack for (part of) a card payment."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    credit_note = models.ForeignKey("invoicing.CreditNote", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    reason = models.CharField(max_length=255, blank=True)
    gateway_refund_id = models.BigIntegerField(null=True, blank=True, unique=True)
    raw_response = models.JSONField(default=dict, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"Refund {self.pk} of {self.payment_id}"


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    REVIEW = "review", "Needs review"
    RESOLVED = "resolved", "Resolved"
    FAILED = "failed", "Failed (will retry)"


class WebhookEvent(models.Model):
    """A signed Paystack webhook, stored once (``dedupe_key``) with its raw body, processed by a task."""

    event = models.CharField(max_length=80)
    dedupe_key = models.CharField(max_length=255, unique=True)
    raw_body = models.TextField()
    payload = models.JSONField(default=dict)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED)
    needs_review = models.BooleanField(default=False)
    review_reason = models.CharField(max_length=255, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events")
    deliveries = models.PositiveIntegerField(default=1, help_text="How many times Paystack delivered it")
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolution_note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["needs_review", "-received_at"]),
            models.Index(fields=["-received_at", "-id"]),
            # The review queue (payments.selectors.webhook_review_list): its list and its count on the payments
            # screen read only this small index, however many wide event rows wait (34,000 unknown references
            # made the count a 240 ms scan of the table).
            models.Index(fields=["-received_at", "-id"], name="webhook_review_queue",
                         condition=Q(needs_review=True, status="review")),
            # The drain's work list (payments.services.webhooks.webhook_drain): received events in id order,
            # without walking past every processed one.
            models.Index(fields=["id"], name="webhook_received_queue", condition=Q(status="received")),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.reference or self.dedupe_key}"
