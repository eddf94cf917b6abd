from datetime import date, datetime
from decimal import Decimal

from rest_framework import serializers

from billing_ops.api.fields import MoneyField
from payments.models import MANUAL_METHODS, Payment, PaystackMode, Refund


class PaymentSerializer(serializers.ModelSerializer):
    amount = MoneyField(read_only=True)
    applied_amount = MoneyField(read_only=True)
    credited_amount = MoneyField(read_only=True)
    refunded_amount = MoneyField(read_only=True)
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    card = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id", "tenant", "tenant_name", "invoice", "invoice_number", "amount", "currency", "method", "status",
            "reference", "external_reference", "attempt", "reason", "card", "gateway_response", "failure_code",
            "failure_reason", "applied_amount", "credited_amount", "refunded_amount", "note", "received_at",
            "paid_at", "failed_at", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_card(self, obj) -> dict | None:
        if not obj.card_last4:
            return None
        return {"brand": obj.card_brand, "last4": obj.card_last4, "exp_month": obj.card_exp_month,
                "exp_year": obj.card_exp_year, "bank": obj.card_bank, "reusable": obj.card_reusable}


class DateOrDateTimeField(serializers.DateField):
    """An ISO date; an ISO datetime is accepted and its date kept."""

    def to_internal_value(self, value):
        if isinstance(value, str) and "T" in value:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
            except ValueError:
                self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class ManualPaymentInputSerializer(serializers.Serializer):
    invoice = serializers.IntegerField()
    amount = MoneyField(min_value=Decimal("0.01"))
    method = serializers.ChoiceField(choices=[str(m) for m in MANUAL_METHODS])
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    received_at = DateOrDateTimeField(required=False, allow_null=True)
    overpayment = serializers.ChoiceField(choices=["credit"], required=False, allow_null=True, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_received_at(self, value):
        if value and value > date.today():
            raise serializers.ValidationError("cannot be in the future")
        return value


class RefundSerializer(serializers.ModelSerializer):
    amount = MoneyField(read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "payment", "credit_note", "amount", "currency", "status", "reason", "gateway_refund_id",
                  "failure_reason", "created_at", "processed_at"]
        read_only_fields = fields


class RefundInputSerializer(serializers.Serializer):
    amount = MoneyField(min_value=Decimal("0.01"), required=False, allow_null=True)
    reason = serializers.CharField(max_length=255)


class PaymentConfigSerializer(serializers.Serializer):
    """In: mode and keys (omitted keys keep their stored value). Out: the same, keys masked."""

    mode = serializers.ChoiceField(choices=PaystackMode.choices, required=False)
    test_public_key = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    test_secret_key = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    live_public_key = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    live_secret_key = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)


class PaymentConfigOutSerializer(serializers.Serializer):
    mode = serializers.CharField()
    test_public_key = serializers.CharField()
    test_secret_key = serializers.CharField()
    live_public_key = serializers.CharField()
    live_secret_key = serializers.CharField()
    has_test_public_key = serializers.BooleanField()
    has_test_secret_key = serializers.BooleanField()
    has_live_public_key = serializers.BooleanField()
    has_live_secret_key = serializers.BooleanField()
    webhook_url = serializers.CharField()
    callback_url = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


class TestConnectionSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=["ok", "invalid_key", "unreachable", "not_configured", "error"])
    ok = serializers.BooleanField()
    message = serializers.CharField()
    mode = serializers.CharField()


class AutoChargeSummarySerializer(serializers.Serializer):
    charged = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    skipped = serializers.IntegerField()
    errors = serializers.IntegerField()
    invoices = serializers.ListField(child=serializers.DictField())
