"""Cases: open once, remind/suspend rules, recovery by every settlement route, reactivation."""
import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import AuditEntry
from billing_ops.actors import system
from billing_ops.errors import Conflict, PermissionDenied, TransitionNotAllowed, ValidationFailed
from billing_ops.events import emit
from billing_ops.models import DomainEvent
from dunning import services
from dunning.models import DunningCase, Notification, OutboxEvent, RecoveryRecord
from invoicing.services import invoice_record_payment
from tests.dunning.factories import make_invoice, open_case
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def emit_in_tx(name, **payload):
    from django.db import transaction

    with transaction.atomic():
        emit(name, actor=system("test"), **payload)


def test_case_opens_once_per_invoice_from_either_event(freeze_today):
    freeze_today(dt.date(2026, 11, 16))
    invoice = make_invoice()
    emit_in_tx("payment.failed", payment_id=1, invoice_id=invoice.pk, tenant_id=invoice.tenant_id, amount="100.00",
               currency="NGN", reason="Insufficient funds")
    emit_in_tx("invoice.overdue", invoice_id=invoice.pk, tenant_id=invoice.tenant_id)
    emit_in_tx("payment.failed", payment_id=2, invoice_id=invoice.pk, tenant_id=invoice.tenant_id, amount="100.00",
               currency="NGN", reason="Do not honour")
    case = DunningCase.objects.get()
    assert case.invoice == invoice and case.status == "open" and case.opened_by == "payment_failed"
    assert case.amount_at_risk == Decimal("100.00") and case.failure_date == dt.date(2026, 11, 16)
    assert case.last_failure_reason == "Do not honour"
    assert list(case.records.values_list("kind", flat=True)) == ["opened", "reminder", "failure"]
    # the "payment failed" step is due on the failure day and goes out at once
    assert case.step == 1 and Notification.objects.get(case=case).kind == "payment_failed"
    assert case.next_action == "retry" and case.next_action_at.date() == dt.date(2026, 11, 17)


def test_no_case_for_paid_or_draft_invoices():
    for status in ("paid", "draft", "void"):
        assert open_case(status=status) is None
    assert not DunningCase.objects.exists()


def test_remind_advances_one_step_and_refuses_when_closed(billing_user, onboarding_user):
    case = open_case()
    case = services.case_remind(actor=billing_user, case=case)
    assert case.step == 2
    assert RecoveryRecord.objects.filter(case=case, kind="reminder", number=2).exists()
    with pytest.raises(PermissionDenied):
        services.case_remind(actor=onboarding_user, case=case)
    case = services.case_remind(actor=billing_user, case=case)  # final warning
    with pytest.raises(Conflict) as exc:  # the next step ("suspended") belongs to the suspension
        services.case_remind(actor=billing_user, case=case)
    assert exc.value.code == "step_needs_suspension"
    invoice_record_payment(actor=billing_user, invoice=case.invoice, amount="100.00")
    with pytest.raises(TransitionNotAllowed):
        services.case_remind(actor=billing_user, case=case)


def test_suspend_needs_reason_and_suspends_subscription_and_tenant(billing_user):
    case = open_case()
    with pytest.raises(ValidationFailed):
        services.case_suspend(actor=billing_user, case=case, reason=" ")
    case = services.case_suspend(actor=billing_user, case=case, reason="Retries exhausted")
    case.tenant.refresh_from_db()
    case.subscription.refresh_from_db()
    assert case.status == "suspended" and case.suspended_tenant
    assert case.tenant.status == "suspended" and case.tenant.suspended_at and "Retries exhausted" in case.tenant.suspension_reason
    assert case.subscription.status == "suspended"
    assert AuditEntry.objects.filter(action="dunning.case_suspended", object_id=str(case.pk)).exists()
    # the ladder's "suspended" step is sent by the suspension
    assert Notification.objects.filter(case=case, kind="subscription_suspended").count() == 1 and case.step == 4
    # both changes reach the deployment through the outbox, written in the same transaction
    assert sorted(OutboxEvent.objects.values_list("event_type", flat=True)) == ["subscription.suspended", "tenant.suspended"]
    with pytest.raises(TransitionNotAllowed):
        services.case_suspend(actor=billing_user, case=case, reason="again")


@pytest.mark.parametrize("route", ["webhook", "auto_charge", "retry", "manual", "credit_note"])
def test_recovery_by_any_route_closes_and_cancels_pending_work(billing_user, route):
    case = open_case()
    Notification.objects.filter(case=case).update(status="failed")  # a notice waiting for its retry
    invoice_record_payment(actor=billing_user, invoice=case.invoice, amount="100.00", route=route)
    case.refresh_from_db()
    assert case.status == "recovered" and case.recovery_route == route and case.recovered_amount == Decimal("100.00")
    assert case.recovered_step == 1 and case.next_action == "" and case.next_action_at is None
    assert Notification.objects.get(case=case).status == "canceled"
    canceled = case.records.get(kind="canceled")
    assert "Retry 1" in canceled.detail and "Suspension" in canceled.detail
    # nothing is due any more: the reminder sweep and a manual remind both leave it alone
    assert services.case_send_due_reminders(actor=billing_user, case=case, on=dt.date(2027, 1, 1)) == 0


def test_partial_payment_keeps_the_case_open(billing_user):
    case = open_case()
    invoice_record_payment(actor=billing_user, invoice=case.invoice, amount="40.00")
    case.refresh_from_db()
    assert case.status == "open"


def test_reactivation_end_to_end_when_all_overdue_invoices_are_settled(billing_user):
    tenant = TenantFactory(deployment_webhook_url="http://127.0.0.1:9/hook")
    first = open_case(make_invoice(tenant=tenant))
    second = open_case(make_invoice(tenant=tenant, status="overdue"), opened_by="invoice_overdue")
    services.case_suspend(actor=billing_user, case=first, reason="Retries exhausted")
    services.case_suspend(actor=billing_user, case=second, reason="Grace period over")
    invoice_record_payment(actor=billing_user, invoice=first.invoice, amount="100.00", route="manual")
    tenant.refresh_from_db()
    assert tenant.status == "suspended"  # the second invoice is still overdue
    invoice_record_payment(actor=billing_user, invoice=second.invoice, amount="100.00", route="webhook")
    tenant.refresh_from_db()
    assert tenant.status == "active" and tenant.suspended_at is None
    for case in (first, second):
        case.refresh_from_db()
        case.subscription.refresh_from_db()
        assert case.status == "recovered" and case.subscription.status == "active"
    types = list(OutboxEvent.objects.order_by("created_at").values_list("event_type", flat=True))
    assert types.count("subscription.reactivated") == 2 and types[-1] == "tenant.reactivated"
    assert Notification.objects.filter(tenant=tenant, kind="subscription_reactivated").count() == 1
    assert AuditEntry.objects.filter(action="dunning.tenant_reactivated", tenant_id=tenant.pk).exists()


def test_manual_suspension_by_staff_is_not_undone_by_payment(billing_user):
    from accounts.services import tenant_set_status

    case = open_case()
    tenant_set_status(actor=billing_user, tenant=case.tenant, status="suspended", reason="Abuse report")
    invoice_record_payment(actor=billing_user, invoice=case.invoice, amount="100.00")
    case.tenant.refresh_from_db()
    assert case.tenant.status == "suspended"


def test_write_off(billing_user):
    case = open_case()
    case = services.case_write_off(actor=billing_user, case=case, reason="Customer insolvent")
    assert case.status == "written_off"
    with pytest.raises(TransitionNotAllowed):
        services.case_suspend(actor=billing_user, case=case, reason="x")


def test_policy_update_validates_and_replans(billing_user):
    case = open_case()
    with pytest.raises(ValidationFailed) as exc:
        services.policy_update(actor=billing_user, max_retries=3)
    assert "retry_interval_days" in exc.value.fields
    services.policy_update(actor=billing_user, max_retries=2, retry_interval_days=[4, 4],
                           ladder=[{"key": "payment_failed", "anchor": "failure", "offset_days": 0, "template": "payment_failed"}])
    case.refresh_from_db()
    assert case.next_action_at.date() == case.failure_date + dt.timedelta(days=4)
    assert DomainEvent.objects.filter(name="dunning.case_opened").count() == 1


def test_credit_note_settlement_recovers_through_the_invoicing_service(billing_user):
    from invoicing.services import invoice_apply_credit

    case = open_case()
    invoice_apply_credit(actor=billing_user, invoice=case.invoice, amount="100.00", credit_note_id=None)
    case.refresh_from_db()
    assert case.status == "recovered" and case.recovery_route == "credit_note"


def test_partial_credit_lowers_the_cases_amount_due(billing_user):
    from decimal import Decimal

    from invoicing.services import invoice_apply_credit

    case = open_case()
    invoice_apply_credit(actor=billing_user, invoice=case.invoice, amount="30.00", credit_note_id=None)
    case.refresh_from_db()
    assert case.status == "open" and case.amount_due == Decimal("70.00")
    assert DomainEvent.objects.filter(name="invoice.credit_applied", payload__amount="30.00").exists()


def test_voided_invoice_closes_the_case_and_lifts_the_suspension(billing_user):
    from invoicing.services import invoice_void

    case = open_case()
    services.case_suspend(actor=billing_user, case=case, reason="Retries exhausted")
    invoice_void(actor=billing_user, invoice=case.invoice, reason="Billed in error")
    case.refresh_from_db()
    case.tenant.refresh_from_db()
    assert case.status == "written_off" and case.closed_reason == "Invoice voided"
    assert case.tenant.status == "active"


def test_uncollectible_then_paid_after_all_reactivates(billing_user):
    from invoicing.services import invoice_mark_uncollectible

    case = open_case()
    services.case_suspend(actor=billing_user, case=case, reason="Retries exhausted")
    invoice_mark_uncollectible(actor=billing_user, invoice=case.invoice, reason="Gave up")
    case.refresh_from_db()
    case.tenant.refresh_from_db()
    assert case.status == "written_off" and case.tenant.status == "suspended"
    invoice_record_payment(actor=billing_user, invoice=case.invoice, amount="100.00", route="manual")
    case.tenant.refresh_from_db()
    case.subscription.refresh_from_db()
    assert case.tenant.status == "active" and case.subscription.status == "active"
