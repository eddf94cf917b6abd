"""POST /webhooks/paystack: signature, size, shape, storing once, idempotent processing, review list."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from billing_ops.models import DomainEvent
from payments.models import Payment, PaymentMethod, WebhookEvent
from payments.paystack.signing import sign
from tests.factories import InvoiceFactory
from tests.payments.conftest import FAKE_SECRET, SHARED, signed_post

pytestmark = pytest.mark.django_db
SAMPLES = sorted((SHARED / "webhook-samples").glob("*.json"))


def charge_success(reference: str, amount: int = 10000, currency: str = "NGN", **extra) -> dict:
    data = {
        "id": 302961, "domain": "test", "status": "success", "reference": reference, "amount": amount,
        "gateway_response": "Approved", "paid_at": "2026-11-23T10:00:00.000Z", "channel": "card", "currency": currency,
        "metadata": 0, "customer": {"email": "ada@tenant.example"},
        "authorization": {"authorization_code": "AUTH_webhookcard", "last4": "8877", "exp_month": "08", "exp_year": "2030",
                          "brand": "mastercard", "bank": "Guaranty Trust Bank", "reusable": True},
        **extra,
    }
    return {"event": "charge.success", "data": data}


@pytest.fixture
def configured(paystack):
    return paystack


@pytest.fixture
def pending_card_payment(configured):
    invoice = InvoiceFactory(total=Decimal("100.00"), amount_due=Decimal("100.00"))
    return Payment.objects.create(tenant=invoice.tenant, invoice=invoice, amount=Decimal("100.00"), currency="NGN",
                                  method="card", status="pending", reference=f"{invoice.number}-A1", attempt=1)


def test_valid_signature_settles_the_payment_and_saves_the_card(client, pending_card_payment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_post(client, charge_success(pending_card_payment.reference))
    assert response.status_code == 200 and response.json()["duplicate"] is False
    pending_card_payment.refresh_from_db()
    invoice = pending_card_payment.invoice
    invoice.refresh_from_db()
    assert pending_card_payment.status == "succeeded" and pending_card_payment.card_last4 == "8877"
    assert (pending_card_payment.card_exp_month, pending_card_payment.card_exp_year) == (8, 2030)
    assert invoice.status == "paid"
    card = PaymentMethod.objects.get(tenant=invoice.tenant)
    assert card.authorization_code == "AUTH_webhookcard" and card.is_default and card.last4 == "8877"
    event = WebhookEvent.objects.get()
    assert event.status == "processed" and event.payment == pending_card_payment
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 1
    assert DomainEvent.objects.filter(name="invoice.paid").count() == 1


@pytest.mark.parametrize("tamper", ["wrong key", "one byte changed", "missing", "garbage", "non-ascii"])
def test_bad_signature_is_401_and_nothing_is_stored(client, pending_card_payment, tamper):
    raw = json.dumps(charge_success(pending_card_payment.reference)).encode()
    headers = {"HTTP_X_PAYSTACK_SIGNATURE": sign(raw, FAKE_SECRET)}
    body = raw
    if tamper == "wrong key":
        headers["HTTP_X_PAYSTACK_SIGNATURE"] = sign(raw, "sk_test_someoneelse000000000000")
    elif tamper == "one byte changed":
        body = raw.replace(b'"amount": 10000', b'"amount": 10001')
        assert body != raw and len(body) == len(raw)
    elif tamper == "missing":
        headers = {}
    elif tamper == "garbage":
        headers["HTTP_X_PAYSTACK_SIGNATURE"] = "abc"
    else:
        headers["HTTP_X_PAYSTACK_SIGNATURE"] = "é" * 128
    response = client.post("/webhooks/paystack", data=body, content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert not WebhookEvent.objects.exists()
    pending_card_payment.refresh_from_db()
    assert pending_card_payment.status == "pending"


def test_unconfigured_app_refuses_every_webhook(client, db):
    raw = json.dumps(charge_success("X-1")).encode()
    response = client.post("/webhooks/paystack", data=raw, content_type="application/json",
                           HTTP_X_PAYSTACK_SIGNATURE=sign(raw, FAKE_SECRET))
    assert response.status_code == 401 and not WebhookEvent.objects.exists()


def test_only_the_active_modes_secret_verifies(client, configured):
    from payments.services import payment_config_update
    from tests.factories import StaffFactory

    admin = StaffFactory(role="super_admin")
    payment_config_update(actor=admin, mode="live", live_secret_key="sk_live_abcdefgh12345678")
    assert signed_post(client, charge_success("X-1")).status_code == 401
    assert signed_post(client, charge_success("X-1"), secret="sk_live_abcdefgh12345678").status_code == 200


def test_a_key_rotated_by_another_process_is_honoured_at_once(client, configured):
    """The view remembers the secret for a few seconds; a signature under a newer key forces a fresh read."""
    from payments.models import PaystackConfig

    assert signed_post(client, charge_success("ROT-1")).status_code == 200  # remembers FAKE_SECRET
    PaystackConfig.objects.filter(pk=1).update(test_secret_key="sk_test_rotated0000000000001")  # no signals: another process
    assert signed_post(client, charge_success("ROT-2"), secret="sk_test_rotated0000000000001").status_code == 200
    assert signed_post(client, charge_success("ROT-3")).status_code == 401
    assert set(WebhookEvent.objects.values_list("reference", flat=True)) == {"ROT-1", "ROT-2"}


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"data": {}}', b'{"event": ""}', b"\xff\xfe"])
def test_malformed_signed_bodies_are_400(client, configured, body):
    response = signed_post(client, body)
    assert response.status_code == 400 and not WebhookEvent.objects.exists()


def test_oversized_bodies_are_400_before_anything_else(client, configured, settings):
    settings.PAYSTACK_WEBHOOK_MAX_BYTES = 1024
    body = json.dumps({"event": "charge.success", "data": {"pad": "x" * 2000}}).encode()
    assert signed_post(client, body).status_code == 400
    assert client.post("/webhooks/paystack", data=body, content_type="application/json").status_code == 400
    assert not WebhookEvent.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/paystack").status_code == 405


def test_same_event_twice_is_stored_and_applied_once(client, pending_card_payment, django_capture_on_commit_callbacks):
    body = charge_success(pending_card_payment.reference)
    with django_capture_on_commit_callbacks(execute=True):
        first = signed_post(client, body)
    with django_capture_on_commit_callbacks(execute=True):
        second = signed_post(client, body)
    assert first.status_code == second.status_code == 200 and second.json()["duplicate"] is True
    event = WebhookEvent.objects.get()
    assert event.deliveries == 2
    invoice = pending_card_payment.invoice
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("100.00")
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 1


def test_processing_twice_applies_once(pending_card_payment):
    from payments.services import webhook_process, webhook_receive

    raw = json.dumps(charge_success(pending_card_payment.reference)).encode()
    event, _ = webhook_receive(raw=raw, payload=json.loads(raw))
    webhook_process(event_id=event.pk)
    webhook_process(event_id=event.pk)
    # A second, differently keyed delivery of the same success (e.g. a webhook after the charge response).
    raw2 = json.dumps(charge_success(pending_card_payment.reference, id=999)).encode()
    other, created = webhook_receive(raw=raw2, payload=json.loads(raw2))
    assert not created  # same event + reference: the same key
    pending_card_payment.invoice.refresh_from_db()
    assert pending_card_payment.invoice.amount_paid == Decimal("100.00")


def test_unknown_reference_goes_to_review(client, configured, billing_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, charge_success("NOT-OURS-1")).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.needs_review and event.status == "review" and "Unknown reference" in event.review_reason
    client.force_login(billing_user)
    page = client.get("/billing/payments/review/")
    assert page.status_code == 200 and "NOT-OURS-1" in page.content.decode()
    payments_page = client.get("/billing/payments/").content.decode()
    assert "Webhooks to review (1)" in payments_page and "NOT-OURS-1" in payments_page
    client.post(f"/billing/payments/review/{event.pk}/resolve/", {"note": "Paid another merchant"})
    event.refresh_from_db()
    assert event.status == "resolved" and not event.needs_review and event.resolution_note == "Paid another merchant"


def test_amount_mismatch_goes_to_review_and_changes_nothing(client, pending_card_payment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(client, charge_success(pending_card_payment.reference, amount=5000))
    event = WebhookEvent.objects.get()
    assert event.status == "review" and "Amount does not match" in event.review_reason
    pending_card_payment.refresh_from_db()
    assert pending_card_payment.status == "pending"
    pending_card_payment.invoice.refresh_from_db()
    assert pending_card_payment.invoice.amount_paid == 0


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_every_published_sample_is_accepted_when_signed(client, configured, sample, django_capture_on_commit_callbacks):
    raw = sample.read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_post(client, raw)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.raw_body.encode() == raw
    # None of the samples concern a payment of ours: each is kept for review, none fails.
    assert event.status == "review", (event.status, event.error)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="true concurrency needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_deliveries_apply_once(paystack):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    invoice = InvoiceFactory(total=Decimal("100.00"), amount_due=Decimal("100.00"))
    payment = Payment.objects.create(tenant=invoice.tenant, invoice=invoice, amount=Decimal("100.00"), currency="NGN",
                                     method="card", status="pending", reference=f"{invoice.number}-A1", attempt=1)
    raw = json.dumps(charge_success(payment.reference)).encode()
    signature = sign(raw, FAKE_SECRET)

    def deliver(_):
        try:
            return Client().post("/webhooks/paystack", data=raw, content_type="application/json",
                                 HTTP_X_PAYSTACK_SIGNATURE=signature).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(deliver, range(20)))
    assert codes == [200] * 20
    event = WebhookEvent.objects.get()
    assert event.deliveries == 20 and event.status == "processed"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("100.00"))
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 1
    assert DomainEvent.objects.filter(name="invoice.paid").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="true concurrency needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_processing_of_one_event_applies_once(paystack):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from payments.services import webhook_process, webhook_receive

    invoice = InvoiceFactory(total=Decimal("100.00"), amount_due=Decimal("100.00"))
    payment = Payment.objects.create(tenant=invoice.tenant, invoice=invoice, amount=Decimal("100.00"), currency="NGN",
                                     method="card", status="pending", reference=f"{invoice.number}-A1", attempt=1)
    raw = json.dumps(charge_success(payment.reference)).encode()
    from billing_ops.celery import app

    app.conf.task_always_eager = False  # store only; twenty workers process it by hand below
    try:
        event, _ = webhook_receive(raw=raw, payload=json.loads(raw))
    finally:
        app.conf.task_always_eager = True

    def work(_):
        try:
            return webhook_process(event_id=event.pk).status
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(work, range(20)))
    assert set(statuses) == {"processed"}
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("100.00")
    assert DomainEvent.objects.filter(name="payment.succeeded").count() == 1
