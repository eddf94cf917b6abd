"""Screens: subscriptions (list, detail, new, edit, status action), renewals, a tenant's subscription
with prorated changes (preview, then apply), and the catalogue (plans, coupons)."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from accounts.selectors import tenant_get
from billing_ops.access import MANAGE_SUBSCRIPTION, READ, WRITE, CapabilityRequiredMixin, has_capability, visible_tenants
from billing_ops.errors import ApplicationError
from billing_ops.forms import apply_application_error
from billing_ops.views import ListScreen
from subscriptions import selectors, services
from subscriptions.filters import CouponFilter, PlanFilter, SubscriptionFilter
from subscriptions.forms import (
    ChangeForm,
    CouponForm,
    PlanForm,
    StatusActionForm,
    SubscriptionCreateForm,
    SubscriptionEditForm,
)


class SubscriptionListView(ListScreen):
    template_name = "subscriptions/subscription_list.html"
    filterset_class = SubscriptionFilter
    sort_options = {
        "created": ("Created", "created_at"),
        "renews": ("Renewal date", "current_period_end"),
        "status": ("Status", "status"),
    }
    default_sort = "-created_at"

    def get_queryset(self):
        return selectors.subscription_list(user=self.request.user).prefetch_related(selectors._items_prefetch())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [(sub, services.recurring_amount(sub.items.all(), sub.currency)) for sub in context["object_list"]]
        return context


class SubscriptionDetailView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ}
    template_name = "subscriptions/subscription_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sub = selectors.subscription_get(user=self.request.user, pk=self.kwargs["pk"])
        items = [(item, services.price_amount(item.price, item.quantity)) for item in sub.items.all()]
        actions = list(services.STATUS_ACTIONS.get(sub.status, []))
        if sub.cancel_at_period_end:
            actions = [a for a in actions if a[0] != "cancel_at_period_end"] + [("keep", "Withdraw scheduled cancellation")]
        context.update(
            subscription=sub,
            items=items,
            total=services.recurring_amount(sub.items.all(), sub.currency),
            history=selectors.subscription_history(subscription=sub),
            invoices=selectors.subscription_invoices(subscription=sub),
            prorations=selectors.pending_prorations(subscription=sub),
            status_actions=actions,
            status_form=StatusActionForm(),
            can_write=has_capability(self.request.user, WRITE),
            can_manage=has_capability(self.request.user, MANAGE_SUBSCRIPTION),
            effective_cancel=services.effective_cancel_date(sub) if sub.cancel_at_period_end else None,
            coupon_applies=selectors.active_coupon(sub),
        )
        return context


class SubscriptionCreateView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "subscriptions/subscription_form.html"
    form_class = SubscriptionCreateForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["tenants"] = visible_tenants(self.request.user).exclude(status="closed").order_by("name")
        if self.request.method == "GET" and self.request.GET.get("tenant"):
            kwargs["initial"] = {"tenant": self.request.GET["tenant"]}
        return kwargs

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            sub = services.subscription_create(
                actor=self.request.user, tenant=data["tenant"], plan=data["plan"], quantity=data["quantity"],
                start_date=data["start_date"], trial_days=data["trial_days"], coupon=data["coupon"],
                promo_code=data["promo_code"] or None, auto_renew=data["auto_renew"],
            )
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Subscription #{sub.pk} for {sub.tenant.name} started ({sub.get_status_display().lower()}).")
        return redirect("subscriptions:detail", pk=sub.pk)


class SubscriptionEditView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "subscriptions/subscription_edit.html"
    form_class = SubscriptionEditForm

    def get_subscription(self):
        if not hasattr(self, "_subscription"):
            self._subscription = selectors.subscription_get(user=self.request.user, pk=self.kwargs["pk"])
        return self._subscription

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        sub = self.get_subscription()
        kwargs["subscription"] = sub
        kwargs["initial"] = {"auto_renew": sub.auto_renew, "coupon": sub.coupon.code if sub.coupon_id else "",
                             "trial_end": sub.trial_end, "commitment_end": sub.commitment_end}
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["subscription"] = self.get_subscription()
        return context

    def form_valid(self, form):
        sub = self.get_subscription()
        changes = form.changes()
        if changes:
            try:
                services.subscription_update(actor=self.request.user, subscription=sub, reason=form.cleaned_data["reason"], **changes)
            except ApplicationError as exc:
                apply_application_error(form, exc)
                return self.form_invalid(form)
            messages.success(self.request, "Subscription saved.")
        else:
            messages.info(self.request, "Nothing changed.")
        return redirect("subscriptions:detail", pk=sub.pk)


class SubscriptionStatusView(CapabilityRequiredMixin, View):
    """Suspend / reactivate / cancel (and the other moves) with a required reason."""

    capabilities = {"POST": WRITE}

    def post(self, request, pk):
        sub = selectors.subscription_get(user=request.user, pk=pk)
        form = StatusActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            return redirect("subscriptions:detail", pk=sub.pk)
        action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
        try:
            if action in ("cancel_at_period_end", "keep"):
                services.subscription_cancel_at_period_end(actor=request.user, subscription=sub, reason=reason, cancel=action != "keep")
            else:
                services.subscription_set_status(actor=request.user, subscription=sub, status=action, reason=reason)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            sub.refresh_from_db()
            messages.success(request, f"Subscription #{sub.pk} is now {sub.get_status_display().lower()}"
                                      f"{' (cancels at period end)' if sub.cancel_at_period_end else ''}.")
        return redirect("subscriptions:detail", pk=sub.pk)


class RenewalListView(ListScreen):
    template_name = "subscriptions/renewal_list.html"
    filterset_class = SubscriptionFilter
    sort_options = {"renews": ("Renewal date", "current_period_end")}
    default_sort = "current_period_end"

    def within_days(self) -> int:
        try:
            return max(0, min(366, int(self.request.GET.get("within_days", 30))))
        except ValueError:
            return 30

    def get_queryset(self):
        return selectors.renewal_queryset(days=self.within_days(), user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["renewals"] = selectors.renewals_for(context["object_list"])
        context["within_days"] = self.within_days()
        context["today"] = timezone.now().date()
        return context


class TenantSubscriptionView(CapabilityRequiredMixin, TemplateView):
    """A tenant's subscription: start one, or preview a prorated change line by line, then apply it.

    Open to onboarding staff for the tenants assigned to them (others are 404).
    """

    capabilities = {"GET": MANAGE_SUBSCRIPTION, "POST": MANAGE_SUBSCRIPTION}
    template_name = "subscriptions/tenant_subscription.html"

    def setup_objects(self):
        self.tenant = tenant_get(user=self.request.user, pk=self.kwargs["pk"])
        self.subscription = selectors.tenant_subscription(tenant=self.tenant)
        self.live = self.subscription is not None and self.subscription.status in services.LIVE_STATUSES

    def get(self, request, *args, **kwargs):
        self.setup_objects()
        return self.render_to_response(self.get_context_data())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sub = self.subscription
        context.update(tenant=self.tenant, subscription=sub, live=self.live)
        if sub is not None:
            context["items"] = [(item, services.price_amount(item.price, item.quantity)) for item in sub.items.all()]
            context["total"] = services.recurring_amount(sub.items.all(), sub.currency)
            context["prorations"] = selectors.pending_prorations(subscription=sub)
        if self.live and sub.status in services.CHANGEABLE_STATUSES:
            context.setdefault("change_form", ChangeForm(subscription=sub))
        if not self.live:
            context.setdefault("create_form", SubscriptionCreateForm(plans=selectors.active_plans(currency=self.tenant.currency)))
        return context

    def post(self, request, *args, **kwargs):
        self.setup_objects()
        action = request.POST.get("action")
        if action == "create" and not self.live:
            return self.create()
        if action in ("preview", "apply") and self.live:
            return self.change(apply=action == "apply")
        messages.error(request, "That action is not available.")
        return redirect("subscriptions:tenant", pk=self.tenant.pk)

    def create(self):
        form = SubscriptionCreateForm(self.request.POST, plans=selectors.active_plans(currency=self.tenant.currency))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.subscription_create(
                    actor=self.request.user, tenant=self.tenant, plan=data["plan"], quantity=data["quantity"],
                    start_date=data["start_date"], trial_days=data["trial_days"], coupon=data["coupon"],
                    promo_code=data["promo_code"] or None, auto_renew=data["auto_renew"],
                )
            except ApplicationError as exc:
                apply_application_error(form, exc)
            else:
                messages.success(self.request, f"{self.tenant.name} is now subscribed.")
                return redirect("subscriptions:tenant", pk=self.tenant.pk)
        return self.render_to_response(self.get_context_data(create_form=form))

    def change(self, *, apply: bool):
        form = ChangeForm(self.request.POST, subscription=self.subscription)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(change_form=form))
        kwargs = form.service_kwargs()
        try:
            if apply:
                preview, rows = services.subscription_change_apply(
                    actor=self.request.user, subscription=self.subscription, reason=form.cleaned_data["reason"],
                    expected_fingerprint=self.request.POST.get("fingerprint") or None, **kwargs)
                total = preview.total
                messages.success(self.request, f"Change applied: {len(rows)} prorated line(s), total {total} {preview.currency}, "
                                               "pending for the next invoice." if rows else "Change applied; nothing to prorate.")
                return redirect("subscriptions:tenant", pk=self.tenant.pk)
            preview = services.subscription_change_preview(actor=self.request.user, subscription=self.subscription, **kwargs)
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.render_to_response(self.get_context_data(change_form=form))
        confirm = [(key, value) for key, value in self.request.POST.items() if key not in ("csrfmiddlewaretoken", "action", "fingerprint")]
        return self.render_to_response(self.get_context_data(change_form=form, preview=preview, confirm_fields=confirm))


class PlanListView(ListScreen):
    template_name = "subscriptions/plan_list.html"
    filterset_class = PlanFilter
    sort_options = {"name": ("Name", "name"), "created": ("Created", "created_at")}
    default_sort = "name"

    def get_queryset(self):
        return selectors.plan_list()


class PlanCreateView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "subscriptions/catalogue_form.html"
    form_class = PlanForm
    extra_context = {"title": "New plan"}

    def form_valid(self, form):
        data = dict(form.cleaned_data)
        try:
            plan = services.plan_create(
                actor=self.request.user, name=data["name"], code=data["code"], currency=data["currency"],
                interval=data["interval"], base_amount=data["unit_amount"], base_pricing_model=data["pricing_model"],
                base_tiers=data["tiers"] or None, base_package_size=data["package_size"], tax_rate=data["tax_rate"] or 0,
                addon_prices=list(data["addon_prices"]), trial_days=data["trial_days"], billing_cycle=data["billing_cycle"],
                minimum_commitment_months=data["minimum_commitment_months"], description=data["description"],
            )
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Plan {plan.name} created.")
        return redirect("subscriptions:plan-list")


class CouponListView(ListScreen):
    template_name = "subscriptions/coupon_list.html"
    filterset_class = CouponFilter
    sort_options = {"code": ("Code", "code"), "created": ("Created", "created_at")}
    default_sort = "code"

    def get_queryset(self):
        return selectors.coupon_list()


class CouponCreateView(CapabilityRequiredMixin, FormView):
    capabilities = {"GET": WRITE, "POST": WRITE}
    template_name = "subscriptions/catalogue_form.html"
    form_class = CouponForm
    extra_context = {"title": "New coupon"}

    def form_valid(self, form):
        try:
            coupon = services.coupon_create(actor=self.request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Coupon {coupon.code} created.")
        return redirect("subscriptions:coupon-list")
