from rest_framework import serializers

from billing_ops.api.fields import MoneyField
from dunning.models import DunningCase, DunningPolicy, Notification, OutboxEvent, RecoveryRecord


class PlannedEventSerializer(serializers.Serializer):
    kind = serializers.CharField()
    date = serializers.DateField()
    number = serializers.IntegerField()
    label = serializers.CharField()
    template = serializers.CharField()
    channel = serializers.CharField()


class DunningCaseSerializer(serializers.ModelSerializer):
    # Plain strings (not enums) in the schema: "status" is a choice set in every app and collides.
    status = serializers.CharField(read_only=True)
    opened_by = serializers.CharField(read_only=True)
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    amount_due = MoneyField(source="invoice.amount_due", read_only=True)
    amount_at_risk = MoneyField(read_only=True)

    class Meta:
        model = DunningCase
        fields = [
            "id", "status", "step", "tenant", "tenant_name", "invoice", "invoice_number", "subscription", "amount_due",
            "amount_at_risk", "currency", "retries_done", "next_action", "next_action_at", "last_failure_reason",
            "opened_by", "failure_date", "due_date", "opened_at", "suspended_at", "closed_at", "closed_reason", "recovery_route",
        ]
        read_only_fields = fields


class RecoveryRecordSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)
    class Meta:
        model = RecoveryRecord
        fields = ["kind", "number", "outcome", "detail", "actor_label", "payment_ref", "created_at"]


class NotificationSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    class Meta:
        model = Notification
        fields = ["id", "kind", "channel", "to", "subject", "status", "essential", "attempts", "last_error", "created_at", "sent_at"]


class DunningCaseDetailSerializer(DunningCaseSerializer):
    records = RecoveryRecordSerializer(many=True, read_only=True)
    planned = serializers.SerializerMethodField()

    class Meta(DunningCaseSerializer.Meta):
        fields = [*DunningCaseSerializer.Meta.fields, "records", "planned"]
        read_only_fields = fields

    def get_planned(self, obj) -> list[dict]:
        from dunning.services import case_timeline

        return PlannedEventSerializer(case_timeline(obj).events, many=True).data


class SuspendInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class LadderStepSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=40)
    label = serializers.CharField(max_length=80, required=False, allow_blank=True)
    anchor = serializers.CharField(help_text="failure | retry | suspension")
    retry = serializers.IntegerField(required=False, allow_null=True)
    offset_days = serializers.IntegerField(default=0)
    template = serializers.CharField(max_length=32)
    channel = serializers.CharField(default="email", help_text="email | in_app | webhook")


class DunningPolicySerializer(serializers.ModelSerializer):
    retry_interval_days = serializers.ListField(child=serializers.IntegerField())
    retry_method_order = serializers.ListField(child=serializers.CharField(), help_text="default_card, other_cards in order")
    ladder = LadderStepSerializer(many=True)

    class Meta:
        model = DunningPolicy
        fields = ["id", "name", "max_retries", "retry_interval_days", "grace_period_days", "suspend_after_retries",
                  "auto_retry_enabled", "retry_method_order", "ladder", "updated_at"]
        read_only_fields = ["id", "name", "updated_at"]


class OutboxEventSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    class Meta:
        model = OutboxEvent
        fields = ["id", "tenant", "event_type", "status", "attempts", "next_attempt_at", "last_status_code", "last_error",
                  "created_at", "delivered_at"]
