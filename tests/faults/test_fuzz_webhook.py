"""The Paystack webhook fed garbage: unsigned → 401, signed but malformed → 400 in the error shape,
nothing written; signed and well-formed but with wrong types, huge, negative or many-decimal
amounts or unknown references → stored once and put up for review, no money moved."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import Payment, WebhookEvent
from payments.paystack.signing import sign
from tests.factories import InvoiceFactory
from tests.faults.conftest import FAKE_SECRET
from tests.faults.test_fuzz_api import assert_error_shape, row_counts

pytestmark = pytest.mark.django_db
EXAMPLES = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def post(raw: bytes, signature: str | None):
    headers = {} if signature is None else {"HTTP_X_PAYSTACK_SIGNATURE": signature}
    return Client().post("/webhooks/paystack", data=raw, content_type="application/json", **headers)


@pytest.fixture
def pending_payment(paystack):
    invoice = InvoiceFactory(total=Decimal("100.00"), amount_due=Decimal("100.00"))
    return Payment.objects.create(tenant=invoice.tenant, invoice=invoice, amount=Decimal("100.00"), currency="NGN",
                                  method="card", status="pending", reference=f"{invoice.number}-A1", attempt=1)


def _not_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return True
    return False


MALFORMED = st.one_of(
    st.sampled_from([b"{", b"{'event': 'charge.success'}", b'{"event": "charge.success",}', b"\xff\xfe", b'{"event": NaN}']),
    st.binary(min_size=1, max_size=60).filter(_not_json),
)
NOT_AN_EVENT = st.one_of(
    st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=8), st.none(),
    st.fixed_dictionaries({"event": st.one_of(st.none(), st.integers(), st.just(""), st.lists(st.text(max_size=3)))}),
    st.fixed_dictionaries({"data": st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)}),
).map(lambda value: json.dumps(value).encode())


def test_unsigned_or_badly_signed_garbage_is_401_and_writes_nothing(paystack):
    before = row_counts()

    @EXAMPLES
    @given(raw=st.one_of(MALFORMED, NOT_AN_EVENT, st.just(b'{"event": "charge.success", "data": {}}')),
           signature=st.one_of(st.none(), st.just(""), st.text(max_size=20), st.just("0" * 128)))
    def check(raw, signature):
        response = post(raw, signature)
        assert response.status_code == 401, response.content
        assert_error_shape(response, repr(raw))
        assert row_counts() == before

    check()


def test_signed_malformed_bodies_are_400_and_write_nothing(paystack):
    before = row_counts()

    @EXAMPLES
    @given(raw=st.one_of(MALFORMED, NOT_AN_EVENT))
    def check(raw):
        response = post(raw, sign(raw, FAKE_SECRET))
        assert_error_shape(response, repr(raw))
        assert response.status_code == 400
        assert row_counts() == before

    check()


BAD_AMOUNTS = st.one_of(
    st.sampled_from([-10000, 0, 10**30, 2**63, -(2**63), "10000.5", "1e4", "-10000", "100.00", 10000.0, 100.5,
                     None, True, [], {}, "", "NaN"]),
    st.integers().filter(lambda n: n != 10000),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str),
)


def test_signed_events_with_bad_data_are_stored_for_review_and_move_no_money(paystack, pending_payment,
                                                                            django_capture_on_commit_callbacks):
    invoice = pending_payment.invoice
    counter = iter(range(10**6))

    @EXAMPLES
    @given(amount=BAD_AMOUNTS,
           currency=st.sampled_from(["NGN", "USD", "XXX", None, 5, ["NGN"]]),
           reference=st.sampled_from(["known", "unknown", None, 12345, ["x"], {"a": 1}, "x" * 500]),
           status=st.sampled_from(["success", "failed", None, 1]))
    def check(amount, currency, reference, status):
        ref = pending_payment.reference if reference == "known" else reference
        data = {"id": next(counter), "status": status, "reference": ref, "amount": amount, "currency": currency}
        if reference == "known" and amount == 10000 and currency == "NGN":
            return  # that one is a genuine payment
        raw = json.dumps({"event": "charge.success", "data": data}).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = post(raw, sign(raw, FAKE_SECRET))
        assert response.status_code == 200, response.content
        event = WebhookEvent.objects.order_by("-pk").first()
        assert event.status in ("review", "processed", "failed") and event.status != "received"
        pending_payment.refresh_from_db()
        invoice.refresh_from_db()
        assert pending_payment.status == "pending", (data, pending_payment.status)
        assert invoice.amount_paid == Decimal("0.00"), data

    check()
