"""Screens: the dunning queue, a case, the policy (with its timeline preview), notification templates."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts.selectors import object_history, tenant_get
from billing_ops.access import READ, WRITE, CapabilityRequiredMixin, has_capability
from billing_ops.errors import ApplicationError
from billing_ops.views import ListScreen
from dunning import notifications, outbox, selectors, services
from dunning import policy as rules
from dunning.filters import DunningCaseFilter
from dunning.forms import PolicyForm, SuspendForm, TemplateForm, WriteOffForm, ladder_from_post, ladder_rows
from dunning.models import NotificationKind
from dunning.timeline import plan_timeline


class CaseQueueView(ListScreen):
    template_name = "dunning/case_queue.html"
    filterset_class = DunningCaseFilter
    sort_options = {
        "age": ("Age", "opened_at"),
        "amount": ("Amount due", "amount_due"),
        "next": ("Next action", "next_at"),
        "step": ("Step", "step"),
    }
    default_sort = "next_at"

    def get_queryset(self):
        if not self.request.GET.get("status"):
            return selectors.active_case_list(user=self.request.user)
        return selectors.case_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queryset = context["filter"].qs if context["filter"] is not None and context["filter"].is_bound else self.get_queryset()
        today = timezone.localdate()
        for case in context["object_list"]:
            case.age_days = (today - case.failure_date).days
        context.update(at_risk=selectors.at_risk_totals(queryset))
        return context


class CaseDetailView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ}
    template_name = "dunning/case_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        case = selectors.case_get(user=self.request.user, pk=self.kwargs["pk"])
        timeline = services.case_timeline(case)
        done_retries, step = case.retries_done, case.step
        planned = []
        closed = not case.is_active
        records = selectors.case_records(case=case)
        # Steps passed over by an early suspension are recorded as skipped: show them so, not as done.
        skipped_steps = {r.number for r in records if r.kind == "reminder" and r.outcome == "skipped"}
        for event in timeline.events:
            done = (event.kind == "retry" and event.number <= done_retries) or (event.kind == "reminder" and event.number <= step) \
                or (event.kind == "suspension" and case.suspended_at is not None)
            if done and event.kind == "reminder" and event.number in skipped_steps:
                state = "skipped"
            else:
                state = "done" if done else ("canceled" if closed else "planned")
            planned.append({"event": event, "state": state})
        next_step = timeline.reminders[step] if step < len(timeline.reminders) else None
        can_remind = case.is_active and next_step is not None and (case.status == "suspended" or not next_step.at_suspension)
        context.update(
            case=case, timeline=timeline, planned=planned, next_step=next_step, can_remind=can_remind, records=records,
            notices=selectors.case_notifications(case=case), history=object_history(obj=case),
            can_write=has_capability(self.request.user, WRITE), suspend_form=SuspendForm(), write_off_form=WriteOffForm(),
        )
        return context


class _CaseAction(CapabilityRequiredMixin, View):
    capabilities = {"POST": WRITE}

    def act(self, request, case):
        raise NotImplementedError

    def post(self, request, pk):
        case = selectors.case_get(user=request.user, pk=pk)
        try:
            message = self.act(request, case)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, message)
        return redirect("dunning:detail", pk=case.pk)


class CaseRemindView(_CaseAction):
    def act(self, request, case):
        case = services.case_remind(actor=request.user, case=case)
        return f"Step {case.step} sent."


class CaseSuspendView(_CaseAction):
    def act(self, request, case):
        form = SuspendForm(request.POST)
        if not form.is_valid():
            raise ApplicationError("A reason is required to suspend.")
        services.case_suspend(actor=request.user, case=case, reason=form.cleaned_data["reason"])
        return "The subscription and the tenant are suspended; their deployment is being told."


class CaseWriteOffView(_CaseAction):
    def act(self, request, case):
        form = WriteOffForm(request.POST)
        if not form.is_valid():
            raise ApplicationError("A reason is required to write a case off.")
        services.case_write_off(actor=request.user, case=case, reason=form.cleaned_data["reason"])
        return "Case written off."


class BulkRemindView(CapabilityRequiredMixin, View):
    capabilities = {"POST": WRITE}

    def post(self, request):
        ids = [int(v) for v in request.POST.getlist("case") if v.isdigit()]
        sent, refused = 0, []
        for case in selectors.case_list(user=request.user).filter(pk__in=ids):
            try:
                services.case_remind(actor=request.user, case=case)
                sent += 1
            except ApplicationError as exc:
                refused.append(f"#{case.pk}: {exc.message}")
        if sent:
            messages.success(request, f"Reminder sent for {sent} case(s).")
        for problem in refused:
            messages.error(request, problem)
        if not ids:
            messages.error(request, "Tick the cases to remind.")
        return redirect(request.POST.get("next") or "dunning:queue")


def _parse_date(value, default):
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


class PolicyView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ, "POST": WRITE}
    template_name = "dunning/policy.html"

    def preview_dates(self, data):
        failure = _parse_date(data.get("failure_date"), timezone.localdate())
        return failure, _parse_date(data.get("due_date"), failure)

    def render_page(self, *, form, ladder, policy_values, errors=None, status=200):
        failure, due = self.preview_dates(self.request.POST if self.request.method == "POST" else self.request.GET)
        timeline = plan_timeline(policy_values, failure, due) if policy_values else None
        context = self.get_context_data(
            form=form, ladder=ladder_rows(ladder), errors=errors or {}, timeline=timeline, failure_date=failure, due_date=due,
            anchors=rules.ANCHORS, channels=rules.CHANNELS, templates=NotificationKind.choices,
            can_write=has_capability(self.request.user, WRITE),
        )
        return self.render_to_response(context, status=status)

    def get(self, request, *args, **kwargs):
        policy = services.policy_get()
        values = {name: getattr(policy, name) for name in services.POLICY_FIELDS}
        return self.render_page(form=PolicyForm(initial=PolicyForm.initial_from(policy)), ladder=policy.ladder, policy_values=values)

    def post(self, request, *args, **kwargs):
        form = PolicyForm(request.POST)
        ladder = ladder_from_post(request.POST)
        data = {name: request.POST.get(name) for name in ("max_retries", "retry_interval_days", "grace_period_days",
                                                          "retry_method_order")}
        data.update(suspend_after_retries=bool(request.POST.get("suspend_after_retries")),
                    auto_retry_enabled=bool(request.POST.get("auto_retry_enabled")), ladder=ladder)
        try:
            clean = services.policy_validate(data)
        except ApplicationError as exc:
            return self.render_page(form=form, ladder=ladder, policy_values=None, errors=exc.fields, status=400)
        if request.POST.get("action") == "preview":
            return self.render_page(form=form, ladder=clean["ladder"], policy_values=clean)
        services.policy_update(actor=request.user, **clean)
        messages.success(request, "Dunning policy saved; open cases follow the new timeline.")
        return redirect("dunning:policy")


class TemplateListView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ}
    template_name = "dunning/template_list.html"

    def get_context_data(self, **kwargs):
        from dunning.models import NotificationTemplate

        context = super().get_context_data(**kwargs)
        stored = {t.kind: t for t in NotificationTemplate.objects.all()}
        context["rows"] = [{"kind": kind, "label": label, "stored": stored.get(kind),
                            "essential": kind in notifications.ESSENTIAL_KINDS,
                            "subject": (stored[kind].subject if kind in stored else notifications.default_template(kind)[0])}
                           for kind, label in NotificationKind.choices]
        return context


class TemplateEditView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ, "POST": WRITE}
    template_name = "dunning/template_edit.html"

    def kind(self):
        kind = self.kwargs["kind"]
        if kind not in NotificationKind.values:
            raise Http404
        return kind

    def page(self, form, preview=None, status=200):
        kind = self.kind()
        context = self.get_context_data(kind=kind, label=NotificationKind(kind).label, form=form, preview=preview,
                                        variables=sorted(notifications.VARIABLES), can_write=has_capability(self.request.user, WRITE))
        return self.render_to_response(context, status=status)

    def get(self, request, *args, **kwargs):
        subject, text, html = notifications.template_for(self.kind())
        form = TemplateForm(initial={"subject": subject, "body_text": text, "body_html": html})
        return self.page(form, preview=self.preview(subject, text, html))

    def preview(self, subject, text, html):
        context = notifications.sample_context()
        case_id = self.request.GET.get("case")
        if case_id and case_id.isdigit():
            case = selectors.case_list(user=self.request.user).filter(pk=case_id).first()
            if case is not None:
                context.update(tenant_name=case.tenant.name, update_payment_link=notifications.update_payment_link(case.tenant),
                               **{k: notifications._plain(v) for k, v in services.notice_context(case).items()})
        return dict(zip(("subject", "text", "html"), notifications.render(self.kind(), context, source=(subject, text, html)), strict=True))

    def post(self, request, *args, **kwargs):
        form = TemplateForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        data = form.cleaned_data
        try:
            notifications.validate_template(subject=data["subject"], body_text=data["body_text"], body_html=data["body_html"])
            if request.POST.get("action") == "preview":
                return self.page(form, preview=self.preview(data["subject"], data["body_text"], data["body_html"]))
            notifications.template_save(actor=request.user, kind=self.kind(), **data)
        except ApplicationError as exc:
            for field, problems in exc.fields.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
            return self.page(form, status=400)
        messages.success(request, "Template saved.")
        return redirect("dunning:template-edit", kind=self.kind())


class OutboxResendView(CapabilityRequiredMixin, View):
    capabilities = {"POST": WRITE}

    def post(self, request, pk):
        event = selectors.outbox_get(user=request.user, pk=pk)
        try:
            outbox.outbox_resend(actor=request.user, event=event)
            messages.success(request, f"{event.event_type} queued for delivery again.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("accounts:tenant-detail", pk=event.tenant_id)


class TenantPreferenceView(CapabilityRequiredMixin, View):
    capabilities = {"POST": WRITE}

    def post(self, request, pk):
        tenant = tenant_get(user=request.user, pk=pk)
        notifications.preference_set(actor=request.user, tenant=tenant, opt_out_non_essential=bool(request.POST.get("opt_out")))
        messages.success(request, "Notification preference saved.")
        return redirect("accounts:tenant-detail", pk=tenant.pk)


