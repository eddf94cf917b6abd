"""API: usage events (machine clients, token auth), meters, and a subscription's usage so far."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_ops.access import INGEST_USAGE, READ, WRITE
from billing_ops.api.errors import error_body
from billing_ops.money import format_amount
from subscriptions import usage
from subscriptions.models import Price
from subscriptions.usage_models import Meter, MeterAggregation


class UsageEventInputSerializer(serializers.Serializer):
    """Documentation only: items are validated by ``subscriptions.usage`` (fast, per item)."""

    idempotency_key = serializers.CharField(max_length=255)
    meter = serializers.CharField(help_text="Meter code")
    subscription = serializers.IntegerField(required=False, help_text="Or tenant")
    tenant = serializers.IntegerField(required=False, help_text="When the tenant has one live subscription")
    value = serializers.DecimalField(max_digits=24, decimal_places=6, required=False, help_text="Default 1")
    properties = serializers.DictField(required=False)
    timestamp = serializers.DateTimeField(required=False, help_text="Default: now; must be in the current period")


class UsageEventBatchSerializer(serializers.Serializer):
    events = UsageEventInputSerializer(many=True)


class UsageEventsApi(APIView):
    """POST one event (an object) or a batch (``{"events": [...]}`` or a list, up to 1,000).

    A single event answers 201 (stored), 200 (duplicate key: already stored) or its error.
    A batch answers 200 with one result per item (``status`` 201/200/4xx and ``error``), so
    good items are stored even when others are refused.
    """

    capabilities = {"POST": INGEST_USAGE}

    accepts_json_list = True  # a batch may be sent as a bare list (see billing_ops.access.require_object_body)

    @extend_schema(request=UsageEventBatchSerializer, responses={200: OpenApiResponse(description="Per-item results")})
    def post(self, request):
        data = request.data
        if isinstance(data, dict) and "events" in data:
            batch, single = data["events"], False
        elif isinstance(data, list):
            batch, single = data, False
        else:
            batch, single = [data], True
        if not isinstance(batch, list) or (not single and not batch):
            return Response(error_body("invalid", "events must be a non-empty list."), status=400)
        results = usage.usage_events_record(actor=request.user, items=batch)
        if single:
            result = results[0]
            if result.error:
                return Response({"error": result.error}, status=result.status)
            return Response({**result.as_dict(), "id": result.id}, status=result.status)
        counts = {"created": 0, "duplicate": 0, "rejected": 0}
        for result in results:
            counts[result.result] += 1
        return Response(
            {
                "received": len(results),
                "created": counts["created"],
                "duplicates": counts["duplicate"],
                "rejected": counts["rejected"],
                "results": [r.as_dict() for r in results],
            },
            status=status.HTTP_200_OK,
        )


class MeterSerializer(serializers.ModelSerializer):
    price = serializers.PrimaryKeyRelatedField(queryset=Price.objects.all())
    aggregation = serializers.ChoiceField(choices=MeterAggregation.choices)

    class Meta:
        model = Meter
        fields = ["id", "code", "name", "unit", "aggregation", "property", "price", "currency", "active", "created_at"]
        read_only_fields = ["id", "currency", "created_at"]
        # Uniqueness (code, currency) is checked by the service, which knows the price's currency.
        validators = []


class MeterListCreateApi(generics.ListCreateAPIView):
    capabilities = {"GET": READ, "POST": WRITE}
    serializer_class = MeterSerializer

    def get_queryset(self):
        return usage.meter_list(user=self.request.user).order_by("-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        meter = usage.meter_create(actor=request.user, **serializer.validated_data)
        return Response(MeterSerializer(meter).data, status=status.HTTP_201_CREATED)


class MeterDetailApi(generics.RetrieveUpdateAPIView):
    capabilities = {"GET": READ, "PATCH": WRITE, "PUT": WRITE}
    serializer_class = MeterSerializer

    def get_object(self):
        return usage.meter_get(user=self.request.user, pk=self.kwargs["pk"])

    def update(self, request, *args, **kwargs):
        meter = self.get_object()
        serializer = self.get_serializer(meter, data=request.data, partial=request.method == "PATCH")
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k != "code"}
        meter = usage.meter_update(actor=request.user, meter=meter, **changes)
        return Response(MeterSerializer(meter).data)


def usage_summary_json(summary: dict) -> dict:
    currency = summary["currency"]
    preview = summary["preview"]
    return {
        "subscription": summary["subscription"].pk,
        "currency": currency,
        "period_start": summary["period_start"].isoformat(),
        "period_end": summary["period_end"].isoformat(),
        "meters": [
            {
                "meter": u.meter.code,
                "name": u.meter.name,
                "unit": u.meter.unit,
                "aggregation": u.meter.aggregation,
                "quantity": f"{u.quantity.normalize():f}",
                "events": u.events,
                "amount": format_amount(u.amount, currency),
            }
            for u in summary["usage"]
        ],
        "preview": {
            "lines": [
                {
                    "description": line.description,
                    "quantity": f"{line.quantity.normalize():f}",
                    "unit_price": format_amount(line.unit_price, currency),
                    "tax_rate": f"{line.tax_rate.normalize():f}",
                    "kind": line.kind,
                    "net": format_amount(line.net, currency),
                    "tax": format_amount(line.tax, currency),
                    "total": format_amount(line.total, currency),
                }
                for line in preview.lines
            ],
            "subtotal": format_amount(preview.subtotal, currency),
            "tax": format_amount(preview.tax, currency),
            "total": format_amount(preview.total, currency),
        },
    }


class SubscriptionUsageApi(APIView):
    """GET the current period's usage so far per meter, and the usage lines as an invoice preview."""

    capabilities = {"GET": READ}

    @extend_schema(responses={200: OpenApiResponse(description="Usage so far and invoice preview")})
    def get(self, request, pk):
        subscription = usage.subscription_for_usage(user=request.user, pk=pk)
        return Response(usage_summary_json(usage.usage_summary(subscription=subscription)))
