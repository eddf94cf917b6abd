"""API: /api/payments/ (list, manual payment), refunds, auto-charge run, Paystack configuration."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_ops.access import APPROVE, CONFIGURE_PAYMENTS, READ, WRITE, scope_to_user
from billing_ops.errors import ApplicationError
from invoicing.models import Invoice
from payments import selectors, services
from payments.api.serializers import (
    AutoChargeSummarySerializer,
    ManualPaymentInputSerializer,
    PaymentConfigOutSerializer,
    PaymentConfigSerializer,
    PaymentSerializer,
    RefundInputSerializer,
    RefundSerializer,
    TestConnectionSerializer,
)
from payments.filters import PaymentFilter
from payments.models import PaystackConfig


class PaymentListCreateApi(generics.ListAPIView):
    capabilities = {"GET": READ, "POST": WRITE}
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    def get_queryset(self):
        return selectors.payment_list(user=self.request.user).order_by("-id")

    @extend_schema(request=ManualPaymentInputSerializer, responses={201: PaymentSerializer})
    def post(self, request):
        serializer = ManualPaymentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        invoice = get_object_or_404(scope_to_user(Invoice.objects.all(), request.user), pk=data["invoice"])
        payment = services.payment_record_manual(
            actor=request.user, invoice=invoice, amount=data["amount"], method=data["method"],
            reference=data.get("reference", ""), received_at=data.get("received_at"),
            overpayment=data.get("overpayment") or None, note=data.get("note", ""),
        )
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(exclude=True), post=extend_schema(exclude=True))
class PaymentListCreateNoSlashApi(PaymentListCreateApi):
    """``/api/payments`` (CONTRACT §4 spelling); the schema documents ``/api/payments/`` only."""


class PaymentDetailApi(generics.RetrieveAPIView):
    capabilities = {"GET": READ}
    serializer_class = PaymentSerializer

    def get_object(self):
        return selectors.payment_get(user=self.request.user, pk=self.kwargs["pk"])


class PaymentRefundApi(APIView):
    capabilities = {"POST": APPROVE}

    @extend_schema(request=RefundInputSerializer, responses={201: RefundSerializer})
    def post(self, request, pk):
        payment = selectors.payment_get(user=request.user, pk=pk)
        serializer = RefundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund = services.refund_create(actor=request.user, payment=payment, amount=serializer.validated_data.get("amount"),
                                        reason=serializer.validated_data["reason"])
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class QueueUnavailable(ApplicationError):
    status_code = 503
    default_code = "queue_unavailable"


class AutoChargeRunApi(APIView):
    """Runs the auto-charge now and answers its summary (``{"async": true}`` queues it instead: 202)."""

    capabilities = {"POST": WRITE}

    @extend_schema(request=None, responses={200: AutoChargeSummarySerializer})
    def post(self, request):
        if request.data.get("async") is True:
            from billing_ops.queue import enqueue
            from payments.tasks import run_auto_charge

            if not enqueue(run_auto_charge):
                raise QueueUnavailable("The task queue is unavailable; run it without async or retry later.")
            return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)
        summary = services.run_auto_charge(actor=request.user)
        return Response(summary)


class PaymentConfigApi(APIView):
    capabilities = {"GET": CONFIGURE_PAYMENTS, "PUT": CONFIGURE_PAYMENTS}

    @extend_schema(responses=PaymentConfigOutSerializer)
    def get(self, request):
        return Response(PaymentConfigOutSerializer(services.masked_config(PaystackConfig.load())).data)

    @extend_schema(request=PaymentConfigSerializer, responses=PaymentConfigOutSerializer)
    def put(self, request):
        serializer = PaymentConfigSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        config = services.payment_config_update(actor=request.user, **serializer.validated_data)
        return Response(PaymentConfigOutSerializer(services.masked_config(config)).data)


class PaymentConfigTestApi(APIView):
    capabilities = {"POST": CONFIGURE_PAYMENTS}

    @extend_schema(request=None, responses=TestConnectionSerializer)
    def post(self, request):
        return Response(services.payment_config_test_connection(actor=request.user))
