"""Subscription writes: catalogue, create/update, one service per status transition, prorated changes
and the renewal of one due subscription.

Every service is keyword-only, runs in one transaction, locks the subscription row, checks the move
against ``SUBSCRIPTION_TRANSITIONS`` (``billing_ops.state.check_transition``), writes one audit entry
with the actor and reason, and emits a domain event whose payload always carries
``subscription_id``, ``tenant_id`` and ``reason``.

A transition service called on a subscription that is already in the target status does nothing and
returns it ("already done" is success), so event handlers in other apps may call them again safely.
Moves that the table allows but that belong to another service (``paused → active`` is *resume*,
``suspended → active`` is *reactivate*) are refused with the name of the right action.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Tenant, TenantStatus
from billing_ops import events
from billing_ops.access import MANAGE_SUBSCRIPTION, WRITE, require_capability
from billing_ops.actors import actor_user
from billing_ops.errors import Conflict, TransitionNotAllowed, ValidationFailed
from billing_ops.money import ZERO, has_valid_places, quantize, to_decimal
from billing_ops.state import check_transition
from subscriptions import periods, pricing, proration
from subscriptions.models import (
    SUBSCRIPTION_TRANSITIONS,
    Coupon,
    CouponDuration,
    CouponKind,
    ItemKind,
    PendingProration,
    Plan,
    Price,
    PricingModel,
    Product,
    PromoCode,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)

S = SubscriptionStatus
# Statuses in which the tenant has (or is owed) service; at most one such subscription per tenant.
LIVE_STATUSES = (S.TRIALING, S.ACTIVE, S.PAST_DUE, S.PAUSED, S.SUSPENDED)
# Statuses whose periods the renewal task advances.
RENEWABLE_STATUSES = (S.TRIALING, S.ACTIVE, S.PAST_DUE)
# Statuses in which items and plan may change (with proration).
CHANGEABLE_STATUSES = (S.TRIALING, S.ACTIVE, S.PAST_DUE)

STATUS_FIELDS = [
    "status", "current_period_start", "current_period_end", "trial_end", "cancel_at_period_end",
    "canceled_at", "ended_at", "paused_at", "suspended_at", "status_reason",
]


def today() -> date:
    return timezone.now().date()


def _label(subscription: Subscription) -> str:
    return f"subscription #{subscription.pk}"


def _lock(subscription: Subscription) -> Subscription:
    # of=("self",): lock the subscription row only, not the joined plan and tenant rows.
    return Subscription.objects.select_for_update(of=("self",)).select_related("plan", "tenant").get(pk=subscription.pk)


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("A reason is required.", fields={"reason": ["required"]})
    return reason


def _refresh_caller_copy(target: Subscription, source: Subscription) -> None:
    """Keep the caller's instance in step with the locked row we changed."""
    if target is not source:
        for name in [*STATUS_FIELDS, "plan_id", "auto_renew", "coupon_id", "commitment_end", "billing_anchor", "coupon_cycles_used"]:
            setattr(target, name, getattr(source, name))


# --- Pricing helpers ---------------------------------------------------------------------------

def price_amount(price: Price, quantity) -> Decimal:
    """What ``price`` charges for ``quantity`` over one whole period, in its currency."""
    return pricing.price_for_quantity(
        model=price.pricing_model,
        quantity=quantity,
        currency=price.currency,
        unit_amount=price.unit_amount,
        tiers=price.tiers or None,
        package_size=price.package_size,
    )


def recurring_amount(items: Iterable[SubscriptionItem], currency: str) -> Decimal:
    return quantize(sum((price_amount(item.price, item.quantity) for item in items), ZERO), currency)


def _commitment_end(plan: Plan, start: date) -> date | None:
    if not plan.minimum_commitment_months:
        return None
    return periods.add_interval(start, periods.Interval.MONTHLY, plan.minimum_commitment_months)


def _check_quantity(value, what="quantity") -> Decimal:
    try:
        quantity = to_decimal(value if not isinstance(value, float) else str(value))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(str(exc), fields={what: [str(exc)]}) from None
    if quantity < 0:
        raise ValidationFailed("A quantity must not be negative.", fields={what: ["negative"]})
    if quantity != quantity.quantize(Decimal("0.0001")):
        raise ValidationFailed("A quantity has at most 4 decimal places.", fields={what: ["too many places"]})
    return quantity


def _check_price_for(price: Price, *, currency: str, interval: str, what: str) -> None:
    if price.currency != currency:
        raise ValidationFailed(f"{price} is priced in {price.currency}, not {currency}.", fields={what: ["currency mismatch"]})
    if price.interval != interval:
        raise ValidationFailed(f"{price} bills {price.interval}, but the plan bills {interval}.", fields={what: ["interval mismatch"]})
    if not price.active:
        raise ValidationFailed(f"{price} is no longer sold.", fields={what: ["inactive"]})


# --- Catalogue ---------------------------------------------------------------------------------

def price_create(
    *, actor, product: Product | None = None, product_name: str = "", currency: str, interval: str,
    pricing_model: str = PricingModel.FLAT, unit_amount=None, tiers: Sequence | None = None,
    package_size: int | None = None, nickname: str = "", tax_rate=ZERO,
) -> Price:
    """A validated price (any pricing model); creates its product when only a name is given."""
    require_capability(actor, WRITE)
    if interval not in periods.Interval.ALL:
        raise ValidationFailed(f"Unknown interval {interval!r}.", fields={"interval": ["unknown"]})
    tier_dicts = [t if isinstance(t, dict) else t.to_dict() for t in (tiers or [])]
    try:
        pricing.validate_price_definition(
            model=pricing_model, currency=currency, unit_amount=unit_amount,
            tiers=tier_dicts or None, package_size=package_size,
        )
    except (pricing.PricingError, TypeError) as exc:
        raise ValidationFailed(str(exc), fields={"pricing": [str(exc)]}) from None
    with transaction.atomic():
        if product is None:
            if not (product_name or "").strip():
                raise ValidationFailed("A product is required.", fields={"product": ["required"]})
            product = Product.objects.create(name=product_name.strip())
        price = Price.objects.create(
            product=product, nickname=nickname, currency=currency, pricing_model=pricing_model,
            unit_amount=None if unit_amount is None else to_decimal(unit_amount), tiers=tier_dicts,
            package_size=package_size, interval=interval, tax_rate=to_decimal(tax_rate),
        )
        audit.record(actor=actor, action="price.created", obj=price, after={
            "product": product.name, "currency": currency, "interval": interval, "pricing_model": pricing_model,
            "unit_amount": price.unit_amount, "tiers": tier_dicts, "package_size": package_size,
        })
    return price


def plan_create(
    *, actor, name: str, currency: str, interval: str, base_price: Price | None = None, base_amount=None,
    code: str = "", trial_days: int = 0, billing_cycle: str = periods.Cycle.ANNIVERSARY,
    minimum_commitment_months: int = 0, addon_prices: Sequence[Price] = (), description: str = "",
    tax_rate=ZERO, base_pricing_model: str = PricingModel.FLAT, base_tiers: Sequence | None = None,
    base_package_size: int | None = None,
) -> Plan:
    """A plan from an existing base price, or from ``base_amount``/``base_tiers`` (a price made for it,
    flat unless ``base_pricing_model`` says otherwise)."""
    from django.utils.text import slugify

    require_capability(actor, WRITE)
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = ["required"]
    if interval not in periods.Interval.ALL:
        errors["interval"] = [f"use one of {', '.join(periods.Interval.ALL)}"]
    if billing_cycle not in periods.Cycle.ALL:
        errors["billing_cycle"] = [f"use one of {', '.join(periods.Cycle.ALL)}"]
    if (base_price is None) == (base_amount is None and not base_tiers):
        errors["base_price"] = ["give either a base price or a base amount"]
    if errors:
        raise ValidationFailed("The plan is not valid.", fields=errors)
    code = slugify(code or name)[:64]
    if Plan.objects.filter(code=code).exists():
        raise ValidationFailed(f"A plan with code {code!r} already exists.", code="duplicate", fields={"code": ["taken"]})
    with transaction.atomic():
        if base_price is None:
            amount = None if base_amount is None else to_decimal(base_amount)
            if base_pricing_model == PricingModel.FLAT and (amount is None or amount < 0 or not has_valid_places(amount, currency)):
                raise ValidationFailed("The base price must be a non-negative amount with 2 decimal places.", fields={"base_price": ["invalid"]})
            base_price = price_create(
                actor=actor, product_name=name, currency=currency, interval=interval, unit_amount=amount,
                nickname=f"{name} ({interval})", tax_rate=tax_rate, pricing_model=base_pricing_model,
                tiers=base_tiers, package_size=base_package_size,
            )
        _check_price_for(base_price, currency=currency, interval=interval, what="base_price")
        for addon in addon_prices:
            _check_price_for(addon, currency=currency, interval=interval, what="addon_prices")
        plan = Plan.objects.create(
            name=name, code=code, currency=currency, interval=interval, base_price=base_price,
            trial_days=trial_days or 0, billing_cycle=billing_cycle,
            minimum_commitment_months=minimum_commitment_months or 0, description=description,
        )
        if addon_prices:
            plan.addon_prices.set(addon_prices)
        audit.record(actor=actor, action="plan.created", obj=plan, after={
            "name": name, "code": code, "currency": currency, "interval": interval, "base_price": base_price.pk,
            "trial_days": plan.trial_days, "billing_cycle": billing_cycle,
            "minimum_commitment_months": plan.minimum_commitment_months, "addon_prices": [p.pk for p in addon_prices],
        })
        events.emit("plan.created", actor=actor, plan_id=plan.pk)
    return plan


def coupon_create(
    *, actor, code: str, name: str = "", kind: str, percent_off=None, amount_off=None, currency: str = "",
    duration: str = CouponDuration.ONCE, duration_cycles: int | None = None, expires_at: datetime | None = None,
    max_redemptions: int | None = None,
) -> Coupon:
    """A percent-off or amount-off coupon with a duration, expiry and redemption limit."""
    require_capability(actor, WRITE)
    code = (code or "").strip().upper()
    errors = {}
    if not code:
        errors["code"] = ["required"]
    elif Coupon.objects.filter(code=code).exists():
        errors["code"] = ["taken"]
    if kind == CouponKind.PERCENT:
        if percent_off is None or not (Decimal("0") < to_decimal(percent_off) <= Decimal("100")):
            errors["percent_off"] = ["a percentage above 0 and at most 100"]
        amount_off, currency = None, currency or ""
    elif kind == CouponKind.AMOUNT:
        if not currency:
            errors["currency"] = ["required for an amount-off coupon"]
        if amount_off is None or to_decimal(amount_off) <= 0 or (currency and not has_valid_places(amount_off, currency)):
            errors["amount_off"] = ["a positive amount with 2 decimal places"]
        percent_off = None
    else:
        errors["kind"] = ["percent or amount"]
    if duration == CouponDuration.REPEATING:
        if not duration_cycles or duration_cycles < 1:
            errors["duration_cycles"] = ["required (>= 1) for a repeating coupon"]
    elif duration in (CouponDuration.ONCE, CouponDuration.FOREVER):
        duration_cycles = None
    else:
        errors["duration"] = ["once, repeating or forever"]
    if errors:
        raise ValidationFailed("The coupon is not valid.", fields=errors)
    with transaction.atomic():
        coupon = Coupon.objects.create(
            code=code, name=name or code, kind=kind, percent_off=percent_off, amount_off=amount_off,
            currency=currency, duration=duration, duration_cycles=duration_cycles, expires_at=expires_at,
            max_redemptions=max_redemptions,
        )
        audit.record(actor=actor, action="coupon.created", obj=coupon, after=audit.snapshot(coupon, [
            "code", "kind", "percent_off", "amount_off", "currency", "duration", "duration_cycles", "expires_at", "max_redemptions",
        ]))
    return coupon


def promo_code_create(*, actor, coupon: Coupon, code: str, expires_at=None, max_redemptions=None) -> PromoCode:
    require_capability(actor, WRITE)
    code = (code or "").strip().upper()
    if not code or PromoCode.objects.filter(code=code).exists():
        raise ValidationFailed("The promo code is missing or taken.", fields={"code": ["missing or taken"]})
    with transaction.atomic():
        promo = PromoCode.objects.create(code=code, coupon=coupon, expires_at=expires_at, max_redemptions=max_redemptions)
        audit.record(actor=actor, action="promo_code.created", obj=promo, after={"code": code, "coupon": coupon.code})
    return promo


def _redeem(*, coupon: Coupon | None, promo_code: str | None, currency: str) -> Coupon | None:
    """Lock and count one redemption of a coupon (directly or through a promo code)."""
    now = timezone.now()
    promo = None
    if promo_code:
        promo = PromoCode.objects.select_for_update().filter(code=promo_code.strip().upper()).first()
        if promo is None or not promo.active or (promo.expires_at and promo.expires_at <= now):
            raise ValidationFailed("This promo code is not valid.", fields={"promo_code": ["invalid or expired"]})
        if promo.max_redemptions is not None and promo.times_redeemed >= promo.max_redemptions:
            raise ValidationFailed("This promo code has been used up.", fields={"promo_code": ["used up"]})
        if coupon is not None and coupon.pk != promo.coupon_id:
            raise ValidationFailed("Give a coupon or a promo code, not both.", fields={"promo_code": ["conflicts with coupon"]})
        coupon = promo.coupon
    if coupon is None:
        return None
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    if not coupon.active or (coupon.expires_at and coupon.expires_at <= now):
        raise ValidationFailed(f"Coupon {coupon.code} has expired.", fields={"coupon": ["expired"]})
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise ValidationFailed(f"Coupon {coupon.code} has reached its redemption limit.", fields={"coupon": ["used up"]})
    if coupon.kind == CouponKind.AMOUNT and coupon.currency != currency:
        raise ValidationFailed(f"Coupon {coupon.code} is in {coupon.currency}, not {currency}.", fields={"coupon": ["currency mismatch"]})
    coupon.times_redeemed += 1
    coupon.save(update_fields=["times_redeemed"])
    if promo is not None:
        promo.times_redeemed += 1
        promo.save(update_fields=["times_redeemed"])
    return coupon


def _contents(rows) -> str:
    """Items as one readable audit value: 'Growth (monthly) [#3] × 1, Extra seat [#7] × 5'."""
    return ", ".join(f"{price} [#{price.pk}] × {to_decimal(qty).normalize():f}" for price, qty in rows)


# --- Create and edit ---------------------------------------------------------------------------

def subscription_create(
    *, actor, tenant: Tenant, plan: Plan, quantity=1, addons: Sequence[tuple[Price, object]] = (),
    start_date: date | None = None, trial_days: int | None = None, coupon: Coupon | None = None,
    promo_code: str | None = None, auto_renew: bool = True, reason: str = "",
) -> Subscription:
    """Start ``tenant`` on ``plan``: trialing when the plan (or ``trial_days``) gives a trial, else active.

    A trial is its own period ``[start, trial_end)``; the paid schedule is anchored on the trial end.
    A tenant has at most one live subscription (trialing/active/past due/paused/suspended).
    """
    require_capability(actor, MANAGE_SUBSCRIPTION)
    start = start_date or today()
    trial_days = plan.trial_days if trial_days is None else trial_days
    quantity = _check_quantity(quantity)
    errors = {}
    if plan.currency != tenant.currency:
        errors["plan"] = [f"The plan is priced in {plan.currency}; {tenant.name} is billed in {tenant.currency}."]
    if not plan.active:
        errors["plan"] = ["This plan is no longer sold."]
    if trial_days < 0:
        errors["trial_days"] = ["must not be negative"]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    addon_rows = []
    for price, addon_qty in addons:
        _check_price_for(price, currency=plan.currency, interval=plan.interval, what="addons")
        if price.pk == plan.base_price_id or price.pk in {p.pk for p, _ in addon_rows}:
            raise ValidationFailed(f"{price} is listed twice.", fields={"addons": ["duplicate"]})
        addon_rows.append((price, _check_quantity(addon_qty, "addons")))

    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status == TenantStatus.CLOSED:
            raise ValidationFailed(f"{tenant.name} is closed.", fields={"tenant": ["closed"]})
        existing = Subscription.objects.filter(tenant=tenant, status__in=LIVE_STATUSES).first()
        if existing is not None:
            raise Conflict(
                f"{tenant.name} already has a {existing.get_status_display().lower()} subscription (#{existing.pk}); change it instead.",
                code="subscription_exists",
            )
        redeemed = _redeem(coupon=coupon, promo_code=promo_code, currency=plan.currency)
        if trial_days:
            trial_end = start + timedelta(days=trial_days)
            status, anchor, period = S.TRIALING, trial_end, (start, trial_end)
        else:
            trial_end = None
            status, anchor = S.ACTIVE, start
            period = periods.first_period(start=start, interval=plan.interval, cycle=plan.billing_cycle)
        subscription = Subscription.objects.create(
            tenant=tenant, plan=plan, status=status, currency=plan.currency, billing_anchor=anchor,
            current_period_start=period[0], current_period_end=period[1], trial_end=trial_end,
            commitment_end=_commitment_end(plan, anchor), auto_renew=auto_renew, coupon=redeemed,
            created_by=actor_user(actor),
        )
        SubscriptionItem.objects.create(subscription=subscription, price=plan.base_price, kind=ItemKind.BASE, quantity=quantity)
        for price, addon_qty in addon_rows:
            SubscriptionItem.objects.create(subscription=subscription, price=price, kind=ItemKind.ADD_ON, quantity=addon_qty)
        audit.record(actor=actor, action="subscription.created", obj=subscription, reason=reason, after={
            **audit.snapshot(subscription, ["plan", "status", "current_period_start", "current_period_end", "trial_end",
                                            "commitment_end", "auto_renew", "coupon"]),
            # not "items": templates would read entry.after.items as the dict method
            "contents": _contents([(plan.base_price, quantity), *addon_rows]),
        })
        payload = _payload(subscription, reason)
        events.emit("subscription.created", actor=actor, status=status, plan_id=plan.pk, **payload)
        if status == S.TRIALING:
            events.emit("subscription.trial_started", actor=actor, trial_end=trial_end, **payload)
    return subscription


def subscription_start_trial(*, actor, tenant: Tenant, plan: Plan, trial_days: int | None = None, **kwargs) -> Subscription:
    """Start a subscription in ``trialing`` (the table has no move *into* trialing: it is an entry state)."""
    days = plan.trial_days if trial_days is None else trial_days
    if not days or days < 1:
        raise ValidationFailed("A trial needs at least one day.", fields={"trial_days": ["at least 1"]})
    return subscription_create(actor=actor, tenant=tenant, plan=plan, trial_days=days, **kwargs)


EDITABLE_FIELDS = ("auto_renew", "coupon", "trial_end", "commitment_end")


def subscription_update(*, actor, subscription: Subscription, reason: str = "", **changes) -> Subscription:
    """Edit auto-renew, coupon, trial end (while trialing) and commitment end.

    Status, plan and items have their own services (transitions; prorated changes).
    """
    require_capability(actor, WRITE)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.",
                               fields={name: ["not editable"] for name in unknown})
    with transaction.atomic():
        sub = _lock(subscription)
        if sub.status in (S.CANCELED, S.EXPIRED):
            raise TransitionNotAllowed(f"A {sub.status} subscription cannot be edited.", code="subscription_ended")
        fields = list(changes)
        before = audit.snapshot(sub, fields)
        if "trial_end" in changes and changes["trial_end"] != sub.trial_end:
            new_end = changes["trial_end"]
            if sub.status != S.TRIALING:
                raise ValidationFailed("Only a trialing subscription has a trial end to change.", fields={"trial_end": ["not trialing"]})
            if new_end is None or new_end <= sub.current_period_start or new_end <= today():
                raise ValidationFailed("The trial must end after today and after it started.", fields={"trial_end": ["too early"]})
            sub.trial_end = sub.current_period_end = sub.billing_anchor = new_end
            sub.commitment_end = _commitment_end(sub.plan, new_end)
        if "coupon" in changes and (changes["coupon"] and changes["coupon"].pk) != sub.coupon_id:
            sub.coupon = _redeem(coupon=changes["coupon"], promo_code=None, currency=sub.currency) if changes["coupon"] else None
            sub.coupon_cycles_used = 0
        if "auto_renew" in changes:
            sub.auto_renew = bool(changes["auto_renew"])
        if "commitment_end" in changes:
            sub.commitment_end = changes["commitment_end"]
        sub.save()
        after = audit.snapshot(sub, fields)
        if before != after:
            audit.record(actor=actor, action="subscription.updated", obj=sub, before=before, after=after, reason=reason)
            events.emit("subscription.updated", actor=actor, changed=sorted(k for k in after if after[k] != before[k]), **_payload(sub, reason))
    _refresh_caller_copy(subscription, sub)
    return sub


# --- Transitions -------------------------------------------------------------------------------

def _payload(sub: Subscription, reason: str) -> dict:
    return {"subscription_id": sub.pk, "tenant_id": sub.tenant_id, "reason": reason or ""}


_VERBS = {
    "activated": "activate", "marked_past_due": "mark past due", "paused": "pause", "resumed": "resume",
    "suspended": "suspend", "reactivated": "reactivate", "canceled": "cancel", "expired": "expire",
}


def _transition(
    *, actor, subscription: Subscription, target: str, action: str, event: str, reason: str,
    allowed_from: Iterable[str] | None = None, apply=None, capability: str = WRITE, extra_payload: dict | None = None,
) -> Subscription:
    require_capability(actor, capability)
    with transaction.atomic():
        sub = _lock(subscription)
        if sub.status == target:
            _refresh_caller_copy(subscription, sub)
            return sub  # already done
        check_transition(table=SUBSCRIPTION_TRANSITIONS, current=sub.status, target=target, label="subscription")
        if allowed_from is not None and sub.status not in allowed_from:
            hint = {S.PAUSED: "resume it", S.SUSPENDED: "reactivate it"}.get(sub.status, "use another action")
            raise TransitionNotAllowed(
                f"Cannot {_VERBS.get(action, action)} a {sub.status.replace('_', ' ')} subscription; {hint} instead.",
                code="transition_not_allowed",
            )
        before = audit.snapshot(sub, STATUS_FIELDS)
        previous = sub.status
        sub.status = target
        sub.status_reason = (reason or "")[:255]
        if apply is not None:
            apply(sub)
        sub.save()
        after = audit.snapshot(sub, STATUS_FIELDS)
        changed = [name for name in STATUS_FIELDS if before[name] != after[name]]
        audit.record(actor=actor, action=f"subscription.{action}", obj=sub, reason=reason,
                     before={name: before[name] for name in changed}, after={name: after[name] for name in changed})
        events.emit(event, actor=actor, previous_status=previous, status=target, **_payload(sub, reason), **(extra_payload or {}))
    _refresh_caller_copy(subscription, sub)
    return sub


def _roll_period_forward(sub: Subscription, on: date) -> None:
    """After a pause or suspension, continue on the schedule at the period containing ``on`` (the gap is not billed)."""
    if sub.current_period_end <= on and sub.billing_anchor <= on:
        start, end = periods.period_containing(anchor=sub.billing_anchor, interval=sub.plan.interval, cycle=sub.plan.billing_cycle, on=on)
        sub.current_period_start, sub.current_period_end = start, end


def subscription_activate(*, actor, subscription: Subscription, reason: str = "") -> Subscription:
    """``trialing`` or ``past_due`` → ``active`` (trial converted, or the overdue amount paid)."""
    def apply(sub):
        if sub.trial_end and sub.trial_end > today() and sub.current_period_end == sub.trial_end:
            # Converting early: the paid schedule starts today.
            sub.trial_end = today()
            sub.billing_anchor = today()
            sub.current_period_start, sub.current_period_end = periods.first_period(
                start=today(), interval=sub.plan.interval, cycle=sub.plan.billing_cycle)
            sub.commitment_end = _commitment_end(sub.plan, today())
    return _transition(actor=actor, subscription=subscription, target=S.ACTIVE, action="activated",
                       event="subscription.activated", reason=reason, allowed_from=(S.TRIALING, S.PAST_DUE), apply=apply)


def subscription_mark_past_due(*, actor, subscription: Subscription, reason: str = "") -> Subscription:
    """``active``/``trialing`` → ``past_due`` (a renewal payment failed or an invoice is overdue)."""
    return _transition(actor=actor, subscription=subscription, target=S.PAST_DUE, action="marked_past_due",
                       event="subscription.past_due", reason=reason or "payment overdue")


def subscription_pause(*, actor, subscription: Subscription, reason: str) -> Subscription:
    """``active`` → ``paused``: no renewals while paused."""
    reason = _require_reason(reason)

    def apply(sub):
        sub.paused_at = timezone.now()
    return _transition(actor=actor, subscription=subscription, target=S.PAUSED, action="paused",
                       event="subscription.paused", reason=reason, allowed_from=(S.ACTIVE,), apply=apply)


def subscription_resume(*, actor, subscription: Subscription, reason: str = "") -> Subscription:
    """``paused`` → ``active``; the schedule continues at the period containing today."""
    def apply(sub):
        sub.paused_at = None
        _roll_period_forward(sub, today())
    return _transition(actor=actor, subscription=subscription, target=S.ACTIVE, action="resumed",
                       event="subscription.resumed", reason=reason, allowed_from=(S.PAUSED,), apply=apply)


def _sync_tenant(*, actor, sub: Subscription, status: str, reason: str) -> None:
    from accounts.services import tenant_set_status

    tenant = Tenant.objects.get(pk=sub.tenant_id)
    if status == TenantStatus.SUSPENDED and tenant.status == TenantStatus.ACTIVE:
        others = Subscription.objects.filter(tenant_id=sub.tenant_id, status__in=RENEWABLE_STATUSES).exclude(pk=sub.pk)
        if not others.exists():
            tenant_set_status(actor=actor, tenant=tenant, status=TenantStatus.SUSPENDED, reason=reason)
    elif status == TenantStatus.ACTIVE and tenant.status == TenantStatus.SUSPENDED:
        tenant_set_status(actor=actor, tenant=tenant, status=TenantStatus.ACTIVE, reason=reason)


def subscription_suspend(*, actor, subscription: Subscription, reason: str, sync_tenant: bool = False) -> Subscription:
    """``trialing``/``active``/``past_due`` → ``suspended`` (service withheld, e.g. for non-payment).

    With ``sync_tenant=True`` (the staff screens and API) the tenant is suspended too when it has no
    other running subscription. Dunning calls it with the default and suspends the tenant itself.
    """
    reason = _require_reason(reason)
    with transaction.atomic():
        if sync_tenant:  # lock order tenant → subscription, as tenant-level callers (dunning) use
            Tenant.objects.select_for_update().filter(pk=subscription.tenant_id).first()

        def apply(sub):
            sub.suspended_at = timezone.now()
        sub = _transition(actor=actor, subscription=subscription, target=S.SUSPENDED, action="suspended",
                          event="subscription.suspended", reason=reason, allowed_from=(S.TRIALING, S.ACTIVE, S.PAST_DUE), apply=apply)
        if sync_tenant:
            _sync_tenant(actor=actor, sub=sub, status=TenantStatus.SUSPENDED, reason=reason)
    return sub


def subscription_reactivate(*, actor, subscription: Subscription, reason: str, sync_tenant: bool = False) -> Subscription:
    """``suspended`` or ``past_due`` → ``active``; the schedule continues at the period containing today.

    With ``sync_tenant=True`` a suspended tenant is reactivated too.
    """
    reason = _require_reason(reason)
    with transaction.atomic():
        if sync_tenant:
            Tenant.objects.select_for_update().filter(pk=subscription.tenant_id).first()

        def apply(sub):
            sub.suspended_at = None
            _roll_period_forward(sub, today())
        sub = _transition(actor=actor, subscription=subscription, target=S.ACTIVE, action="reactivated",
                          event="subscription.reactivated", reason=reason, allowed_from=(S.SUSPENDED, S.PAST_DUE), apply=apply)
        if sync_tenant:
            _sync_tenant(actor=actor, sub=sub, status=TenantStatus.ACTIVE, reason=reason)
    return sub


def subscription_cancel_now(*, actor, subscription: Subscription, reason: str) -> Subscription:
    """Any live status → ``canceled`` at once (staff may end a commitment early; the audit says why)."""
    reason = _require_reason(reason)
    now = timezone.now()
    early = bool(subscription.commitment_end and subscription.commitment_end > now.date())

    def apply(sub):
        sub.canceled_at = sub.ended_at = now
        sub.cancel_at_period_end = False
    return _transition(actor=actor, subscription=subscription, target=S.CANCELED, action="canceled",
                       event="subscription.canceled", reason=reason, apply=apply,
                       extra_payload={"at_period_end": False, "within_commitment": early})


def subscription_cancel_at_period_end(*, actor, subscription: Subscription, reason: str, cancel: bool = True) -> Subscription:
    """Schedule (or with ``cancel=False`` withdraw) cancellation at the end of the current period.

    The status does not change now; the renewal task cancels at the first period end on or after
    the commitment end.
    """
    require_capability(actor, WRITE)
    reason = _require_reason(reason)
    with transaction.atomic():
        sub = _lock(subscription)
        if sub.cancel_at_period_end == cancel:
            _refresh_caller_copy(subscription, sub)
            return sub
        if sub.status not in (S.TRIALING, S.ACTIVE, S.PAST_DUE, S.PAUSED):
            raise TransitionNotAllowed(f"A {sub.status} subscription cannot be scheduled for cancellation.")
        before = audit.snapshot(sub, ["cancel_at_period_end", "canceled_at"])
        sub.cancel_at_period_end = cancel
        sub.canceled_at = timezone.now() if cancel else None
        sub.save(update_fields=["cancel_at_period_end", "canceled_at", "updated_at"])
        action = "cancel_scheduled" if cancel else "cancel_unscheduled"
        audit.record(actor=actor, action=f"subscription.{action}", obj=sub, before=before,
                     after=audit.snapshot(sub, ["cancel_at_period_end", "canceled_at"]), reason=reason)
        events.emit(f"subscription.{action}", actor=actor, effective_on=effective_cancel_date(sub), **_payload(sub, reason))
    _refresh_caller_copy(subscription, sub)
    return sub


def effective_cancel_date(sub: Subscription) -> date:
    """When a scheduled cancellation takes effect: the first period end on or after the commitment end."""
    end = sub.current_period_end
    if sub.commitment_end and end < sub.commitment_end:
        start = sub.current_period_start
        for _ in range(10000):
            start, end = periods.next_period(anchor=sub.billing_anchor, interval=sub.plan.interval,
                                             cycle=sub.plan.billing_cycle, current_start=start)
            if end >= sub.commitment_end:
                break
    return end


def subscription_expire(*, actor, subscription: Subscription, reason: str = "") -> Subscription:
    """``trialing``/``active``/``past_due`` → ``expired`` (ran out without renewing)."""
    def apply(sub):
        sub.ended_at = timezone.now()
    return _transition(actor=actor, subscription=subscription, target=S.EXPIRED, action="expired",
                       event="subscription.expired", reason=reason or "term ended without renewal", apply=apply)


def subscription_set_status(*, actor, subscription: Subscription, status: str, reason: str) -> Subscription:
    """The API/screen status action: pick the one service that moves to ``status`` from the current one."""
    current = Subscription.objects.only("status").get(pk=subscription.pk).status
    if status == S.ACTIVE:
        if current == S.PAUSED:
            return subscription_resume(actor=actor, subscription=subscription, reason=_require_reason(reason))
        if current == S.SUSPENDED:
            return subscription_reactivate(actor=actor, subscription=subscription, reason=reason, sync_tenant=True)
        if current == S.TRIALING:
            return subscription_activate(actor=actor, subscription=subscription, reason=_require_reason(reason))
        if current == S.PAST_DUE:
            return subscription_reactivate(actor=actor, subscription=subscription, reason=reason, sync_tenant=True)
        if current == S.ACTIVE:
            return subscription
        check_transition(table=SUBSCRIPTION_TRANSITIONS, current=current, target=status, label="subscription")
    handlers = {
        S.SUSPENDED: lambda: subscription_suspend(actor=actor, subscription=subscription, reason=reason, sync_tenant=True),
        S.CANCELED: lambda: subscription_cancel_now(actor=actor, subscription=subscription, reason=reason),
        S.PAUSED: lambda: subscription_pause(actor=actor, subscription=subscription, reason=reason),
        S.PAST_DUE: lambda: subscription_mark_past_due(actor=actor, subscription=subscription, reason=_require_reason(reason)),
        S.EXPIRED: lambda: subscription_expire(actor=actor, subscription=subscription, reason=_require_reason(reason)),
    }
    if status not in handlers:
        raise ValidationFailed(
            f"Unknown status {status!r}.", fields={"status": [f"one of {', '.join(['active', *handlers])}"]}
        )
    return handlers[status]()


# Screen helper: which status actions make sense from each status.
STATUS_ACTIONS = {
    S.TRIALING: [("active", "Activate now"), ("suspended", "Suspend"), ("canceled", "Cancel now"), ("cancel_at_period_end", "Cancel at period end")],
    S.ACTIVE: [("suspended", "Suspend"), ("paused", "Pause"), ("past_due", "Mark past due"), ("canceled", "Cancel now"),
               ("cancel_at_period_end", "Cancel at period end")],
    S.PAST_DUE: [("active", "Reactivate"), ("suspended", "Suspend"), ("canceled", "Cancel now"), ("cancel_at_period_end", "Cancel at period end")],
    S.PAUSED: [("active", "Resume"), ("canceled", "Cancel now"), ("cancel_at_period_end", "Cancel at period end")],
    S.SUSPENDED: [("active", "Reactivate"), ("canceled", "Cancel now")],
    S.CANCELED: [],
    S.EXPIRED: [],
}


# --- Prorated changes --------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemChange:
    price: Price
    quantity: Decimal  # 0 removes the item


@dataclass
class ChangePreview:
    subscription: Subscription
    currency: str
    change_date: date
    period_start: date
    period_end: date
    days_remaining: int
    days_in_period: int
    plan_before: Plan
    plan_after: Plan
    items_before: list[tuple[Price, Decimal]]
    items_after: list[tuple[Price, Decimal]]
    lines: list[proration.ProrationLine]
    prorated: bool  # False while trialing: a trial is free, so nothing is charged or credited
    tax_rates: dict = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return quantize(sum((line.amount for line in self.lines), ZERO), self.currency)

    @property
    def fingerprint(self) -> str:
        """Identifies exactly what was previewed, so the confirmation can insist on the same result."""
        import hashlib

        parts = [self.subscription.pk, self.change_date, self.period_start, self.period_end, self.plan_after.pk,
                 [(p.pk, str(q)) for p, q in self.items_after], [(line.key, line.direction, str(line.amount)) for line in self.lines]]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]

    @property
    def changed(self) -> bool:
        return self.plan_before.pk != self.plan_after.pk or [(p.pk, q) for p, q in self.items_before] != [(p.pk, q) for p, q in self.items_after]


def _preview(*, sub: Subscription, plan: Plan | None, items: Sequence[ItemChange], remove: Sequence[Price],
             change_date: date) -> ChangePreview:
    if sub.status not in CHANGEABLE_STATUSES:
        raise TransitionNotAllowed(f"A {sub.status} subscription cannot be changed.", code="transition_not_allowed")
    new_plan = plan or sub.plan
    if new_plan.pk != sub.plan_id:
        if new_plan.currency != sub.currency:
            raise ValidationFailed(f"{new_plan} is priced in {new_plan.currency}, not {sub.currency}.", fields={"plan": ["currency mismatch"]})
        if new_plan.interval != sub.plan.interval or new_plan.billing_cycle != sub.plan.billing_cycle:
            raise ValidationFailed("A plan change keeps the billing interval and cycle; start a new subscription for another schedule.",
                                   fields={"plan": ["different interval or cycle"]})
        if not new_plan.active:
            raise ValidationFailed(f"{new_plan} is no longer sold.", fields={"plan": ["inactive"]})
    current = list(sub.items.select_related("price", "price__product").order_by("id"))
    before = [(item.price, item.quantity) for item in current]
    after: dict[int, list] = {item.price_id: [item.price, item.quantity, item.kind] for item in current}
    if new_plan.pk != sub.plan_id:
        base = next((item for item in current if item.kind == ItemKind.BASE), None)
        base_qty = base.quantity if base else Decimal("1")
        if base is not None:
            after.pop(base.price_id, None)
        after[new_plan.base_price_id] = [new_plan.base_price, base_qty, ItemKind.BASE]
    for price in remove:
        if price.pk not in after:
            raise ValidationFailed(f"{price} is not on the subscription.", fields={"remove": ["not on the subscription"]})
        if after[price.pk][2] == ItemKind.BASE:
            raise ValidationFailed("The plan's base item cannot be removed; change the plan or cancel.", fields={"remove": ["base item"]})
        del after[price.pk]
    for change in items:
        price, quantity = change.price, _check_quantity(change.quantity, "items")
        if price.pk in after:
            if quantity == 0:
                if after[price.pk][2] == ItemKind.BASE:
                    raise ValidationFailed("The plan's base item cannot be removed.", fields={"items": ["base item"]})
                del after[price.pk]
            else:
                after[price.pk][1] = quantity
        elif quantity > 0:
            _check_price_for(price, currency=sub.currency, interval=new_plan.interval, what="items")
            after[price.pk] = [price, quantity, ItemKind.ADD_ON]
    if not sub.current_period_start <= change_date < sub.current_period_end:
        raise ValidationFailed(
            f"The change date {change_date.isoformat()} is outside the current period "
            f"{sub.current_period_start.isoformat()} → {sub.current_period_end.isoformat()}.",
            fields={"change_date": ["outside the current period"]},
        )
    items_after = [(price, qty) for price, qty, _ in after.values()]

    def described(rows):
        return [(price.pk, f"{price} × {qty.normalize():f}", price_amount(price, qty)) for price, qty in rows]

    prorated = sub.status != S.TRIALING
    lines = []
    if prorated:
        lines = proration.prorate_change(
            currency=sub.currency, period_start=sub.current_period_start, period_end=sub.current_period_end,
            change_date=change_date, old_items=described(before), new_items=described(items_after),
        )
    left, days = (sub.current_period_end - change_date).days, (sub.current_period_end - sub.current_period_start).days
    return ChangePreview(
        subscription=sub, currency=sub.currency, change_date=change_date, period_start=sub.current_period_start,
        period_end=sub.current_period_end, days_remaining=left, days_in_period=days, plan_before=sub.plan,
        plan_after=new_plan, items_before=before, items_after=items_after, lines=lines, prorated=prorated,
        tax_rates={price.pk: price.tax_rate for price, _ in before + items_after},
    )


def subscription_change_preview(
    *, actor, subscription: Subscription, plan: Plan | None = None, items: Sequence[ItemChange] = (),
    remove: Sequence[Price] = (), change_date: date | None = None,
) -> ChangePreview:
    """The prorated lines a change would produce, line by line; nothing is written."""
    require_capability(actor, MANAGE_SUBSCRIPTION)
    sub = Subscription.objects.select_related("plan", "tenant").get(pk=subscription.pk)
    return _preview(sub=sub, plan=plan, items=items, remove=remove, change_date=change_date or today())


def subscription_change_apply(
    *, actor, subscription: Subscription, plan: Plan | None = None, items: Sequence[ItemChange] = (),
    remove: Sequence[Price] = (), change_date: date | None = None, expected_total: Decimal | None = None,
    expected_fingerprint: str | None = None, reason: str = "",
) -> tuple[ChangePreview, list[PendingProration]]:
    """Apply a change: the preview is recomputed under the row lock and stored as pending proration lines.

    The stored amounts are exactly the preview's (one function computes both). ``expected_total`` or
    ``expected_fingerprint`` (what the user confirmed) guard against the subscription changing in
    between: 409 if the recomputed preview differs.
    Invoice generation turns the pending lines into ``proration`` invoice lines.
    """
    require_capability(actor, MANAGE_SUBSCRIPTION)
    with transaction.atomic():
        sub = _lock(subscription)
        preview = _preview(sub=sub, plan=plan, items=items, remove=remove, change_date=change_date or today())
        if expected_total is not None and preview.total != quantize(expected_total, sub.currency):
            raise Conflict("The subscription changed since the preview; preview the change again.", code="preview_stale")
        if expected_fingerprint and preview.fingerprint != expected_fingerprint:
            raise Conflict("The subscription changed since the preview; preview the change again.", code="preview_stale")
        if not preview.changed:
            raise ValidationFailed("Nothing to change.", code="no_change")
        ref = uuid.uuid4().hex
        kinds = {item.price_id: item for item in sub.items.all()}
        wanted = {price.pk: (price, qty) for price, qty in preview.items_after}
        for price_id, item in kinds.items():
            if price_id not in wanted:
                item.delete()
        base_id = preview.plan_after.base_price_id
        for price_id, (price, qty) in wanted.items():
            kind = ItemKind.BASE if price_id == base_id else ItemKind.ADD_ON
            item = kinds.get(price_id)
            if item is None:
                SubscriptionItem.objects.create(subscription=sub, price=price, kind=kind, quantity=qty)
            elif item.quantity != qty or item.kind != kind:
                item.quantity, item.kind = qty, kind
                item.save(update_fields=["quantity", "kind"])
        if preview.plan_after.pk != sub.plan_id:
            sub.plan = preview.plan_after
            sub.save(update_fields=["plan", "updated_at"])
        rows = [
            PendingProration(
                subscription=sub, description=line.description[:255], amount=line.amount, currency=sub.currency,
                tax_rate=preview.tax_rates.get(line.key, ZERO), change_date=preview.change_date,
                period_start=preview.period_start, period_end=preview.period_end, change_ref=ref,
            )
            for line in preview.lines
        ]
        rows = PendingProration.objects.bulk_create(rows) if rows else []
        audit.record(actor=actor, action="subscription.changed", obj=sub, reason=reason, before={
            "plan": preview.plan_before.pk, "contents": _contents(preview.items_before),
        }, after={
            "plan": preview.plan_after.pk, "contents": _contents(preview.items_after),
            "proration_total": preview.total, "change_ref": ref, "change_date": preview.change_date,
        })
        events.emit("subscription.changed", actor=actor, change_ref=ref, proration_total=preview.total,
                    currency=sub.currency, proration_ids=[row.pk for row in rows], **_payload(sub, reason))
    _refresh_caller_copy(subscription, sub)
    return preview, rows


# --- Renewal of one subscription (called by subscriptions.tasks) -------------------------------

def payment_method_on_file(tenant_id: int) -> bool:
    """Whether the payments app holds a reusable payment method for the tenant (False until it exists)."""
    from django.apps import apps

    try:
        model = apps.get_model("payments", "PaymentMethod")
    except LookupError:
        return False
    return model.objects.filter(tenant_id=tenant_id, reusable=True).exists()


def subscription_renew_if_due(*, actor, subscription_id: int, on: date, skip_locked: bool = True) -> list[str]:
    """Process every period boundary of one subscription up to ``on``; returns what happened.

    Order at each boundary: a scheduled cancellation (once the commitment is met) → a trial ending →
    non-auto-renew expiry (once the commitment is met) → renewal into the next period. One
    transaction; the row is locked (``skip_locked``: a concurrent run skips it). Safe to repeat:
    a subscription whose period ends after ``on`` is left alone.
    """
    outcomes: list[str] = []
    with transaction.atomic():
        # of=("self",): otherwise the joined plan row is locked too, and SKIP LOCKED would skip every
        # other subscription on the same plan while one is being renewed.
        qs = Subscription.objects.select_for_update(skip_locked=skip_locked, of=("self",)).select_related("plan")
        sub = qs.filter(pk=subscription_id, status__in=RENEWABLE_STATUSES, current_period_end__lte=on).first()
        if sub is None:
            return outcomes
        for _ in range(1000):
            if sub.status not in RENEWABLE_STATUSES or sub.current_period_end > on:
                break
            outcomes.append(_process_boundary(actor=actor, sub=sub))
    return outcomes


def _commitment_met(sub: Subscription) -> bool:
    return not sub.commitment_end or sub.current_period_end >= sub.commitment_end


def _process_boundary(*, actor, sub: Subscription) -> str:
    boundary = sub.current_period_end
    at = timezone.make_aware(datetime.combine(boundary, datetime.min.time()), timezone.get_fixed_timezone(0))
    if sub.cancel_at_period_end and _commitment_met(sub):
        def cancel(s):
            s.ended_at = at
            s.canceled_at = s.canceled_at or at
        _transition(actor=actor, subscription=sub, target=S.CANCELED, action="canceled", event="subscription.canceled",
                    reason="scheduled cancellation at period end", apply=cancel, extra_payload={"at_period_end": True})
        return "canceled"
    trial_ending = sub.status == S.TRIALING
    previous = (sub.current_period_start, sub.current_period_end)
    if not sub.auto_renew and _commitment_met(sub):
        def expire(s):
            s.ended_at = at
        _transition(actor=actor, subscription=sub, target=S.EXPIRED, action="expired", event="subscription.expired",
                    reason="trial ended without auto-renew" if trial_ending else "term ended without auto-renew", apply=expire)
        return "expired"
    if trial_ending:
        has_method = payment_method_on_file(sub.tenant_id)

        def convert(s):
            s.current_period_start, s.current_period_end = periods.first_period(
                start=s.billing_anchor, interval=s.plan.interval, cycle=s.plan.billing_cycle)
        _transition(actor=actor, subscription=sub, target=S.ACTIVE, action="trial_ended", event="subscription.trial_ended",
                    reason="trial ended", apply=convert, extra_payload={"payment_method_on_file": has_method})
        _emit_renewed(actor=actor, sub=sub, previous=previous, charge=has_method, trial_converted=True)
        return "trial_ended"
    before = audit.snapshot(sub, ["current_period_start", "current_period_end", "coupon_cycles_used"])
    start, end = periods.next_period(anchor=sub.billing_anchor, interval=sub.plan.interval, cycle=sub.plan.billing_cycle,
                                     current_start=sub.current_period_start)
    sub.current_period_start, sub.current_period_end = start, end
    if sub.coupon_id:
        sub.coupon_cycles_used += 1
    sub.save(update_fields=["current_period_start", "current_period_end", "coupon_cycles_used", "updated_at"])
    audit.record(actor=actor, action="subscription.renewed", obj=sub, before=before,
                 after=audit.snapshot(sub, ["current_period_start", "current_period_end", "coupon_cycles_used"]), reason="renewal")
    _emit_renewed(actor=actor, sub=sub, previous=previous, charge=True, trial_converted=False)
    return "renewed"


def _emit_renewed(*, actor, sub: Subscription, previous, charge: bool, trial_converted: bool) -> None:
    items = list(sub.items.select_related("price"))
    events.emit(
        "subscription.renewed", actor=actor, **_payload(sub, "renewal"),
        period_start=sub.current_period_start, period_end=sub.current_period_end,
        previous_period_start=previous[0], previous_period_end=previous[1],
        amount=recurring_amount(items, sub.currency), currency=sub.currency,
        trial_converted=trial_converted, charge=charge,
    )
