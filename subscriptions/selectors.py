"""Subscription reads, scoped to the tenants the user may see and prefetched for their screens."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from billing_ops.access import scope_to_user, visible_tenants
from billing_ops.money import ZERO, quantize
from subscriptions.models import (
    Coupon,
    CouponDuration,
    CouponKind,
    PendingProration,
    Plan,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)

S = SubscriptionStatus
RENEWING_STATUSES = (S.TRIALING, S.ACTIVE, S.PAST_DUE)


def _items_prefetch():
    return Prefetch("items", queryset=SubscriptionItem.objects.select_related("price", "price__product").order_by("id"))


def subscription_list(*, user):
    return scope_to_user(Subscription.objects.select_related("tenant", "plan", "coupon"), user)


def subscription_get(*, user, pk) -> Subscription:
    """The subscription, or 404 when it does not exist or its tenant is not visible to ``user``."""
    return get_object_or_404(subscription_list(user=user).prefetch_related(_items_prefetch()), pk=pk)


def tenant_subscription(*, tenant) -> Subscription | None:
    """The tenant's live subscription, else its most recent one."""
    from subscriptions.services import LIVE_STATUSES

    qs = Subscription.objects.filter(tenant=tenant).select_related("plan", "coupon", "tenant").prefetch_related(_items_prefetch())
    return qs.filter(status__in=LIVE_STATUSES).order_by("-id").first() or qs.order_by("-id").first()


def subscription_history(*, subscription: Subscription, limit: int = 50):
    from accounts.selectors import object_history

    return object_history(obj=subscription, limit=limit)


def subscription_invoices(*, subscription: Subscription, limit: int = 24) -> list:
    try:
        from invoicing.models import Invoice
    except ImportError:  # pragma: no cover - invoicing is on main
        return []
    return list(Invoice.objects.filter(subscription=subscription).order_by("-created_at", "-id")[:limit])


def pending_prorations(*, subscription: Subscription) -> list[PendingProration]:
    return list(subscription.pending_prorations.order_by("-id")[:50])[::-1]


def plan_list():
    return Plan.objects.select_related("base_price", "base_price__product").prefetch_related("addon_prices")


def active_plans(*, currency: str | None = None):
    qs = Plan.objects.filter(active=True).select_related("base_price")
    return qs.filter(currency=currency) if currency else qs


def coupon_list():
    return Coupon.objects.all()


def active_coupon(subscription: Subscription) -> Coupon | None:
    """The subscription's coupon if it still discounts the current period (for invoice generation).

    ``coupon_cycles_used`` counts the periods already completed with the coupon (the renewal task
    increments it), so ``once`` applies to the first period only and ``repeating`` to N periods.
    """
    coupon = subscription.coupon
    if coupon is None:
        return None
    if coupon.duration == CouponDuration.ONCE and subscription.coupon_cycles_used >= 1:
        return None
    if coupon.duration == CouponDuration.REPEATING and subscription.coupon_cycles_used >= (coupon.duration_cycles or 0):
        return None
    return coupon


def coupon_discount(coupon: Coupon | None, amount: Decimal, currency: str) -> Decimal:
    if coupon is None:
        return ZERO
    if coupon.kind == CouponKind.PERCENT:
        return quantize(amount * coupon.percent_off / Decimal(100), currency)
    return min(amount, coupon.amount_off or ZERO)


# --- Renewals ----------------------------------------------------------------------------------

@dataclass
class PaymentMethodInfo:
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None

    @property
    def expires_on(self) -> date | None:
        """The last day the card can be charged."""
        if not self.exp_month or not self.exp_year:
            return None
        return date(int(self.exp_year), int(self.exp_month), calendar.monthrange(int(self.exp_year), int(self.exp_month))[1])

    @property
    def label(self) -> str:
        expiry = f" exp {int(self.exp_month):02d}/{self.exp_year}" if self.exp_month and self.exp_year else ""
        return f"{self.brand or 'card'} ••••{self.last4}{expiry}"


@dataclass
class Renewal:
    subscription: Subscription
    renews_on: date
    amount: Decimal
    currency: str
    payment_method: PaymentMethodInfo | None
    flags: list[str] = field(default_factory=list)

    FLAG_LABELS = {
        "card_expires_before_renewal": "Card expires before renewal",
        "no_payment_method": "No payment method on file",
        "past_due": "Past due",
        "cancel_at_period_end": "Cancels at period end",
        "will_expire": "Auto-renew off",
        "trial_ends": "Trial ends",
    }

    RISKY = ("card_expires_before_renewal", "no_payment_method", "past_due", "cancel_at_period_end")

    @property
    def flag_labels(self) -> list[str]:
        return [self.FLAG_LABELS.get(flag, flag) for flag in self.flags]

    @property
    def flag_items(self) -> list[tuple[str, bool]]:
        """(label, risky) for the screen."""
        return [(self.FLAG_LABELS.get(flag, flag), flag in self.RISKY) for flag in self.flags]

    @property
    def at_risk(self) -> bool:
        return any(flag in self.flags for flag in self.RISKY)


def payment_methods_for(tenant_ids) -> dict[int, PaymentMethodInfo]:
    """The default (else newest) reusable payment method per tenant, in one query.

    The payments app owns ``PaymentMethod``; until it exists every tenant has none.
    """
    from django.apps import apps

    try:
        model = apps.get_model("payments", "PaymentMethod")
    except LookupError:
        return {}
    try:
        rows = model.objects.filter(tenant_id__in=list(tenant_ids), reusable=True).order_by("tenant_id", "-is_default", "-id")
        found: dict[int, PaymentMethodInfo] = {}
        for row in rows:
            if row.tenant_id not in found:
                found[row.tenant_id] = PaymentMethodInfo(
                    brand=getattr(row, "brand", "") or "", last4=getattr(row, "last4", "") or "",
                    exp_month=getattr(row, "exp_month", None), exp_year=getattr(row, "exp_year", None),
                )
        return found
    except Exception:  # noqa: BLE001 - a schema the payments app has not finished must not break renewals
        return {}


def renewal_queryset(*, days: int, user, on: date | None = None):
    from django.utils import timezone

    start = on or timezone.now().date()
    return subscription_list(user=user).filter(
        status__in=RENEWING_STATUSES, current_period_end__gte=start, current_period_end__lte=start + timedelta(days=days)
    ).prefetch_related(_items_prefetch())


def renewals_for(subscriptions) -> list[Renewal]:
    """Renewal rows for already-fetched subscriptions (items prefetched): one query for payment methods."""
    from subscriptions.services import price_amount

    subscriptions = list(subscriptions)
    methods = payment_methods_for({sub.tenant_id for sub in subscriptions})
    rows = []
    for sub in subscriptions:
        renews_on = sub.current_period_end
        subtotal = quantize(sum((price_amount(item.price, item.quantity) for item in sub.items.all()), ZERO), sub.currency)
        # the coupon applies to the next period only if it will still be active after this renewal
        coupon = sub.coupon
        next_uses = sub.coupon_cycles_used + (0 if sub.status == S.TRIALING else 1)
        if coupon and coupon.duration == CouponDuration.ONCE and next_uses >= 1:
            coupon = None
        if coupon and coupon.duration == CouponDuration.REPEATING and next_uses >= (coupon.duration_cycles or 0):
            coupon = None
        amount = subtotal - coupon_discount(coupon, subtotal, sub.currency)
        method = methods.get(sub.tenant_id)
        flags = []
        if method is None:
            flags.append("no_payment_method")
        elif method.expires_on and method.expires_on < renews_on:
            flags.append("card_expires_before_renewal")
        if sub.status == S.PAST_DUE:
            flags.append("past_due")
        if sub.status == S.TRIALING:
            flags.append("trial_ends")
        if sub.cancel_at_period_end:
            flags.append("cancel_at_period_end")
        if not sub.auto_renew:
            flags.append("will_expire")
        rows.append(Renewal(subscription=sub, renews_on=renews_on, amount=amount, currency=sub.currency,
                            payment_method=method, flags=flags))
    return rows


def renewals_within(*, days: int, user, on: date | None = None) -> list[Renewal]:
    """Subscriptions renewing in the next ``days`` days (today included), soonest first, with
    the amount of the next period (items after coupon, before tax), the payment method on file
    and risk flags."""
    qs = renewal_queryset(days=days, user=user, on=on).order_by("current_period_end", "id")
    return renewals_for(qs)


def visible_tenant_ids(*, user):
    return visible_tenants(user).values("pk")


# --- For invoice generation (the invoicing app) -------------------------------------------------

@dataclass(frozen=True)
class BillableLine:
    """One invoice line for a subscription period: ``quantity × unit_price == amount`` exactly."""

    kind: str  # "plan" | "add_on" (invoicing.models.LineKind values)
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    price_id: int


def subscription_billable_lines(*, subscription: Subscription) -> list[BillableLine]:
    """The recurring lines of ``subscription``'s current period, priced by each price's model.

    Per-unit prices whose unit price is exact in the currency keep quantity and unit price; every
    other model (flat, tiered, volume, package, sub-minor unit prices) is one line of quantity 1 at
    the computed amount, with the quantity in the description, so quantity × unit price is exact.
    """
    from billing_ops.money import has_valid_places
    from subscriptions.models import ItemKind, PricingModel
    from subscriptions.services import price_amount

    lines = []
    period = f"{subscription.current_period_start:%Y-%m-%d} to {subscription.current_period_end:%Y-%m-%d}"
    for item in subscription.items.all():
        price = item.price
        amount = price_amount(price, item.quantity)
        kind = "plan" if item.kind == ItemKind.BASE else "add_on"
        qty_text = f"{item.quantity.normalize():f}"
        if (price.pricing_model == PricingModel.PER_UNIT and has_valid_places(price.unit_amount, subscription.currency)
                and quantize(item.quantity * price.unit_amount, subscription.currency) == item.quantity * price.unit_amount):
            lines.append(BillableLine(kind, f"{price} ({period})", item.quantity, price.unit_amount, amount, price.tax_rate, price.pk))
        else:
            label = f"{price}" + ("" if price.pricing_model == PricingModel.FLAT and item.quantity == 1 else f" × {qty_text}")
            lines.append(BillableLine(kind, f"{label} ({period})", Decimal("1"), amount, amount, price.tax_rate, price.pk))
    return lines


def uninvoiced_prorations(*, subscription: Subscription):
    """Pending proration rows not yet on an invoice (invoicing sets ``invoiced_at`` and ``invoice_line``)."""
    return subscription.pending_prorations.filter(invoiced_at__isnull=True).order_by("id")
