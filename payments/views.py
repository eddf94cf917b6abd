"""Screens: payments list/detail, manual payment, refunds, webhook review list, Paystack configuration."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from accounts.selectors import object_history
from billing_ops.access import (
    APPROVE,
    CONFIGURE_PAYMENTS,
    READ,
    WRITE,
    CapabilityRequiredMixin,
    has_capability,
    scope_to_user,
)
from billing_ops.errors import ApplicationError
from billing_ops.forms import apply_application_error
from billing_ops.views import ListScreen
from invoicing.models import Invoice
from payments import selectors, services
from payments.filters import PaymentFilter, WebhookEventFilter
from payments.forms import (
    ManualPaymentForm,
    PaystackConfigForm,
    RefundForm,
    ResolveForm,
)
from payments.models import PaymentMethod, PaystackConfig, WebhookEvent


def invoice_url(invoice_id) -> str:
    try:
        return reverse("invoicing:detail", kwargs={"pk": invoice_id})
    except NoReverseMatch:
        return reverse("payments:list") + f"?invoice={invoice_id}"


def _visible_invoice(user, pk) -> Invoice:
    from invoicing.selectors import invoice_list  # the one rule for which invoices a user may see

    return get_object_or_404(invoice_list(user=user), pk=pk)


class PaymentListView(ListScreen):
    template_name = "payments/payment_list.html"
    filterset_class = PaymentFilter
    sort_options = {
        "created": ("Created", "created_at"),
        "amount": ("Amount", "amount"),
        "status": ("Status", "status"),
    }
    default_sort = "-created_at"

    def get_queryset(self):
        return selectors.payment_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        review_items = list(selectors.webhook_review_list()[:6])
        context.update(
            review_items=review_items[:5],
            review_count=selectors.webhook_review_count() if len(review_items) > 5 else len(review_items),
            last_run=selectors.last_auto_charge_run(),
        )
        return context


class PaymentDetailView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ}
    template_name = "payments/payment_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        payment = selectors.payment_get(user=self.request.user, pk=self.kwargs["pk"])
        context.update(
            payment=payment,
            refunds=selectors.payment_refunds(payment=payment),
            refundable=services.refundable_left(payment),
            refund_form=RefundForm(),
            can_approve=has_capability(self.request.user, APPROVE),
            history=object_history(obj=payment),
            webhook_events=list(payment.webhook_events.order_by("-received_at")[:20]),
            invoice_url=invoice_url(payment.invoice_id),
        )
        return context


class PaymentRefundView(CapabilityRequiredMixin, View):
    capabilities = {"POST": APPROVE}

    def post(self, request, pk):
        payment = selectors.payment_get(user=request.user, pk=pk)
        form = RefundForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give a reason and, for a partial refund, a positive amount.")
        else:
            try:
                refund = services.refund_create(actor=request.user, payment=payment, amount=form.cleaned_data["amount"],
                                                reason=form.cleaned_data["reason"])
                messages.success(request, f"Refund of {refund.amount} {refund.currency} requested; Paystack will confirm it.")
            except ApplicationError as exc:
                messages.error(request, exc.message)
        return redirect("payments:detail", pk=payment.pk)


class ManualPaymentView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "payments/payment_form.html"
    form_class = ManualPaymentForm

    def get_invoice(self):
        if not hasattr(self, "_invoice"):
            pk = self.request.POST.get("invoice") or self.request.GET.get("invoice")
            self._invoice = _visible_invoice(self.request.user, pk) if str(pk or "").isdigit() else None
        return self._invoice

    def get_initial(self):
        initial = super().get_initial()
        invoice = self.get_invoice()
        if invoice is not None:
            initial.update(invoice=invoice.pk, amount=invoice.amount_due)
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["invoice"] = self.get_invoice()
        return context

    def form_valid(self, form):
        invoice = self.get_invoice()
        if invoice is None:
            form.add_error(None, "Choose an invoice to pay (open the form from the invoice page).")
            return self.form_invalid(form)
        data = form.cleaned_data
        try:
            payment = services.payment_record_manual(
                actor=self.request.user, invoice=invoice, amount=data["amount"], method=data["method"],
                reference=data["reference"], received_at=data["received_at"], note=data["note"],
                overpayment=services.OVERPAYMENT_CREDIT if data["overpayment_to_credit"] else None,
            )
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Payment {payment.reference} recorded on {invoice}.")
        return redirect("payments:detail", pk=payment.pk)


class ChargeInvoiceView(CapabilityRequiredMixin, View):
    """Charge an invoice to the tenant's default card now (from the invoice page)."""

    capabilities = {"POST": WRITE}

    def post(self, request, invoice_pk):
        invoice = _visible_invoice(request.user, invoice_pk)
        try:
            outcome = services.charge_invoice(actor=request.user, invoice=invoice, reason="manual")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(invoice_url(invoice.pk))
        text = {
            "succeeded": "Charged successfully.",
            "failed": f"The charge failed: {outcome.payment.failure_reason if outcome.payment else outcome.reason}.",
            "pending": "The charge is pending; Paystack will confirm it.",
            "skipped": f"Nothing charged ({outcome.reason.replace('_', ' ')}).",
        }[outcome.status]
        (messages.success if outcome.status == "succeeded" else messages.warning)(request, text)
        return redirect(invoice_url(invoice.pk))


class AutoChargeRunView(CapabilityRequiredMixin, View):
    """Dashboard button: start an auto-charge run in the worker."""

    capabilities = {"POST": WRITE}

    def post(self, request):
        from billing_ops.queue import enqueue
        from payments.tasks import run_auto_charge

        if enqueue(run_auto_charge):
            messages.success(request, "Auto-charge run started; refresh the dashboard for its summary.")
        else:  # broker down: say so rather than fail the page (the hourly run still happens)
            messages.error(request, "Could not start the auto-charge run (is the worker's broker reachable?).")
        return redirect(request.POST.get("next") or reverse("billing:dashboard"))


class WebhookReviewView(ListScreen):
    template_name = "payments/webhook_review.html"
    filterset_class = WebhookEventFilter
    sort_options = {"received": ("Received", "received_at")}
    default_sort = "-received_at"

    def get_queryset(self):
        return selectors.webhook_review_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(resolve_form=ResolveForm())
        return context


class WebhookResolveView(CapabilityRequiredMixin, View):
    capabilities = {"POST": WRITE}

    def post(self, request, pk):
        event = get_object_or_404(WebhookEvent, pk=pk)
        form = ResolveForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        try:
            services.webhook_resolve(actor=request.user, event=event, note=note)
            messages.success(request, "Marked as resolved.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("payments:review")


class PaymentMethodDefaultView(CapabilityRequiredMixin, View):
    capabilities = {"POST": WRITE}

    def post(self, request, pk):
        method = get_object_or_404(scope_to_user(PaymentMethod.objects.all(), request.user), pk=pk)
        services.payment_method_set_default(actor=request.user, payment_method=method)
        messages.success(request, f"{method} is now the default card.")
        return redirect("accounts:tenant-detail", pk=method.tenant_id)


class PaymentConfigView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": CONFIGURE_PAYMENTS, "POST": CONFIGURE_PAYMENTS}
    template_name = "payments/payment_config.html"
    form_class = PaystackConfigForm

    def get_initial(self):
        return {"mode": PaystackConfig.load().mode}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["config"] = services.masked_config(PaystackConfig.load())
        context["test_result"] = self.request.session.pop("paystack_test_result", None)
        return context

    def form_valid(self, form):
        try:
            services.payment_config_update(actor=self.request.user, **form.service_kwargs())
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, "Paystack configuration saved.")
        return redirect("payments:config")


class PaymentConfigTestView(CapabilityRequiredMixin, View):
    capabilities = {"POST": CONFIGURE_PAYMENTS}

    def post(self, request):
        result = services.payment_config_test_connection(actor=request.user)
        request.session["paystack_test_result"] = result
        (messages.success if result["ok"] else messages.error)(request, result["message"])
        return redirect("payments:config")
