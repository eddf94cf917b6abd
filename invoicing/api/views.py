"""API: /api/invoices/… and /api/credit-notes/… (CONTRACT §4, §10). Thin: parse, call one service, answer."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_ops.access import APPROVE, READ, WRITE
from billing_ops.errors import ValidationFailed
from invoicing import selectors, services
from invoicing.api.serializers import (
    CreditNoteCreateSerializer,
    CreditNoteSerializer,
    InvoiceCreateSerializer,
    InvoiceListSerializer,
    InvoicePreviewSerializer,
    InvoiceSerializer,
    ReasonSerializer,
)
from invoicing.filters import CreditNoteFilter, InvoiceFilter


def _tenant(user, pk):
    from billing_ops.access import visible_tenants

    tenant = visible_tenants(user).filter(pk=pk).first()
    if tenant is None:
        raise ValidationFailed("No such tenant.", fields={"tenant": ["unknown tenant"]})
    return tenant


def _invoice_response(user, invoice, code=status.HTTP_200_OK):
    return Response(InvoiceSerializer(selectors.invoice_get(user=user, pk=invoice.pk)).data, status=code)


class InvoiceListCreateApi(generics.ListAPIView):
    capabilities = {"GET": READ, "POST": WRITE}
    serializer_class = InvoiceListSerializer
    filterset_class = InvoiceFilter

    def get_queryset(self):
        return selectors.invoice_list(user=self.request.user).order_by("-id")

    @extend_schema(request=InvoiceCreateSerializer, responses={201: InvoiceSerializer})
    def post(self, request):
        serializer = InvoiceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        invoice = services.invoice_create(
            actor=request.user, tenant=_tenant(request.user, data["tenant"]), currency=data.get("currency"),
            lines=[dict(line) for line in data["lines"]], discount=dict(data["discount"]) if data.get("discount") else None,
            discount_description=data.get("discount_description", ""), credit=data.get("credit"),
            due_date=data.get("due_date"), memo=data.get("memo", ""),
        )
        return _invoice_response(request.user, invoice, status.HTTP_201_CREATED)


class InvoiceDetailApi(generics.RetrieveAPIView):
    capabilities = {"GET": READ}
    serializer_class = InvoiceSerializer

    def get_object(self):
        return selectors.invoice_get(user=self.request.user, pk=self.kwargs["pk"])


class InvoicePreviewApi(APIView):
    """The engine's figures for a would-be invoice; nothing is saved (the new-invoice screen's live total)."""

    capabilities = {"POST": WRITE}

    @extend_schema(request=InvoicePreviewSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        from billing_ops.money import format_amount

        serializer = InvoicePreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        currency = data.get("currency") or (_tenant(request.user, data["tenant"]).currency if data.get("tenant") else "NGN")
        result = services.invoice_preview(
            currency=currency, lines=[dict(line) for line in data["lines"]],
            discount=dict(data["discount"]) if data.get("discount") else None, credit=data.get("credit"))
        def money(value):
            return format_amount(value, currency)

        return Response({
            "currency": currency, "subtotal": money(result.subtotal), "discount": money(result.discount),
            "credit_applied": money(result.credit_applied), "tax": money(result.tax), "total": money(result.total),
            "lines": [{"description": line.description, "amount": money(line.amount), "discount_share": money(line.discount_share),
                       "credit_share": money(line.credit_share), "net": money(line.net), "tax": money(line.tax),
                       "total": money(line.total)} for line in result.lines],
        })


class InvoiceSendApi(APIView):
    capabilities = {"POST": WRITE}

    @extend_schema(request=None, responses=InvoiceSerializer)
    def post(self, request, pk):
        invoice = services.invoice_send(actor=request.user, invoice=selectors.invoice_get(user=request.user, pk=pk))
        return _invoice_response(request.user, invoice)


class InvoiceVoidApi(APIView):
    capabilities = {"POST": WRITE}

    @extend_schema(request=ReasonSerializer, responses=InvoiceSerializer)
    def post(self, request, pk):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invoice = services.invoice_void(actor=request.user, invoice=invoice, reason=serializer.validated_data["reason"])
        return _invoice_response(request.user, invoice)


class InvoiceUncollectibleApi(APIView):
    capabilities = {"POST": WRITE}

    @extend_schema(request=ReasonSerializer, responses=InvoiceSerializer)
    def post(self, request, pk):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invoice = services.invoice_mark_uncollectible(actor=request.user, invoice=invoice, reason=serializer.validated_data["reason"])
        return _invoice_response(request.user, invoice)


class CreditNoteListCreateApi(generics.ListAPIView):
    capabilities = {"GET": READ, "POST": WRITE}
    serializer_class = CreditNoteSerializer
    filterset_class = CreditNoteFilter

    def get_queryset(self):
        return selectors.credit_note_list(user=self.request.user).prefetch_related("lines").order_by("-id")

    @extend_schema(request=CreditNoteCreateSerializer, responses={201: CreditNoteSerializer})
    def post(self, request):
        serializer = CreditNoteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        invoice = selectors.invoice_get(user=request.user, pk=data["invoice"])
        note = services.credit_note_create(actor=request.user, invoice=invoice, reason=data["reason"], amount=data.get("amount"),
                                           line_ids=data.get("lines") or None, resolution=data["resolution"])
        return Response(CreditNoteSerializer(selectors.credit_note_get(user=request.user, pk=note.pk)).data, status=status.HTTP_201_CREATED)


class CreditNoteDetailApi(generics.RetrieveAPIView):
    capabilities = {"GET": READ}
    serializer_class = CreditNoteSerializer

    def get_object(self):
        return selectors.credit_note_get(user=self.request.user, pk=self.kwargs["pk"])


class CreditNoteApproveApi(APIView):
    capabilities = {"POST": APPROVE}

    @extend_schema(request=None, responses=CreditNoteSerializer)
    def post(self, request, pk):
        note = services.credit_note_approve(actor=request.user, credit_note=selectors.credit_note_get(user=request.user, pk=pk))
        return Response(CreditNoteSerializer(selectors.credit_note_get(user=request.user, pk=note.pk)).data)


class CreditNoteVoidApi(APIView):
    capabilities = {"POST": WRITE}

    @extend_schema(request=ReasonSerializer, responses=CreditNoteSerializer)
    def post(self, request, pk):
        note = selectors.credit_note_get(user=request.user, pk=pk)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.credit_note_void(actor=request.user, credit_note=note, reason=serializer.validated_data["reason"])
        return Response(CreditNoteSerializer(selectors.credit_note_get(user=request.user, pk=note.pk)).data)
