"""API: GET /api/dunning/, GET /api/dunning/<id>/, POST …/remind, POST …/suspend, GET|PUT /api/dunning/policy."""
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_ops.access import READ, WRITE
from dunning import outbox, selectors, services
from dunning.api.serializers import (
    DunningCaseDetailSerializer,
    DunningCaseSerializer,
    DunningPolicySerializer,
    OutboxEventSerializer,
    SuspendInputSerializer,
)
from dunning.filters import DunningCaseFilter


class DunningCaseListApi(generics.ListAPIView):
    capabilities = {"GET": READ}
    serializer_class = DunningCaseSerializer
    filterset_class = DunningCaseFilter

    def get_queryset(self):
        return selectors.case_list(user=self.request.user).order_by("-id")


class DunningCaseDetailApi(generics.RetrieveAPIView):
    capabilities = {"GET": READ}
    serializer_class = DunningCaseDetailSerializer

    def get_object(self):
        return selectors.case_get(user=self.request.user, pk=self.kwargs["pk"])


class DunningCaseRemindApi(APIView):
    capabilities = {"POST": WRITE}

    @extend_schema(request=None, responses=DunningCaseSerializer)
    def post(self, request, pk):
        case = services.case_remind(actor=request.user, case=selectors.case_get(user=request.user, pk=pk))
        return Response(DunningCaseSerializer(selectors.case_get(user=request.user, pk=case.pk)).data)


class DunningCaseSuspendApi(APIView):
    capabilities = {"POST": WRITE}

    @extend_schema(request=SuspendInputSerializer, responses=DunningCaseSerializer)
    def post(self, request, pk):
        case = selectors.case_get(user=request.user, pk=pk)
        serializer = SuspendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.case_suspend(actor=request.user, case=case, reason=serializer.validated_data["reason"])
        return Response(DunningCaseSerializer(selectors.case_get(user=request.user, pk=case.pk)).data)


class DunningPolicyApi(APIView):
    capabilities = {"GET": READ, "PUT": WRITE}

    @extend_schema(responses=DunningPolicySerializer)
    def get(self, request):
        return Response(DunningPolicySerializer(services.policy_get()).data)

    @extend_schema(request=DunningPolicySerializer, responses=DunningPolicySerializer)
    def put(self, request):
        serializer = DunningPolicySerializer(services.policy_get(), data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["ladder"] = [dict(step) for step in data.get("ladder", [])]
        policy = services.policy_update(actor=request.user, **data)
        return Response(DunningPolicySerializer(policy).data)


class OutboxResendApi(APIView):
    capabilities = {"POST": WRITE}

    @extend_schema(request=None, responses=OutboxEventSerializer)
    def post(self, request, pk):
        event = outbox.outbox_resend(actor=request.user, event=selectors.outbox_get(user=request.user, pk=pk))
        return Response(OutboxEventSerializer(event).data)
