"""Monthly recurring revenue: per subscription, on a given day, and its movement between two days.

Definitions (docs/analytics.md has the full text):

- A subscription's MRR is what its recurring items charge per interval (``subscriptions.pricing``
  with each item's quantity), normalised to a month — daily × 365/12, weekly × 52/12, monthly × 1,
  quarterly ÷ 3, yearly ÷ 12 — less a recurring coupon (``forever``, or ``repeating`` with
  cycles left), excluding tax and metered (usage) prices, rounded half-up once per subscription.
- It counts on day D only while the subscription pays on D: from its first paid day (the end of
  its trial, else its anchor) until the day it was canceled/ended, paused or suspended. Trials,
  paused, suspended, canceled and expired subscriptions have no MRR.
- Movement from day A to day B, per subscription: 0 → >0 is *new* when its first paid day is after
  A, else *reactivation*; >0 → 0 is *churn*; a rise is *expansion*, a fall *contraction*. So
  MRR(B) − MRR(A) = new + expansion + reactivation − contraction − churned, exactly.

Amounts never mix currencies: every figure is per currency.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from billing_ops.money import ZERO, exponent, from_minor

MONTHLY_FACTOR = {
    "daily": Fraction(365, 12),
    "weekly": Fraction(52, 12),
    "monthly": Fraction(1),
    "quarterly": Fraction(1, 3),
    "yearly": Fraction(1, 12),
}
PAYING_STATUSES = ("active", "past_due")
ENDED_STATUSES = ("canceled", "expired")
HELD_STATUSES = ("paused", "suspended")


def round_money(value: Fraction, currency: str) -> Decimal:
    scaled = value * 10 ** exponent(currency)
    sign = -1 if scaled < 0 else 1
    return from_minor(sign * int(abs(scaled) + Fraction(1, 2)), currency)


def monthly_amount(amount, interval: str) -> Fraction:
    return Fraction(Decimal(amount)) * MONTHLY_FACTOR[interval]


def _coupon_applies(subscription) -> bool:
    coupon = subscription.coupon
    if coupon is None:
        return False
    if coupon.duration == "forever":
        return True
    if coupon.duration == "repeating":
        return (coupon.duration_cycles or 0) > subscription.coupon_cycles_used
    return False  # "once" is a one-off discount, not recurring revenue


def subscription_mrr(subscription, *, metered_price_ids: set[int] = frozenset()) -> Decimal:
    """MRR of ``subscription``'s current items (uses prefetched ``items`` with their prices)."""
    from subscriptions.pricing import Tier, price_for_quantity

    currency = subscription.currency
    total = Fraction(0)
    for item in subscription.items.all():
        price = item.price
        if price.pk in metered_price_ids or price.currency != currency:
            continue
        tiers = [Tier.from_dict(t) for t in price.tiers] if price.tiers else None
        charge = price_for_quantity(
            model=price.pricing_model, quantity=item.quantity, currency=currency,
            unit_amount=price.unit_amount, tiers=tiers, package_size=price.package_size,
        )
        total += monthly_amount(charge, price.interval)
    if _coupon_applies(subscription):
        coupon = subscription.coupon
        if coupon.kind == "percent" and coupon.percent_off is not None:
            total -= total * Fraction(coupon.percent_off) / 100
        elif coupon.kind == "amount" and coupon.amount_off is not None and coupon.currency in ("", currency):
            total -= monthly_amount(coupon.amount_off, subscription.plan.interval)
    return round_money(max(total, Fraction(0)), currency)


def first_paid_on(subscription) -> dt.date:
    anchor = subscription.billing_anchor
    if subscription.trial_end and subscription.trial_end > anchor:
        return subscription.trial_end
    return anchor


def _day(value) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def paying_on(subscription, day: dt.date) -> bool:
    """Whether ``subscription`` pays on ``day`` (end of day), reconstructed from its dates and status."""
    if day < first_paid_on(subscription):
        return False
    status = subscription.status
    if status == "trialing":
        return False
    if status in ENDED_STATUSES:
        end = _day(subscription.ended_at) or _day(subscription.canceled_at) or _day(subscription.updated_at)
        return end is not None and day < end
    if status in HELD_STATUSES:
        since = _day(subscription.paused_at if status == "paused" else subscription.suspended_at) or _day(subscription.updated_at)
        return since is not None and day < since
    return status in PAYING_STATUSES


@dataclass(frozen=True)
class MrrRow:
    subscription_id: int
    tenant_id: int
    plan_id: int | None
    plan_name: str
    currency: str
    mrr: Decimal
    first_paid_on: dt.date | None


class MrrBook:
    """MRR rows per day: stored snapshots where a day has them, else reconstructed from live data.

    Loads the subscriptions once (with items, prices, plan, coupon) however many days are asked.
    """

    def __init__(self):
        self._live: list[tuple] | None = None
        self._cache: dict[dt.date, list[MrrRow]] = {}
        self._probed: set[dt.date] = set()  # days already looked up in the snapshot table

    def _live_subscriptions(self):
        if self._live is None:
            from subscriptions.models import Subscription
            from subscriptions.usage_models import Meter

            metered = set(Meter.objects.values_list("price_id", flat=True))
            subs = Subscription.objects.select_related("plan", "coupon").prefetch_related("items__price")
            self._live = [(s, subscription_mrr(s, metered_price_ids=metered)) for s in subs]
        return self._live

    def live_rows(self, day: dt.date) -> list[MrrRow]:
        return [
            MrrRow(s.pk, s.tenant_id, s.plan_id, s.plan.name, s.currency, mrr, first_paid_on(s))
            for s, mrr in self._live_subscriptions()
            if mrr > 0 and paying_on(s, day)
        ]

    def prefetch(self, days: Iterable[dt.date]) -> None:
        """Load the stored snapshots of ``days`` in one query."""
        from billing_ops.models import SubscriptionMrrSnapshot

        wanted = [d for d in set(days) if d not in self._cache and d not in self._probed]
        if not wanted:
            return
        self._probed.update(wanted)
        found: dict[dt.date, list[MrrRow]] = defaultdict(list)
        stored = SubscriptionMrrSnapshot.objects.filter(date__in=wanted).select_related("plan")
        for snap in stored:
            found[snap.date].append(MrrRow(snap.subscription_id, snap.tenant_id, snap.plan_id,
                                           snap.plan.name if snap.plan else "", snap.currency, snap.mrr, snap.first_paid_on))
        for day in wanted:
            if day in found:
                self._cache[day] = found[day]

        # Days without snapshots stay uncached: rows() reconstructs them.

    def rows(self, day: dt.date) -> list[MrrRow]:
        if day not in self._cache:
            self.prefetch([day])
        if day not in self._cache:
            self._cache[day] = self.live_rows(day)
        return self._cache[day]


@dataclass
class Movement:
    starting_mrr: Decimal = ZERO
    mrr: Decimal = ZERO
    new_mrr: Decimal = ZERO
    expansion_mrr: Decimal = ZERO
    contraction_mrr: Decimal = ZERO
    churned_mrr: Decimal = ZERO
    reactivation_mrr: Decimal = ZERO
    new_count: int = 0
    churned_count: int = 0
    reactivated_count: int = 0
    active_subscriptions: int = 0
    starting_tenants: set = field(default_factory=set)
    tenants: set = field(default_factory=set)

    @property
    def net_new_mrr(self) -> Decimal:
        return self.mrr - self.starting_mrr


def movement(start_rows: list[MrrRow], end_rows: list[MrrRow], *, start_day: dt.date, key=lambda row: row.currency) -> dict:
    """{key(row): Movement} from ``start_rows`` (end of ``start_day``) to ``end_rows``.

    ``key`` groups rows (default: currency; pass ``lambda r: (r.currency, r.plan_id)`` for plans).
    A subscription that is in both is grouped by its end row.
    """
    start = {r.subscription_id: r for r in start_rows}
    end = {r.subscription_id: r for r in end_rows}
    result: dict = defaultdict(Movement)
    for sid in start.keys() | end.keys():
        a, b = start.get(sid), end.get(sid)
        before = a.mrr if a else ZERO
        after = b.mrr if b else ZERO
        m = result[key(b or a)]
        m.starting_mrr += before
        m.mrr += after
        if a:
            m.starting_tenants.add(a.tenant_id)
        if b:
            m.tenants.add(b.tenant_id)
            m.active_subscriptions += 1
        if before == 0 and after > 0:
            if b.first_paid_on and b.first_paid_on > start_day:
                m.new_mrr += after
                m.new_count += 1
            else:
                m.reactivation_mrr += after
                m.reactivated_count += 1
        elif before > 0 and after == 0:
            m.churned_mrr += before
            m.churned_count += 1
        elif after > before:
            m.expansion_mrr += after - before
        elif after < before:
            m.contraction_mrr += before - after
    return dict(result)
