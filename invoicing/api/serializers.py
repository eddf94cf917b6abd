from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from billing_ops.api.fields import MoneyField
from billing_ops.money import CURRENCY_CHOICES
from invoicing.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteStatus,
    CreditResolution,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)


class PlainDecimalField(serializers.DecimalField):
    """A decimal string without trailing zeros ("7.5", "1"); floats are 400 like money."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 6)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("invalid")
        return super().to_internal_value(data)

    def to_representation(self, value):
        return f"{Decimal(value).normalize():f}"


class UnitPriceField(PlainDecimalField):
    """At least two places ("29.00"), more when the price is finer ("0.0035")."""

    def to_representation(self, value):
        value = Decimal(value).normalize()
        return f"{value:f}" if -value.as_tuple().exponent > 2 else f"{value.quantize(Decimal('0.01')):f}"


def status_field(choices) -> serializers.CharField:
    # A plain string rather than an enum: every app has a "status", and one enum name per field
    # name in the schema would collide between apps.
    return serializers.CharField(read_only=True, help_text="One of: " + ", ".join(value for value, _ in choices))


class InvoiceLineSerializer(serializers.ModelSerializer):
    kind = status_field(LineKind.choices)
    quantity = PlainDecimalField()
    unit_price = UnitPriceField()
    tax_rate = PlainDecimalField()
    amount = MoneyField()
    discount_share = MoneyField()
    credit_share = MoneyField()
    net = MoneyField()
    tax = MoneyField()
    total = MoneyField()

    class Meta:
        model = InvoiceLine
        fields = ["id", "position", "kind", "description", "quantity", "unit_price", "tax_rate", "amount", "discount_share",
                  "credit_share", "net", "tax", "total", "period_start", "period_end"]


MONEY = ["subtotal", "discount", "credit_applied", "tax", "total", "amount_paid", "amount_credited", "amount_refunded", "amount_due"]


class InvoiceSerializer(serializers.ModelSerializer):
    status = status_field(InvoiceStatus.choices)
    currency = serializers.CharField(read_only=True)
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)
    lines = InvoiceLineSerializer(many=True, read_only=True)
    subtotal = MoneyField()
    discount = MoneyField()
    credit_applied = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    amount_paid = MoneyField()
    amount_credited = MoneyField()
    amount_refunded = MoneyField()
    amount_due = MoneyField()

    class Meta:
        model = Invoice
        fields = ["id", "number", "status", "tenant", "tenant_name", "subscription", "currency", "period_start", "period_end",
                  "issue_date", "due_date", *MONEY, "discount_description", "memo", "status_reason", "seller_details",
                  "buyer_details", "issued_at", "paid_at", "voided_at", "created_at", "updated_at", "lines"]
        read_only_fields = fields


class InvoiceListSerializer(InvoiceSerializer):
    class Meta(InvoiceSerializer.Meta):
        fields = [f for f in InvoiceSerializer.Meta.fields if f not in ("lines", "seller_details", "buyer_details")]
        read_only_fields = fields


class LineInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=255)
    quantity = PlainDecimalField(min_value=Decimal(0), required=False, default=Decimal(1), decimal_places=4)
    unit_price = PlainDecimalField(min_value=Decimal(0))
    tax_rate = PlainDecimalField(min_value=Decimal(0), max_value=Decimal(100), required=False, default=Decimal(0))
    kind = serializers.CharField(required=False, default="manual", help_text="manual, usage, plan or add_on")

    def validate_kind(self, value):
        if value not in ("manual", "usage", "plan", "add_on"):
            raise serializers.ValidationError("Use manual, usage, plan or add_on.")
        return value


class DiscountInputSerializer(serializers.Serializer):
    percent = PlainDecimalField(min_value=Decimal(0), max_value=Decimal(100), required=False)
    amount = MoneyField(min_value=Decimal(0), required=False)

    def validate(self, attrs):
        if ("percent" in attrs) == ("amount" in attrs):
            raise serializers.ValidationError("Give exactly one of percent or amount.")
        return attrs


class InvoiceCreateSerializer(serializers.Serializer):
    tenant = serializers.IntegerField()
    currency = serializers.CharField(required=False, help_text="ISO code; defaults to the tenant's currency")

    def validate_currency(self, value):
        if value not in dict(CURRENCY_CHOICES):
            raise serializers.ValidationError(f"Use one of {', '.join(dict(CURRENCY_CHOICES))}.")
        return value
    due_date = serializers.DateField(required=False, allow_null=True)
    memo = serializers.CharField(required=False, allow_blank=True, default="")
    lines = LineInputSerializer(many=True, allow_empty=False)
    discount = DiscountInputSerializer(required=False, allow_null=True)
    discount_description = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    credit = MoneyField(required=False, allow_null=True, min_value=Decimal(0))


class InvoicePreviewSerializer(InvoiceCreateSerializer):
    tenant = serializers.IntegerField(required=False, allow_null=True)
    lines = LineInputSerializer(many=True, allow_empty=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class CreditNoteLineSerializer(serializers.ModelSerializer):
    tax_rate = PlainDecimalField()
    net = MoneyField()
    tax = MoneyField()
    total = MoneyField()

    class Meta:
        model = CreditNoteLine
        fields = ["id", "invoice_line", "description", "tax_rate", "net", "tax", "total"]


class CreditNoteSerializer(serializers.ModelSerializer):
    status = status_field(CreditNoteStatus.choices)
    resolution = status_field(CreditResolution.choices)
    currency = serializers.CharField(read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)
    lines = CreditNoteLineSerializer(many=True, read_only=True)
    net = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    amount = MoneyField(source="total")
    applied_to_due = MoneyField()
    applied_to_credit = MoneyField()
    refund_amount = MoneyField()
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", default=None, read_only=True)

    class Meta:
        model = CreditNote
        fields = ["id", "number", "status", "invoice", "invoice_number", "tenant", "tenant_name", "currency", "reason", "resolution",
                  "amount", "net", "tax", "total", "applied_to_due", "applied_to_credit", "refund_amount", "refund_status",
                  "created_by", "approved_by", "approved_at", "applied_at", "voided_at", "created_at", "lines"]
        read_only_fields = fields


class CreditNoteCreateSerializer(serializers.Serializer):
    invoice = serializers.IntegerField()
    amount = MoneyField(required=False, allow_null=True, min_value=Decimal("0.01"))
    lines = serializers.ListField(child=serializers.IntegerField(), required=False, allow_empty=True)
    reason = serializers.CharField(max_length=255)
    resolution = serializers.CharField(required=False, default=CreditResolution.REDUCE_DUE, help_text="reduce_due, account_credit or refund")

    def validate_resolution(self, value):
        if value not in CreditResolution.values:
            raise serializers.ValidationError(f"Use one of {', '.join(CreditResolution.values)}.")
        return value

    def validate(self, attrs):
        if (attrs.get("amount") is None) == (not attrs.get("lines")):
            raise serializers.ValidationError({"amount": ["Give either an amount or the invoice lines to credit."]})
        return attrs
