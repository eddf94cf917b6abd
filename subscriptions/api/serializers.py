from decimal import Decimal

from rest_framework import serializers

from billing_ops.api.fields import MoneyField
from billing_ops.money import CURRENCY_CHOICES, format_amount
from subscriptions.models import BillingCycle, Coupon, CouponDuration, CouponKind, Interval, Plan, SubscriptionStatus


def quantity_field(**kwargs):
    kwargs.setdefault("min_value", Decimal("0"))
    return serializers.DecimalField(max_digits=18, decimal_places=4, coerce_to_string=True, **kwargs)


class SubscriptionItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    price = serializers.IntegerField(source="price_id")
    description = serializers.SerializerMethodField()
    kind = serializers.CharField()
    quantity = quantity_field()
    amount = serializers.SerializerMethodField()

    def get_description(self, item) -> str:
        return str(item.price)

    def get_amount(self, item) -> str:
        from subscriptions.services import price_amount

        return format_amount(price_amount(item.price, item.quantity), item.price.currency)


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tenant = serializers.IntegerField(source="tenant_id")
    tenant_name = serializers.CharField(source="tenant.name")
    plan = serializers.IntegerField(source="plan_id")
    plan_name = serializers.CharField(source="plan.name")
    status = serializers.CharField()
    currency = serializers.CharField()
    interval = serializers.CharField(source="plan.interval")
    billing_anchor = serializers.DateField()
    current_period_start = serializers.DateField()
    current_period_end = serializers.DateField()
    trial_end = serializers.DateField()
    cancel_at_period_end = serializers.BooleanField()
    canceled_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    commitment_end = serializers.DateField()
    auto_renew = serializers.BooleanField()
    coupon = serializers.SerializerMethodField()
    status_reason = serializers.CharField()
    items = SubscriptionItemSerializer(many=True, source="items.all")
    amount = serializers.SerializerMethodField(help_text="Recurring amount per period (items, before coupon and tax)")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_coupon(self, sub) -> str | None:
        return sub.coupon.code if sub.coupon_id else None

    def get_amount(self, sub) -> str:
        from subscriptions.services import recurring_amount

        return format_amount(recurring_amount(sub.items.all(), sub.currency), sub.currency)


class AddonSerializer(serializers.Serializer):
    price = serializers.IntegerField()
    quantity = quantity_field(default=Decimal("1"))


class SubscriptionCreateSerializer(serializers.Serializer):
    tenant = serializers.IntegerField()
    plan = serializers.IntegerField()
    quantity = quantity_field(default=Decimal("1"), min_value=Decimal("0.0001"))
    addons = AddonSerializer(many=True, required=False, default=list)
    start_date = serializers.DateField(required=False, allow_null=True)
    trial_days = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    coupon = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    promo_code = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    auto_renew = serializers.BooleanField(required=False, default=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class SubscriptionUpdateSerializer(serializers.Serializer):
    auto_renew = serializers.BooleanField(required=False)
    coupon = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    trial_end = serializers.DateField(required=False)
    commitment_end = serializers.DateField(required=False, allow_null=True)
    cancel_at_period_end = serializers.BooleanField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s for s, _ in SubscriptionStatus.choices if s != SubscriptionStatus.TRIALING])
    reason = serializers.CharField(allow_blank=True, default="")


class ItemChangeSerializer(serializers.Serializer):
    price = serializers.IntegerField()
    quantity = quantity_field(help_text="The new quantity; 0 removes the item")


class ChangeSerializer(serializers.Serializer):
    plan = serializers.IntegerField(required=False, allow_null=True)
    items = ItemChangeSerializer(many=True, required=False, default=list)
    remove = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    change_date = serializers.DateField(required=False, allow_null=True)
    expected_total = MoneyField(required=False, allow_null=True, help_text="Apply only if the proration total is still this")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


def preview_data(preview, *, rows=None) -> dict:
    currency = preview.currency

    def items(rows_):
        from subscriptions.services import price_amount

        return [{"price": p.pk, "description": str(p), "quantity": f"{q:f}", "amount": format_amount(price_amount(p, q), currency)}
                for p, q in rows_]

    data = {
        "subscription": preview.subscription.pk,
        "tenant": preview.subscription.tenant_id,
        "currency": currency,
        "change_date": preview.change_date.isoformat(),
        "period_start": preview.period_start.isoformat(),
        "period_end": preview.period_end.isoformat(),
        "days_remaining": preview.days_remaining,
        "days_in_period": preview.days_in_period,
        "prorated": preview.prorated,
        "plan_before": preview.plan_before.pk,
        "plan_after": preview.plan_after.pk,
        "items_before": items(preview.items_before),
        "items_after": items(preview.items_after),
        "lines": [
            {"price": line.key, "description": line.description, "direction": line.direction,
             "full_amount": format_amount(line.full_amount, currency), "amount": format_amount(line.amount, currency),
             "days_remaining": line.days_remaining, "days_in_period": line.days_in_period}
            for line in preview.lines
        ],
        "total": format_amount(preview.total, currency),
        "fingerprint": preview.fingerprint,
    }
    if rows is not None:
        data["pending_prorations"] = [row.pk for row in rows]
        data["change_ref"] = rows[0].change_ref if rows else None
    return data


class PlanSerializer(serializers.ModelSerializer):
    base_price = serializers.SerializerMethodField()
    base_price_id = serializers.IntegerField(read_only=True)
    addon_prices = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = ["id", "name", "code", "currency", "interval", "base_price", "base_price_id", "addon_prices", "trial_days",
                  "billing_cycle", "minimum_commitment_months", "description", "active", "created_at"]

    def get_base_price(self, plan) -> str | None:
        amount = plan.base_price.unit_amount
        return None if amount is None else format_amount(amount, plan.currency)

    def get_addon_prices(self, plan) -> list[dict]:
        return [{"id": p.pk, "description": str(p), "pricing_model": p.pricing_model,
                 "unit_amount": None if p.unit_amount is None else format_amount(p.unit_amount, p.currency)}
                for p in plan.addon_prices.all()]


class PlanCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    code = serializers.SlugField(required=False, allow_blank=True, default="")
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    interval = serializers.ChoiceField(choices=Interval.choices)
    base_price = MoneyField(required=False, min_value=Decimal("0"), help_text="A flat price created for the plan")
    base_price_id = serializers.IntegerField(required=False, help_text="Or an existing price")
    addon_prices = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    trial_days = serializers.IntegerField(required=False, default=0, min_value=0)
    billing_cycle = serializers.ChoiceField(choices=BillingCycle.choices, required=False, default=BillingCycle.ANNIVERSARY)
    minimum_commitment_months = serializers.IntegerField(required=False, default=0, min_value=0)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    tax_rate = serializers.DecimalField(max_digits=7, decimal_places=4, required=False, default=Decimal("0"), min_value=Decimal("0"))

    def validate(self, attrs):
        if ("base_price" in attrs) == ("base_price_id" in attrs):
            raise serializers.ValidationError({"base_price": ["Give base_price (an amount) or base_price_id."]})
        return attrs


class CouponSerializer(serializers.ModelSerializer):
    amount_off = MoneyField(required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=CouponKind.choices)
    duration = serializers.ChoiceField(choices=CouponDuration.choices, required=False, default=CouponDuration.ONCE)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False, allow_blank=True, default="")

    class Meta:
        model = Coupon
        fields = ["id", "code", "name", "kind", "percent_off", "amount_off", "currency", "duration", "duration_cycles",
                  "expires_at", "max_redemptions", "times_redeemed", "active", "created_at"]
        read_only_fields = ["id", "times_redeemed", "active", "created_at"]
        extra_kwargs = {"code": {"validators": []}, "name": {"required": False, "allow_blank": True}}


class RenewalSerializer(serializers.Serializer):
    subscription = serializers.IntegerField(source="subscription.pk")
    tenant = serializers.IntegerField(source="subscription.tenant_id")
    tenant_name = serializers.CharField(source="subscription.tenant.name")
    plan_name = serializers.CharField(source="subscription.plan.name")
    status = serializers.CharField(source="subscription.status")
    renews_on = serializers.DateField()
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    payment_method = serializers.SerializerMethodField()
    flags = serializers.ListField(child=serializers.CharField())
    at_risk = serializers.BooleanField()

    def get_amount(self, row) -> str:
        return format_amount(row.amount, row.currency)

    def get_payment_method(self, row) -> dict | None:
        method = row.payment_method
        if method is None:
            return None
        return {"brand": method.brand, "last4": method.last4, "exp_month": method.exp_month, "exp_year": method.exp_year}
