from decimal import Decimal

from rest_framework import serializers

from accounts.models import Tenant
from billing_ops.api.fields import MoneyField
from billing_ops.money import CURRENCY_CHOICES


class TenantSerializer(serializers.ModelSerializer):
    credit_balance = MoneyField(read_only=True)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    deployment_webhook_secret = serializers.CharField(write_only=True, required=False, allow_blank=True)
    has_deployment_webhook_secret = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = [
            "id", "name", "legal_name", "tax_id", "tax_id_type", "billing_email", "address", "country", "currency",
            "status", "suspended_at", "suspension_reason", "credit_balance", "payment_terms_days",
            "deployment_webhook_url", "deployment_webhook_secret", "has_deployment_webhook_secret", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "status", "suspended_at", "suspension_reason", "credit_balance", "created_at", "updated_at"]

    def get_has_deployment_webhook_secret(self, obj) -> bool:
        return bool(obj.deployment_webhook_secret)


class CreditInputSerializer(serializers.Serializer):
    amount = MoneyField(min_value=Decimal("0.01"))
    reason = serializers.CharField(max_length=255)
