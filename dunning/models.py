"""Dunning: the policy, cases and their recovery log, the outbox to tenant deployments, notifications."""
from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from billing_ops.fields import MoneyField
from billing_ops.money import CURRENCY_CHOICES
from dunning import policy as policy_rules


class DunningPolicy(models.Model):
    """How the organisation chases unpaid invoices (one default row; CONTRACT §8 defaults)."""

    name = models.CharField(max_length=100, default="Default")
    is_default = models.BooleanField(default=True)
    max_retries = models.PositiveSmallIntegerField(default=policy_rules.DEFAULT_MAX_RETRIES)
    retry_interval_days = models.JSONField(default=policy_rules.default_intervals, help_text="Days between retries, one per retry")
    grace_period_days = models.PositiveSmallIntegerField(default=policy_rules.DEFAULT_GRACE_PERIOD_DAYS)
    suspend_after_retries = models.BooleanField(default=True)
    auto_retry_enabled = models.BooleanField(default=True)
    retry_method_order = models.JSONField(default=policy_rules.default_method_order, help_text="default_card, other_cards")
    ladder = models.JSONField(default=policy_rules.default_ladder, help_text="Reminder steps (see dunning.policy)")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "dunning policies"
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_dunning_policy")]

    def __str__(self) -> str:
        return self.name


# Must equal dunning.selectors.FAR_FUTURE: the queue index is on exactly that expression.
QUEUE_FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUSPENDED = "suspended", "Suspended"
    RECOVERED = "recovered", "Recovered"
    WRITTEN_OFF = "written_off", "Written off"


CASE_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.OPEN: {CaseStatus.SUSPENDED, CaseStatus.RECOVERED, CaseStatus.WRITTEN_OFF},
    CaseStatus.SUSPENDED: {CaseStatus.RECOVERED, CaseStatus.WRITTEN_OFF},
    CaseStatus.RECOVERED: set(),
    CaseStatus.WRITTEN_OFF: set(),
}
ACTIVE_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.SUSPENDED)


class OpenedBy(models.TextChoices):
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    INVOICE_OVERDUE = "invoice_overdue", "Invoice overdue"
    MANUAL = "manual", "Opened by staff"


class DunningCase(models.Model):
    """The chase of one unpaid invoice: one case per invoice, ever."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="dunning_cases")
    invoice = models.OneToOneField("invoicing.Invoice", on_delete=models.PROTECT, related_name="dunning_case")
    subscription = models.ForeignKey("subscriptions.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="dunning_cases")
    policy = models.ForeignKey(DunningPolicy, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    step = models.PositiveSmallIntegerField(default=0, help_text="Reminders sent (ladder steps done)")
    retries_done = models.PositiveSmallIntegerField(default=0)
    opened_by = models.CharField(max_length=20, choices=OpenedBy.choices)
    failure_date = models.DateField(help_text="Day the case opened: the timeline counts from it")
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount_at_risk = MoneyField(help_text="Amount due when the case opened")
    amount_due = MoneyField(help_text="What the invoice still owes: a copy kept in step by dunning.subscribers, "
                                      "so the queue can sort and total without joining invoices")
    last_failure_reason = models.CharField(max_length=255, blank=True)
    next_action = models.CharField(max_length=16, blank=True)
    next_action_at = models.DateTimeField(null=True, blank=True)
    retry_claimed_at = models.DateTimeField(null=True, blank=True, help_text="A retry is running (lease)")
    suspended_tenant = models.BooleanField(default=False, help_text="This case suspended the tenant")
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=255, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=255, blank=True)
    recovered_amount = MoneyField()
    recovered_step = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Ladder step reached when recovered")
    recovery_route = models.CharField(max_length=32, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_action_at"]),
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["-opened_at", "-id"]),
            models.Index(fields=["closed_at"]),
            # The queue's default order (dunning.selectors: next action, never-planned last, then id) over
            # active cases: without it every queue page sorted all active cases (250 ms at 80,000 cases).
            models.Index(Coalesce("next_action_at", Value(QUEUE_FAR_FUTURE, output_field=models.DateTimeField())), F("id"),
                         name="dunning_case_queue_next_at", condition=Q(status__in=["open", "suspended"])),
            # The queue's at-risk totals per currency: an index-only scan of the active cases.
            models.Index(fields=["currency"], include=["amount_due"], name="dunning_case_at_risk",
                         condition=Q(status__in=["open", "suspended"])),
        ]

    def __str__(self) -> str:
        return f"Dunning case #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_CASE_STATUSES


class RecordKind(models.TextChoices):
    OPENED = "opened", "Opened"
    FAILURE = "failure", "Payment failure"
    RETRY = "retry", "Retry"
    REMINDER = "reminder", "Reminder"
    SUSPENSION = "suspension", "Suspension"
    RECOVERED = "recovered", "Recovered"
    REACTIVATION = "reactivation", "Reactivation"
    CANCELED = "canceled", "Pending work canceled"
    WRITTEN_OFF = "written_off", "Written off"
    NOTE = "note", "Note"


class RecoveryRecord(models.Model):
    """One thing done on a case: what, when, by whom (or which task) and the outcome. Append-only."""

    case = models.ForeignKey(DunningCase, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=16, choices=RecordKind.choices)
    number = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Retry number or ladder step")
    outcome = models.CharField(max_length=32, blank=True)
    detail = models.TextField(blank=True)
    actor_label = models.CharField(max_length=150)
    payment_ref = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # The real guard against double action: each retry and each ladder step happens once per case.
            models.UniqueConstraint(fields=["case", "kind", "number"], condition=Q(kind__in=["retry", "reminder"]),
                                    name="one_record_per_case_retry_or_step"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.number or ''} {self.outcome}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed, retrying"
    DEAD = "dead", "Gave up (too old)"
    NO_ENDPOINT = "no_endpoint", "No webhook URL"


class OutboxEvent(models.Model):
    """An event for a tenant's deployment, written in the transaction of the change it reports."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, help_text="Event id, for de-duplication")
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="outbox_events")
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    source_event_id = models.UUIDField(null=True, blank=True, unique=True, help_text="The domain event it came from")
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Delivery stops after this (maximum age)")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"]), models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} → tenant {self.tenant_id} ({self.status})"


class NotificationKind(models.TextChoices):
    INVOICE_ISSUED = "invoice_issued", "Invoice issued"
    PAYMENT_SUCCEEDED = "payment_succeeded", "Payment receipt"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    DUNNING_REMINDER = "dunning_reminder", "Dunning reminder"
    FINAL_WARNING = "final_warning", "Final warning"
    SUBSCRIPTION_SUSPENDED = "subscription_suspended", "Subscription suspended"
    SUBSCRIPTION_REACTIVATED = "subscription_reactivated", "Subscription reactivated"
    CARD_EXPIRING = "card_expiring", "Card expiring"
    CREDIT_NOTE_APPROVED = "credit_note_approved", "Credit note approved"
    TRIAL_ENDING = "trial_ending", "Trial ending"
    RENEWAL_UPCOMING = "renewal_upcoming", "Renewal upcoming"


class NotificationTemplate(models.Model):
    """Staff-edited wording of one notification type (defaults ship in dunning.notifications)."""

    kind = models.CharField(max_length=32, choices=NotificationKind.choices, unique=True)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.kind


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    IN_APP = "in_app", "In-app"
    WEBHOOK = "webhook", "Tenant webhook"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, retrying"
    GAVE_UP = "gave_up", "Failed"
    OPTED_OUT = "opted_out", "Not sent (opted out)"
    CANCELED = "canceled", "Canceled"


class Notification(models.Model):
    """Every notice sent (or not) to a tenant: the send log and the in-app list."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="notifications")
    case = models.ForeignKey(DunningCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    essential = models.BooleanField(default=False)
    to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    dedupe_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"]), models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to or self.tenant_id} ({self.status})"


class NotificationPreference(models.Model):
    """A tenant's choice: opt out of non-essential notices (invoices and suspensions always go)."""

    tenant = models.OneToOneField("accounts.Tenant", on_delete=models.CASCADE, related_name="notification_preference")
    opt_out_non_essential = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)
