"""Catalogue (products, prices, plans, coupons) and subscriptions with their transition table."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from billing_ops.fields import MoneyField
from billing_ops.money import CURRENCY_CHOICES


class Interval(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly"


class PricingModel(models.TextChoices):
    FLAT = "flat", "Flat fee"
    PER_UNIT = "per_unit", "Per unit"
    TIERED = "tiered", "Tiered (graduated)"
    VOLUME = "volume", "Volume"
    PACKAGE = "package", "Package"


class BillingCycle(models.TextChoices):
    ANNIVERSARY = "anniversary", "Anniversary"
    CALENDAR = "calendar", "Calendar (1st of the period)"


class Product(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Price(models.Model):
    """What a product costs per interval, by one pricing model (see subscriptions.pricing)."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="prices")
    nickname = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    pricing_model = models.CharField(max_length=16, choices=PricingModel.choices, default=PricingModel.FLAT)
    unit_amount = MoneyField(null=True, blank=True, default=None, help_text="Flat fee, per-unit or per-package price")
    tiers = models.JSONField(default=list, blank=True, help_text='[{"up_to": 10|null, "unit_price": "5.00", "flat_fee": "0.00"}]')
    package_size = models.PositiveIntegerField(null=True, blank=True)
    interval = models.CharField(max_length=16, choices=Interval.choices, default=Interval.MONTHLY)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0, help_text="Percentage, e.g. 7.5")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product__name", "id"]

    def __str__(self) -> str:
        return self.nickname or f"{self.product} ({self.currency} {self.interval})"


class Plan(models.Model):
    """A named bundle: a base price, optional add-ons, trial, cycle type and commitment."""

    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=64, unique=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    interval = models.CharField(max_length=16, choices=Interval.choices, default=Interval.MONTHLY)
    base_price = models.ForeignKey(Price, on_delete=models.PROTECT, related_name="base_of_plans")
    addon_prices = models.ManyToManyField(Price, blank=True, related_name="addon_of_plans")
    trial_days = models.PositiveIntegerField(default=0)
    billing_cycle = models.CharField(max_length=16, choices=BillingCycle.choices, default=BillingCycle.ANNIVERSARY)
    minimum_commitment_months = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class CouponKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    AMOUNT = "amount", "Amount off"


class CouponDuration(models.TextChoices):
    ONCE = "once", "Once"
    REPEATING = "repeating", "For N cycles"
    FOREVER = "forever", "Forever"


class Coupon(models.Model):
    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=CouponKind.choices)
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = MoneyField(null=True, blank=True, default=None)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, blank=True, help_text="Required for amount-off coupons")
    duration = models.CharField(max_length=16, choices=CouponDuration.choices, default=CouponDuration.ONCE)
    duration_cycles = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    @property
    def redeemable_status(self) -> str:
        """What staff need to know at a glance: active, expired, used up or inactive."""
        from django.utils import timezone

        if not self.active:
            return "inactive"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        if self.max_redemptions is not None and self.times_redeemed >= self.max_redemptions:
            return "used up"
        return "active"

    def __str__(self) -> str:
        return self.code


class PromoCode(models.Model):
    """A customer-facing code that grants a coupon, with its own expiry and redemption limit."""

    code = models.CharField(max_length=64, unique=True)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="promo_codes")
    expires_at = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.code


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    PAUSED = "paused", "Paused"
    SUSPENDED = "suspended", "Suspended"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"


S = SubscriptionStatus
# The only allowed moves; every transition service checks this one table.
SUBSCRIPTION_TRANSITIONS: dict[str, set[str]] = {
    S.TRIALING: {S.ACTIVE, S.PAST_DUE, S.CANCELED, S.EXPIRED, S.SUSPENDED},
    S.ACTIVE: {S.PAST_DUE, S.PAUSED, S.SUSPENDED, S.CANCELED, S.EXPIRED},
    S.PAST_DUE: {S.ACTIVE, S.SUSPENDED, S.CANCELED, S.EXPIRED},
    S.PAUSED: {S.ACTIVE, S.CANCELED},
    S.SUSPENDED: {S.ACTIVE, S.CANCELED},
    S.CANCELED: set(),
    S.EXPIRED: set(),
}


class Subscription(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    billing_anchor = models.DateField(help_text="Day the anniversary cycle is counted from")
    current_period_start = models.DateField()
    current_period_end = models.DateField(help_text="Exclusive: the next period starts on this date")
    trial_end = models.DateField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    commitment_end = models.DateField(null=True, blank=True)
    auto_renew = models.BooleanField(default=True)
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions")
    coupon_cycles_used = models.PositiveIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "current_period_end"]),
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["current_period_end", "id"]),
            models.Index(fields=["-created_at", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} · {self.plan}"


class ItemKind(models.TextChoices):
    BASE = "base", "Plan"
    ADD_ON = "add_on", "Add-on"


class SubscriptionItem(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    price = models.ForeignKey(Price, on_delete=models.PROTECT, related_name="subscription_items")
    kind = models.CharField(max_length=16, choices=ItemKind.choices, default=ItemKind.BASE)
    quantity = models.DecimalField(max_digits=18, decimal_places=4, default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "price"], name="one_item_per_price")]

    def __str__(self) -> str:
        return f"{self.price} × {self.quantity}"


class PendingProration(models.Model):
    """A prorated charge (positive) or credit (negative) waiting for the next invoice.

    Invoice generation turns uninvoiced rows into `proration` lines and sets ``invoiced_at``.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="pending_prorations")
    description = models.CharField(max_length=255)
    amount = MoneyField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    change_date = models.DateField()
    period_start = models.DateField()
    period_end = models.DateField()
    change_ref = models.CharField(max_length=64, blank=True, help_text="Groups the lines of one applied change")
    invoiced_at = models.DateTimeField(null=True, blank=True)
    invoice_line = models.ForeignKey("invoicing.InvoiceLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["subscription", "invoiced_at"])]


from subscriptions.usage_models import Meter, MeterAggregation, UsageDailySnapshot, UsageEvent, UsageMonthlySnapshot  # noqa: E402,F401  (usage billing)
