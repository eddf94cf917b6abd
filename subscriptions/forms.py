from decimal import Decimal

from django import forms

from billing_ops.filters import DateInput
from billing_ops.money import CURRENCY_CHOICES
from subscriptions.models import (
    BillingCycle,
    Coupon,
    CouponDuration,
    CouponKind,
    Interval,
    Plan,
    Price,
    PricingModel,
)

QUANTITY = {"max_digits": 18, "decimal_places": 4, "min_value": Decimal("0")}


class CouponCodeField(forms.CharField):
    """A coupon typed by its code; cleans to the Coupon (or None)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        coupon = Coupon.objects.filter(code=value.strip().upper()).first()
        if coupon is None:
            raise forms.ValidationError(f"No coupon {value!r}.")
        return coupon


class SubscriptionCreateForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=None)
    plan = forms.ModelChoiceField(queryset=Plan.objects.filter(active=True).select_related("base_price"))
    quantity = forms.DecimalField(initial=1, **{**QUANTITY, "min_value": Decimal("0.0001")})
    start_date = forms.DateField(required=False, widget=DateInput, help_text="Default: today")
    trial_days = forms.IntegerField(required=False, min_value=0, help_text="Default: the plan's trial days")
    coupon = CouponCodeField(required=False)
    promo_code = forms.CharField(required=False)
    auto_renew = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, tenants=None, plans=None, **kwargs):
        super().__init__(*args, **kwargs)
        if tenants is not None:
            self.fields["tenant"].queryset = tenants
        else:
            del self.fields["tenant"]
        if plans is not None:
            self.fields["plan"].queryset = plans


class SubscriptionEditForm(forms.Form):
    auto_renew = forms.BooleanField(required=False)
    coupon = CouponCodeField(required=False, help_text="Leave blank for none")
    trial_end = forms.DateField(required=False, widget=DateInput, help_text="Only while trialing")
    commitment_end = forms.DateField(required=False, widget=DateInput)
    reason = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, subscription=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.subscription = subscription
        if subscription is not None and subscription.status != "trialing":
            del self.fields["trial_end"]

    def changes(self) -> dict:
        """Only the fields that differ from the subscription."""
        sub, data = self.subscription, self.cleaned_data
        changes = {}
        if data["auto_renew"] != sub.auto_renew:
            changes["auto_renew"] = data["auto_renew"]
        if (data["coupon"].pk if data["coupon"] else None) != sub.coupon_id:
            changes["coupon"] = data["coupon"]
        if "trial_end" in data and data["trial_end"] and data["trial_end"] != sub.trial_end:
            changes["trial_end"] = data["trial_end"]
        if data["commitment_end"] != sub.commitment_end:
            changes["commitment_end"] = data["commitment_end"]
        return changes


class StatusActionForm(forms.Form):
    action = forms.ChoiceField(choices=[
        ("suspended", "Suspend"), ("active", "Activate / reactivate / resume"), ("canceled", "Cancel now"),
        ("cancel_at_period_end", "Cancel at period end"), ("keep", "Withdraw scheduled cancellation"),
        ("paused", "Pause"), ("past_due", "Mark past due"), ("expired", "Expire"),
    ])
    reason = forms.CharField(max_length=255, error_messages={"required": "A reason is required."})


class ChangeForm(forms.Form):
    """A prorated change to a tenant's subscription: plan, quantities of current items (0 removes), one added price."""

    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), required=False, empty_label="(keep the current plan)")
    add_price = forms.ModelChoiceField(queryset=Price.objects.none(), required=False, empty_label="(add nothing)", label="Add an item")
    add_quantity = forms.DecimalField(required=False, initial=1, label="Quantity to add", **QUANTITY)
    change_date = forms.DateField(required=False, widget=DateInput, help_text="Default: today")
    reason = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.subscription = subscription
        plan = subscription.plan
        self.fields["plan"].queryset = Plan.objects.filter(
            active=True, currency=subscription.currency, interval=plan.interval, billing_cycle=plan.billing_cycle,
        ).exclude(pk=plan.pk)
        self.fields["add_price"].queryset = Price.objects.filter(
            active=True, currency=subscription.currency, interval=plan.interval,
        ).select_related("product")
        self.item_fields = []
        for item in subscription.items.all():
            name = f"qty_{item.price_id}"
            label = f"Quantity of {item.price}" + (" (plan)" if item.kind == "base" else " (0 removes it)")
            self.fields[name] = forms.DecimalField(label=label, initial=item.quantity.normalize(), **QUANTITY)
            self.item_fields.append((name, item))
        self.order_fields([name for name, _ in self.item_fields] + ["plan", "add_price", "add_quantity", "change_date", "reason"])

    def service_kwargs(self) -> dict:
        from subscriptions.services import ItemChange

        data = self.cleaned_data
        items = []
        for name, item in self.item_fields:
            if data.get(name) is not None and data[name] != item.quantity:
                items.append(ItemChange(item.price, data[name]))
        if data.get("add_price"):
            items = [change for change in items if change.price.pk != data["add_price"].pk]
            items.append(ItemChange(data["add_price"], data.get("add_quantity") or Decimal("1")))
        return {"plan": data.get("plan"), "items": items, "change_date": data.get("change_date")}


class PlanForm(forms.Form):
    name = forms.CharField(max_length=200)
    code = forms.SlugField(required=False, help_text="Default: from the name")
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES)
    interval = forms.ChoiceField(choices=Interval.choices, initial=Interval.MONTHLY)
    pricing_model = forms.ChoiceField(choices=PricingModel.choices, initial=PricingModel.FLAT, label="Base price model")
    unit_amount = forms.DecimalField(required=False, max_digits=18, decimal_places=6, min_value=0,
                                     label="Amount", help_text="Flat fee, per-unit or per-package price")
    tiers = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="Tiered/volume: one tier a line, 'up_to unit_price [flat_fee]'; last line 'inf 4.00'")
    package_size = forms.IntegerField(required=False, min_value=1)
    tax_rate = forms.DecimalField(required=False, max_digits=7, decimal_places=4, min_value=0, initial=0, label="Tax rate (%)")
    addon_prices = forms.ModelMultipleChoiceField(queryset=Price.objects.filter(active=True).select_related("product"), required=False)
    trial_days = forms.IntegerField(min_value=0, initial=0)
    billing_cycle = forms.ChoiceField(choices=BillingCycle.choices, initial=BillingCycle.ANNIVERSARY)
    minimum_commitment_months = forms.IntegerField(min_value=0, initial=0)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_tiers(self):
        text = (self.cleaned_data.get("tiers") or "").strip()
        tiers = []
        for number, line in enumerate(filter(None, (raw.strip() for raw in text.splitlines())), start=1):
            parts = line.split()
            if len(parts) not in (2, 3):
                raise forms.ValidationError(f"Line {number}: write 'up_to unit_price [flat_fee]'.")
            up_to = None if parts[0].lower() in ("inf", "-", "none", "∞") else parts[0]
            tiers.append({"up_to": up_to, "unit_price": parts[1], "flat_fee": parts[2] if len(parts) == 3 else "0"})
        return tiers


class CouponForm(forms.Form):
    code = forms.CharField(max_length=64)
    name = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=CouponKind.choices)
    percent_off = forms.DecimalField(required=False, max_digits=5, decimal_places=2)
    amount_off = forms.DecimalField(required=False, max_digits=16, decimal_places=2)
    currency = forms.ChoiceField(choices=[("", "—"), *CURRENCY_CHOICES], required=False, help_text="For amount-off coupons")
    duration = forms.ChoiceField(choices=CouponDuration.choices)
    duration_cycles = forms.IntegerField(required=False, min_value=1, help_text="For repeating coupons")
    expires_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    max_redemptions = forms.IntegerField(required=False, min_value=1)
