"""Demo data for subscriptions: a catalogue (every pricing model and interval), coupons, and a
subscription in every status for the demo tenants. Adds ``ctx["plans"]``, ``ctx["coupons"]`` and
``ctx["subscriptions"]`` (all created subscriptions, newest last) for the apps seeded after us."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from subscriptions import services
from subscriptions.services import ItemChange

D = Decimal

# Per currency: (starter monthly, growth monthly, seat add-on) — prices in the currency's major unit.
PRICE_BOOK = {
    "NGN": ("15000.00", "45000.00", "2500.00"),
    "GHS": ("250.00", "750.00", "40.00"),
    "ZAR": ("350.00", "1050.00", "60.00"),
    "KES": ("2500.00", "7500.00", "400.00"),
    "EUR": ("29.00", "89.00", "6.00"),
    "USD": ("29.00", "99.00", "7.00"),
}


def _catalogue(actor) -> dict:
    plans, addons = {}, {}
    for currency, (starter, growth, seat) in PRICE_BOOK.items():
        seat_price = services.price_create(
            actor=actor, product_name=f"Extra seat ({currency})", currency=currency, interval="monthly",
            pricing_model="per_unit", unit_amount=D(seat), nickname=f"Extra seat · {currency}", tax_rate=D("7.5") if currency == "NGN" else 0,
        )
        calls = services.price_create(
            actor=actor, product_name=f"API calls ({currency})", currency=currency, interval="monthly", pricing_model="tiered",
            nickname=f"API calls (per 1k, tiered) · {currency}",
            tiers=[{"up_to": "100", "unit_price": str(D(seat) / 10)}, {"up_to": "1000", "unit_price": str(D(seat) / 20)},
                   {"up_to": None, "unit_price": str(D(seat) / 40)}],
        )
        addons[currency] = (seat_price, calls)
        plans[("starter", currency)] = services.plan_create(
            actor=actor, name=f"Starter {currency}", code=f"starter-{currency.lower()}", currency=currency, interval="monthly",
            base_amount=D(starter), trial_days=14, description="For small teams; 14-day trial.",
        )
        plans[("growth", currency)] = services.plan_create(
            actor=actor, name=f"Growth {currency}", code=f"growth-{currency.lower()}", currency=currency, interval="monthly",
            base_amount=D(growth), addon_prices=[seat_price, calls], description="Seats and API calls as add-ons.",
        )
    # NGN specials: the other intervals, cycle types, pricing models and a commitment.
    plans[("enterprise", "NGN")] = services.plan_create(
        actor=actor, name="Enterprise yearly", code="enterprise-yearly", currency="NGN", interval="yearly",
        base_amount=D("4800000.00"), billing_cycle="calendar", minimum_commitment_months=12,
        description="Calendar-aligned to 1 January; 12-month minimum commitment.",
    )
    plans[("scale", "NGN")] = services.plan_create(
        actor=actor, name="Scale quarterly (volume)", code="scale-quarterly", currency="NGN", interval="quarterly",
        base_pricing_model="volume", base_tiers=[
            {"up_to": "10", "unit_price": "9000.00"}, {"up_to": "50", "unit_price": "7500.00"}, {"up_to": None, "unit_price": "6000.00"},
        ], description="Per location; the volume tier sets one price for all units.",
    )
    plans[("weekly", "NGN")] = services.plan_create(
        actor=actor, name="Events weekly (packages of 100 tickets)", code="events-weekly", currency="NGN", interval="weekly",
        base_pricing_model="package", base_amount=D("5000.00"), base_package_size=100,
    )
    plans[("daily", "NGN")] = services.plan_create(
        actor=actor, name="Kiosk daily", code="kiosk-daily", currency="NGN", interval="daily", base_amount=D("500.00"),
    )
    return {"plans": plans, "addons": addons}


def _coupons(actor) -> list:
    coupons = [
        services.coupon_create(actor=actor, code="WELCOME20", name="20% off the first 3 months", kind="percent",
                               percent_off=D("20"), duration="repeating", duration_cycles=3),
        services.coupon_create(actor=actor, code="NGN5K", name="NGN 5,000 off once", kind="amount", amount_off=D("5000.00"),
                               currency="NGN", duration="once", max_redemptions=100),
        services.coupon_create(actor=actor, code="PARTNER10", name="Partner 10% forever", kind="percent", percent_off=D("10"),
                               duration="forever"),
        services.coupon_create(actor=actor, code="BLACKFRIDAY", name="Black Friday 2025 (expired)", kind="percent",
                               percent_off=D("30"), expires_at=timezone.now() - timedelta(days=300)),
    ]
    services.promo_code_create(actor=actor, coupon=coupons[0], code="LAUNCH2026", max_redemptions=500)
    return coupons


def seed(ctx: dict) -> None:
    actor = ctx["actor"]
    catalogue = _catalogue(actor)
    plans, addons = catalogue["plans"], catalogue["addons"]
    coupons = _coupons(actor)
    ctx["plans"], ctx["coupons"] = list(plans.values()), coupons
    created = ctx.setdefault("subscriptions", [])
    from accounts.models import Tenant

    open_ids = set(Tenant.objects.exclude(status="closed").values_list("pk", flat=True))
    tenants = [t for t in ctx.get("tenants", []) if t.pk in open_ids]
    today = timezone.now().date()

    def start(tenant, kind, *, days_ago=20, **kwargs):
        plan = plans.get((kind, tenant.currency)) or plans[("starter", tenant.currency)]
        sub = services.subscription_create(actor=actor, tenant=tenant, plan=plan, start_date=today - timedelta(days=days_ago),
                                           reason="demo", **kwargs)
        created.append(sub)
        return sub

    # status → how to get there; cycled over the tenants so every status appears.
    def active_with_change(tenant):
        sub = start(tenant, "growth", trial_days=0, coupon=coupons[2],
                    addons=[(addons[tenant.currency][0], D("5"))])
        services.subscription_change_apply(actor=actor, subscription=sub, items=[ItemChange(addons[tenant.currency][0], D("8"))],
                                           reason="Customer hired three more staff")
        return sub

    def trialing(tenant):
        return start(tenant, "starter", days_ago=3)

    def past_due(tenant):
        sub = start(tenant, "growth", trial_days=0)
        return services.subscription_mark_past_due(actor=actor, subscription=sub, reason="Renewal payment failed")

    def paused(tenant):
        sub = start(tenant, "starter", trial_days=0)
        return services.subscription_pause(actor=actor, subscription=sub, reason="Seasonal business, back in March")

    def suspended(tenant):
        sub = start(tenant, "starter", trial_days=0)
        return services.subscription_suspend(actor=actor, subscription=sub, reason="Unpaid invoices after final warning")

    def committed_cancel_scheduled(tenant):
        if tenant.currency != "NGN":
            return start(tenant, "starter", trial_days=0)
        sub = start(tenant, "enterprise", days_ago=40)
        return services.subscription_cancel_at_period_end(actor=actor, subscription=sub, reason="Moving to in-house billing next year")

    def canceled_then_active(tenant):
        old = start(tenant, "starter", days_ago=70, trial_days=0)
        services.subscription_cancel_now(actor=actor, subscription=old, reason="Upgraded to a quarterly plan")
        return start(tenant, "scale" if tenant.currency == "NGN" else "growth", quantity=D("12"), days_ago=10)

    def expired(tenant):
        sub = start(tenant, "starter", days_ago=45, trial_days=0, auto_renew=False)
        return services.subscription_expire(actor=actor, subscription=sub, reason="Fixed term ended without auto-renew")

    def active_plain(tenant):
        return start(tenant, "growth", trial_days=0, coupon=coupons[0], days_ago=25)

    def auto_renew_off(tenant):
        return start(tenant, "starter", trial_days=0, auto_renew=False, days_ago=27)

    recipes = [active_with_change, trialing, past_due, paused, suspended, committed_cancel_scheduled,
               canceled_then_active, expired, active_plain, auto_renew_off, trialing]
    for index, tenant in enumerate(tenants):
        recipes[index % len(recipes)](tenant)
    stdout = ctx.get("stdout")
    if stdout is not None:
        stdout.write(f"    {len(plans)} plans, {len(coupons)} coupons, {len(created)} subscriptions")
    # Metered usage for the live subscriptions (issue 8): meters, prices and a period of events.
    from subscriptions import usage_demo

    usage_demo.seed(ctx)
