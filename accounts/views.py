"""Screens: tenants (clients), the audit log, login and logout."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from accounts import selectors, services
from accounts.filters import AuditEntryFilter, TenantFilter
from accounts.forms import CreditForm, TenantForm
from billing_ops.access import PUBLIC, READ, VIEW_AUDIT, WRITE, CapabilityRequiredMixin, has_capability
from billing_ops.errors import ApplicationError
from billing_ops.forms import apply_application_error
from billing_ops.views import ListScreen


class LoginView(auth_views.LoginView):
    capabilities = {"GET": PUBLIC, "POST": PUBLIC}
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    # GET shows a confirmation page; POST signs out (Django requires POST for logout).
    capabilities = {"GET": PUBLIC, "POST": PUBLIC}
    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        from django.shortcuts import render

        return render(request, "registration/logout_confirm.html")


class TenantListView(ListScreen):
    template_name = "accounts/tenant_list.html"
    filterset_class = TenantFilter
    sort_options = {
        "name": ("Name", "name"),
        "created": ("Created", "created_at"),
        "credit": ("Credit", "credit_balance"),
        "status": ("Status", "status"),
    }
    default_sort = "name"

    def get_queryset(self):
        return selectors.tenant_list(user=self.request.user)


class TenantDetailView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ}
    template_name = "accounts/tenant_detail.html"

    def get_context_data(self, **kwargs):
        from billing_ops.tenant_panels import tenant_panels

        context = super().get_context_data(**kwargs)
        tenant = selectors.tenant_get(user=self.request.user, pk=self.kwargs["pk"])
        context.update(
            tenant=tenant,
            history=selectors.tenant_audit_trail(tenant=tenant),
            credit_entries=list(tenant.credit_entries.all()[:20]),
            credit_form=CreditForm(),
            can_write=has_capability(self.request.user, WRITE),
            panels=tenant_panels(tenant=tenant, user=self.request.user),
            onboarding_staff=selectors.onboarding_staff(),
            assigned_staff=selectors.tenant_onboarding_staff(tenant=tenant),
        )
        return context


class TenantCreateView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "accounts/tenant_form.html"
    form_class = TenantForm

    def form_valid(self, form):
        try:
            tenant = services.tenant_create(actor=self.request.user, **form.service_kwargs())
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Tenant {tenant.name} created.")
        return redirect("accounts:tenant-detail", pk=tenant.pk)


class TenantEditView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "accounts/tenant_form.html"
    form_class = TenantForm

    def get_tenant(self):
        if not hasattr(self, "_tenant"):
            self._tenant = selectors.tenant_get(user=self.request.user, pk=self.kwargs["pk"])
        return self._tenant

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = self.get_tenant()
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tenant"] = self.get_tenant()
        return context

    def form_valid(self, form):
        tenant = self.get_tenant()
        tenant.refresh_from_db()  # ModelForm validation mutated the instance; the service applies changes
        try:
            services.tenant_update(actor=self.request.user, tenant=tenant, **form.service_kwargs())
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, "Tenant saved.")
        return redirect("accounts:tenant-detail", pk=tenant.pk)


class TenantCreditView(CapabilityRequiredMixin, FormView):
    capabilities = {"POST": WRITE}
    form_class = CreditForm
    http_method_names = ["post"]

    def form_valid(self, form):
        tenant = selectors.tenant_get(user=self.request.user, pk=self.kwargs["pk"])
        try:
            services.tenant_credit_adjust(
                actor=self.request.user, tenant=tenant, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"]
            )
            messages.success(self.request, "Account credit added.")
        except ApplicationError as exc:
            messages.error(self.request, exc.message)
        return redirect("accounts:tenant-detail", pk=tenant.pk)

    def form_invalid(self, form):
        messages.error(self.request, "Enter a positive amount and a reason.")
        return redirect("accounts:tenant-detail", pk=self.kwargs["pk"])


class TenantAssignView(CapabilityRequiredMixin, View):
    """Give or take back an onboarding user's access to this tenant."""

    capabilities = {"POST": WRITE}

    def post(self, request, pk):
        tenant = selectors.tenant_get(user=request.user, pk=pk)
        user = selectors.onboarding_staff().filter(pk=request.POST.get("user")).first()
        if user is None:
            messages.error(request, "Choose an onboarding staff member.")
        else:
            assigned = request.POST.get("assigned", "1") == "1"
            services.tenant_assign_onboarding(tenant=tenant, user=user, actor=request.user, assigned=assigned)
            messages.success(request, f"{user.username} {'now looks after' if assigned else 'no longer looks after'} {tenant.name}.")
        return redirect("accounts:tenant-detail", pk=tenant.pk)


class AuditLogView(ListScreen):
    capabilities = {"GET": VIEW_AUDIT}
    template_name = "accounts/audit_log.html"
    filterset_class = AuditEntryFilter
    sort_options = {"time": ("Time", "created_at")}
    default_sort = "-created_at"

    def get_queryset(self):
        return selectors.audit_entry_list()


def home(request):
    return redirect(reverse("billing:dashboard"))
