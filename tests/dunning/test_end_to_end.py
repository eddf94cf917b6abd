"""End to end with the real payments app against the fake Paystack: a declined charge opens the case,
the retry task tries the saved cards in the policy's order, the card that works settles the invoice,
and the case is recovered (and a suspended tenant reactivated, with the deployment told)."""
import datetime as dt
from decimal import Decimal

import pytest

pytest.importorskip("payments.services")

from billing_ops.actors import system
from dunning import services, tasks
from dunning.models import DunningCase, OutboxEvent, RecoveryRecord
from tests.dunning.factories import make_invoice
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_decline_opens_case_then_retry_with_the_other_card_recovers(paystack, freeze_today, billing_user):
    from payments.services import charge_invoice
    from tests.payments.factories import PaymentMethodFactory

    freeze_today(dt.date(2026, 11, 16))
    tenant = TenantFactory(deployment_webhook_url="http://127.0.0.1:9/hook")
    PaymentMethodFactory(tenant=tenant, authorization_code="AUTH_insufficient_funds_card", is_default=True, last4="1111")
    invoice = make_invoice(tenant=tenant, total="31.44")
    outcome = charge_invoice(actor=system("auto-charge"), invoice=invoice, reason="auto")
    assert outcome.status == "failed"
    case = DunningCase.objects.get(invoice=invoice)  # opened by the real payment.failed event
    assert case.status == "open" and case.last_failure_reason
    case.subscription.refresh_from_db()
    assert case.subscription.status == "past_due"

    services.case_suspend(actor=billing_user, case=case, reason="Customer unreachable")
    tenant.refresh_from_db()
    assert tenant.status == "suspended"

    PaymentMethodFactory(tenant=tenant, authorization_code="AUTH_success_card", is_default=False, last4="2222")
    freeze_today(dt.date(2026, 11, 17))
    assert tasks.run_payment_retries() == {"succeeded": 1}
    case.refresh_from_db()
    invoice.refresh_from_db()
    tenant.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_due == Decimal("0.00")
    assert case.status == "recovered" and tenant.status == "active"
    retry = RecoveryRecord.objects.get(case=case, kind="retry")
    assert retry.outcome == "succeeded" and "••1111: failed" in retry.detail and "••2222: succeeded" in retry.detail
    types = set(OutboxEvent.objects.filter(tenant=tenant).values_list("event_type", flat=True))
    assert {"subscription.suspended", "tenant.suspended", "subscription.reactivated", "tenant.reactivated"} <= types
    assert tasks.run_payment_retries() == {}  # nothing left to retry
