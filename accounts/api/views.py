"""API: /api/tenants/ (CRUD without delete: tenants are closed, never removed) and account credit."""
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.serializers import CreditInputSerializer, TenantSerializer
from accounts.filters import TenantFilter
from billing_ops.access import READ, WRITE


class TenantListCreateApi(generics.ListCreateAPIView):
    capabilities = {"GET": READ, "POST": WRITE}
    serializer_class = TenantSerializer
    filterset_class = TenantFilter

    def get_queryset(self):
        return selectors.tenant_list(user=self.request.user).order_by("-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = services.tenant_create(actor=request.user, **serializer.validated_data)
        return Response(TenantSerializer(tenant).data, status=status.HTTP_201_CREATED)


class TenantDetailApi(generics.RetrieveUpdateAPIView):
    capabilities = {"GET": READ, "PATCH": WRITE, "PUT": WRITE}
    serializer_class = TenantSerializer

    def get_object(self):
        return selectors.tenant_get(user=self.request.user, pk=self.kwargs["pk"])

    def update(self, request, *args, **kwargs):
        tenant = self.get_object()
        serializer = self.get_serializer(tenant, data=request.data, partial=kwargs.get("partial", request.method == "PATCH"))
        serializer.is_valid(raise_exception=True)
        tenant = services.tenant_update(actor=request.user, tenant=tenant, **serializer.validated_data)
        return Response(TenantSerializer(tenant).data)


class TenantCreditApi(APIView):
    capabilities = {"POST": WRITE}

    @extend_schema(request=CreditInputSerializer, responses=TenantSerializer)
    def post(self, request, pk):
        tenant = selectors.tenant_get(user=request.user, pk=pk)
        serializer = CreditInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.tenant_credit_adjust(actor=request.user, tenant=tenant, **serializer.validated_data)
        tenant.refresh_from_db()
        return Response(TenantSerializer(tenant).data, status=status.HTTP_201_CREATED)
