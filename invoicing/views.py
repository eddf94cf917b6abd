"""Screens: invoices (list, detail, new, actions, PDF, exports) and credit notes (list, detail, new, approve)."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.db.models import Value
from django.db.models.functions import Coalesce, TruncDate
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from billing_ops.access import (
    APPROVE,
    READ,
    WRITE,
    CapabilityRequiredMixin,
    has_capability,
    visible_tenants,
)
from billing_ops.errors import ApplicationError
from billing_ops.forms import apply_application_error
from billing_ops.views import ListScreen
from invoicing import exports, selectors, services
from invoicing.filters import CreditNoteFilter, InvoiceFilter
from invoicing.forms import CreditNoteForm, InvoiceForm, LineFormSet, ReasonForm
from invoicing.models import CreditNoteStatus, InvoiceStatus

FAR_FUTURE = dt.date(9999, 12, 31)


def sortable_invoices(queryset):
    """Drafts have no issue or due date; sort them by creation / last so keyset paging has non-null keys."""
    return queryset.annotate(issued_on=Coalesce("issue_date", TruncDate("created_at")), due_on=Coalesce("due_date", Value(FAR_FUTURE)))


class InvoiceListView(ListScreen):
    template_name = "invoicing/invoice_list.html"
    filterset_class = InvoiceFilter
    sort_options = {
        "created": ("Created", "created_at"),
        "issued": ("Issued", "issued_on"),
        "due": ("Due", "due_on"),
        "total": ("Total", "total"),
        "amount_due": ("Amount due", "amount_due"),
        "status": ("Status", "status"),
    }
    default_sort = "-created_at"

    def get_queryset(self):
        return sortable_invoices(selectors.invoice_list(user=self.request.user))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        for key in ("cursor", "sort"):
            query.pop(key, None)
        context.update(export_query=query.urlencode(), today=timezone.localdate())
        return context


class InvoiceDetailView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ}
    template_name = "invoicing/invoice_detail.html"

    def get_context_data(self, **kwargs):
        from invoicing.panels import invoice_panels
        from invoicing.presentation import buyer_of, period_label

        context = super().get_context_data(**kwargs)
        invoice = selectors.invoice_get(user=self.request.user, pk=self.kwargs["pk"])
        can_write = has_capability(self.request.user, WRITE)
        context.update(
            invoice=invoice, lines=list(invoice.lines.all()), credit_notes=list(invoice.credit_notes.all()),
            buyer=buyer_of(invoice), period=period_label(invoice), history=selectors.invoice_history(invoice=invoice),
            panels=invoice_panels(invoice=invoice, user=self.request.user), can_write=can_write,
            can_send=can_write and invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE, InvoiceStatus.PAID),
            can_void=can_write and invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE),
            can_write_off=can_write and invoice.status in (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE),
            can_credit=can_write and invoice.status in services.CREDITABLE_INVOICE_STATUSES,
        )
        return context


class InvoiceCreateView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "invoicing/invoice_form.html"

    def forms(self, data=None):
        tenants = visible_tenants(self.request.user).order_by("name")
        initial = {"tenant": self.request.GET.get("tenant")} if data is None else None
        return InvoiceForm(data, tenants=tenants, initial=initial), LineFormSet(data, prefix="lines")

    def get(self, request):
        form, lines = self.forms()
        return self.render_to_response(self.get_context_data(form=form, lines=lines))

    def post(self, request):
        form, lines = self.forms(request.POST)
        if form.is_valid() and lines.is_valid():
            data = form.cleaned_data
            try:
                invoice = services.invoice_create(
                    actor=request.user, tenant=data["tenant"], currency=data["currency"] or None,
                    lines=[dict(line) for line in lines.cleaned_data if line], discount=form.discount(),
                    discount_description=data["discount_description"], credit=data["credit"], due_date=data["due_date"], memo=data["memo"],
                )
            except ApplicationError as exc:
                apply_application_error(form, exc)
            else:
                if request.POST.get("then") == "send":
                    try:
                        invoice = services.invoice_send(actor=request.user, invoice=invoice)
                        messages.success(request, f"Invoice {invoice.number} issued and sent to {invoice.tenant.billing_email}.")
                    except ApplicationError as exc:
                        messages.error(request, exc.message)
                else:
                    messages.success(request, "Draft invoice saved.")
                return redirect("invoicing:detail", pk=invoice.pk)
        return self.render_to_response(self.get_context_data(form=form, lines=lines), status=200)


class InvoiceActionView(CapabilityRequiredMixin, View):
    """POST-only actions from the detail page; a refusal is a flash message and nothing changes."""

    capabilities = {"POST": WRITE}
    needs_reason = False

    def act(self, request, invoice, reason):
        raise NotImplementedError

    def post(self, request, pk):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        reason = ""
        if self.needs_reason:
            form = ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Give a reason.")
                return redirect("invoicing:detail", pk=pk)
            reason = form.cleaned_data["reason"]
        try:
            message = self.act(request, invoice, reason)
            messages.success(request, message)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("invoicing:detail", pk=pk)


class InvoiceSendView(InvoiceActionView):
    def act(self, request, invoice, reason):
        invoice = services.invoice_send(actor=request.user, invoice=invoice)
        return f"Invoice {invoice.number} sent to {invoice.tenant.billing_email}."


class InvoiceVoidView(InvoiceActionView):
    needs_reason = True

    def act(self, request, invoice, reason):
        services.invoice_void(actor=request.user, invoice=invoice, reason=reason)
        return "Invoice voided."


class InvoiceUncollectibleView(InvoiceActionView):
    needs_reason = True

    def act(self, request, invoice, reason):
        services.invoice_mark_uncollectible(actor=request.user, invoice=invoice, reason=reason)
        return "Invoice marked uncollectible."


class InvoicePdfView(CapabilityRequiredMixin, View):
    capabilities = {"GET": READ}

    def get(self, request, pk):
        from invoicing.pdf import invoice_pdf

        invoice = selectors.invoice_get(user=request.user, pk=pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        name = invoice.number or f"draft-{invoice.pk}"
        disposition = "attachment" if request.GET.get("download") else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{name}.pdf"'
        return response


class FilteredInvoicesMixin:
    def filtered_invoices(self):
        queryset = selectors.invoice_list(user=self.request.user)
        filterset = InvoiceFilter(self.request.GET or None, queryset=queryset, request=self.request)
        if filterset.is_bound and filterset.is_valid():
            return filterset.qs, filterset
        return queryset, filterset


class InvoiceExportCsvView(FilteredInvoicesMixin, CapabilityRequiredMixin, View):
    capabilities = {"GET": READ}

    def get(self, request):
        queryset, _ = self.filtered_invoices()
        return exports.csv_response(queryset)


class InvoiceExportPdfView(FilteredInvoicesMixin, CapabilityRequiredMixin, View):
    capabilities = {"GET": READ}

    def get(self, request):
        queryset, filterset = self.filtered_invoices()
        return exports.register_pdf_response(queryset, filterset=filterset)


# --- credit notes -----------------------------------------------------------------------------

class CreditNoteListView(ListScreen):
    template_name = "invoicing/credit_note_list.html"
    filterset_class = CreditNoteFilter
    sort_options = {"created": ("Created", "created_at"), "total": ("Total", "total"), "status": ("Status", "status")}
    default_sort = "-created_at"

    def get_queryset(self):
        return selectors.credit_note_list(user=self.request.user)


class CreditNoteDetailView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ}
    template_name = "invoicing/credit_note_detail.html"

    def get_context_data(self, **kwargs):
        from accounts.selectors import object_history

        context = super().get_context_data(**kwargs)
        note = selectors.credit_note_get(user=self.request.user, pk=self.kwargs["pk"])
        draft = note.status == CreditNoteStatus.DRAFT
        context.update(
            note=note, lines=list(note.lines.all()), history=object_history(obj=note),
            can_approve=draft and has_capability(self.request.user, APPROVE),
            can_void=draft and has_capability(self.request.user, WRITE),
        )
        return context


class CreditNoteCreateView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "invoicing/credit_note_form.html"

    def get_invoice(self):
        pk = self.request.POST.get("invoice") or self.request.GET.get("invoice")
        if pk and str(pk).isdigit():
            return selectors.invoice_get(user=self.request.user, pk=int(pk))
        return None

    def get(self, request):
        invoice = self.get_invoice()
        form = CreditNoteForm(invoice=invoice) if invoice else None
        return self.render_to_response(self.get_context_data(
            invoice=invoice, form=form, invoices=None if invoice else selectors.creditable_invoices(user=request.user)))

    def post(self, request):
        invoice = self.get_invoice()
        if invoice is None:
            messages.error(request, "Choose the invoice to credit.")
            return redirect("invoicing:credit-note-create")
        form = CreditNoteForm(request.POST, invoice=invoice)
        if form.is_valid():
            data = form.cleaned_data
            try:
                note = services.credit_note_create(
                    actor=request.user, invoice=invoice, reason=data["reason"], resolution=data["resolution"],
                    amount=data["amount"] if data["mode"] == "amount" else None,
                    line_ids=[int(i) for i in data["lines"]] if data["mode"] == "lines" else None,
                )
            except ApplicationError as exc:
                apply_application_error(form, exc)
            else:
                messages.success(request, "Credit note drafted; it takes effect once approved.")
                return redirect("invoicing:credit-note-detail", pk=note.pk)
        return self.render_to_response(self.get_context_data(invoice=invoice, form=form, invoices=None))


class CreditNoteApproveView(CapabilityRequiredMixin, View):
    capabilities = {"POST": APPROVE}

    def post(self, request, pk):
        note = selectors.credit_note_get(user=request.user, pk=pk)
        try:
            note = services.credit_note_approve(actor=request.user, credit_note=note)
            messages.success(request, f"Credit note {note.number} approved.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("invoicing:credit-note-detail", pk=pk)


class CreditNoteVoidView(CapabilityRequiredMixin, View):
    capabilities = {"POST": WRITE}

    def post(self, request, pk):
        note = selectors.credit_note_get(user=request.user, pk=pk)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give a reason.")
            return redirect("invoicing:credit-note-detail", pk=pk)
        try:
            services.credit_note_void(actor=request.user, credit_note=note, reason=form.cleaned_data["reason"])
            messages.success(request, "Credit note voided.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("invoicing:credit-note-detail", pk=pk)


class CreditNotePdfView(CapabilityRequiredMixin, View):
    capabilities = {"GET": READ}

    def get(self, request, pk):
        from invoicing.pdf import credit_note_pdf

        note = selectors.credit_note_get(user=request.user, pk=pk)
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{note.number or f"credit-note-draft-{note.pk}"}.pdf"'
        return response
