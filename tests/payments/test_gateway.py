"""PaystackGateway against the fake Paystack: mapping, errors, time-outs, isolation of keys."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from paystackapi.base import Borg, PayStackRequests
from paystackapi.transaction import Transaction

from payments.paystack.fake_server import DECLINES, FakePaystack
from payments.paystack.gateway import (
    ConfigurationError,
    DuplicateReference,
    GatewayConfig,
    GatewayTimeout,
    InvalidKey,
    InvalidRequest,
    NotFound,
    PaystackError,
    PaystackGateway,
    RateLimited,
    Unavailable,
    error_for,
    mask_secret,
)


def make_gateway(base_url: str, secret_key: str, read_timeout: float = 2.0) -> PaystackGateway:
    return PaystackGateway(GatewayConfig(base_url, secret_key, connect_timeout=1.0, read_timeout=read_timeout))


@pytest.fixture
def gateway(fake_paystack):
    return make_gateway(fake_paystack.base_url, fake_paystack.secret_key)


def charge(gateway, reference, *, code="AUTH_card1", email="ada@example.com", amount_minor=123456, **kwargs):
    return gateway.charge_authorization(
        authorization_code=code, email=email, amount_minor=amount_minor, currency="NGN",
        reference=reference, **kwargs,
    )


def test_successful_charge_maps_every_field(gateway, fake_paystack):
    result = charge(gateway, "inv-1-a1", metadata={"invoice": "INV-2026-000001"})

    recorded = fake_paystack.charges[0]
    assert result.status == "success"
    assert result.reference == "inv-1-a1"
    assert result.amount_minor == 123456 and type(result.amount_minor) is int
    assert result.currency == "NGN"
    assert result.gateway_response == "Approved"
    assert result.transaction_id == recorded["id"]
    assert result.paid_at
    assert result.authorization["authorization_code"] == "AUTH_card1"
    assert result.authorization["last4"] == "4081"
    assert (result.authorization["exp_month"], result.authorization["exp_year"]) == (12, 2030)
    assert result.authorization["reusable"] is True
    assert result.raw["data"]["reference"] == "inv-1-a1"
    assert recorded["amount"] == 123456
    assert json.loads(recorded["metadata"]) == {"invoice": "INV-2026-000001"}


@pytest.mark.parametrize("outcome", sorted(DECLINES))
@pytest.mark.parametrize("how", ["code convention", "email convention", "scripted"])
def test_declines_are_failed_results_with_the_reason(gateway, fake_paystack, outcome, how):
    code, email = "AUTH_card1", "ada@example.com"
    if how == "code convention":
        code = f"AUTH_{outcome}_x1"
    elif how == "email convention":
        email = f"ada+{outcome}@example.com"
    else:
        fake_paystack.script(outcome, email=email)

    result = charge(gateway, "inv-2-a1", code=code, email=email)

    assert result.status == "failed"
    assert result.gateway_response == DECLINES[outcome]
    assert result.amount_minor == 123456


def test_pending_charge_settles_later(gateway, fake_paystack):
    assert charge(gateway, "inv-3-a1", code="AUTH_pending_1").status == "pending"
    assert gateway.verify(reference="inv-3-a1").status == "pending"
    time.sleep(0.5)  # the fixture's webhook_delay_s is 0.3
    assert gateway.verify(reference="inv-3-a1").status == "success"


def test_wrong_key_is_invalid_key(fake_paystack):
    wrong = "sk_test_wrongwrongwrong9999"
    with pytest.raises(InvalidKey) as caught:
        charge(make_gateway(fake_paystack.base_url, wrong), "inv-4-a1")
    assert caught.value.http_status == 401
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    assert fake_paystack.charges == []


def test_reused_reference_is_duplicate_and_charges_once(gateway, fake_paystack):
    charge(gateway, "inv-5-a1")
    with pytest.raises(DuplicateReference) as caught:
        charge(gateway, "inv-5-a1")
    assert caught.value.http_status == 400
    assert len(fake_paystack.charges) == 1


def test_server_error_is_unavailable(gateway, fake_paystack):
    with pytest.raises(Unavailable) as caught:
        charge(gateway, "inv-6-a1", code="AUTH_server_error_1")
    assert caught.value.http_status == 500
    assert fake_paystack.charges == []


def test_connection_refused_is_unavailable(closed_port_url):
    with pytest.raises(Unavailable):
        charge(make_gateway(closed_port_url, "sk_test_abc"), "inv-7-a1")


def test_slow_charge_times_out_then_verify_finds_it_succeeded(fake_paystack):
    gateway = make_gateway(fake_paystack.base_url, fake_paystack.secret_key, read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(GatewayTimeout):
        charge(gateway, "inv-8-a1", code="AUTH_slow_1")
    assert time.monotonic() - started < 0.9  # gave up at the read time-out, not the fake's 1 s

    result = gateway.verify(reference="inv-8-a1")
    assert result.status == "success"
    assert result.amount_minor == 123456


def test_verify_unknown_reference_is_not_found(gateway):
    with pytest.raises(NotFound):
        gateway.verify(reference="never-charged")


def test_full_refund(gateway, fake_paystack):
    charge(gateway, "inv-9-a1", amount_minor=50000)
    refund = gateway.refund(transaction="inv-9-a1", merchant_note="duplicate payment")
    assert (refund.amount_minor, refund.currency, refund.status) == (50000, "NGN", "pending")
    assert refund.transaction_reference == "inv-9-a1"

    deadline = time.monotonic() + 3
    while gateway.fetch_refund(refund_id=refund.id).status != "processed":
        assert time.monotonic() < deadline, "refund never processed"
        time.sleep(0.05)
    with pytest.raises(InvalidRequest):  # nothing left to refund
        gateway.refund(transaction="inv-9-a1", amount_minor=1)


def test_partial_refunds_up_to_the_amount(gateway, fake_paystack):
    result = charge(gateway, "inv-10-a1", amount_minor=50000)
    first = gateway.refund(transaction="inv-10-a1", amount_minor=20000)
    second = gateway.refund(transaction=result.transaction_id, amount_minor=30000)  # by id
    assert (first.amount_minor, second.amount_minor) == (20000, 30000)
    assert first.id != second.id
    with pytest.raises(InvalidRequest):
        gateway.refund(transaction="inv-10-a1", amount_minor=1)
    assert [r["amount"] for r in fake_paystack.refunds] == [20000, 30000]


def test_refund_of_unknown_transaction_is_not_found(gateway):
    with pytest.raises(NotFound):
        gateway.refund(transaction="never-charged")


def test_test_connection(fake_paystack, closed_port_url):
    make_gateway(fake_paystack.base_url, fake_paystack.secret_key).test_connection()
    with pytest.raises(InvalidKey):
        make_gateway(fake_paystack.base_url, "sk_test_notthekey000").test_connection()
    with pytest.raises(Unavailable):
        make_gateway(closed_port_url, fake_paystack.secret_key).test_connection()
    fake_paystack.configure(latency_ms=800)
    with pytest.raises(GatewayTimeout):
        make_gateway(fake_paystack.base_url, fake_paystack.secret_key, read_timeout=0.3).test_connection()


@pytest.mark.parametrize("key", ["", None, "   ", "pk_test_publickey0000001234"])
def test_missing_or_public_key_refused_before_any_request(fake_paystack, key):
    with pytest.raises(ConfigurationError):
        PaystackGateway(GatewayConfig(fake_paystack.base_url, key))
    assert fake_paystack.request_count == 0


def test_floats_and_unsafe_references_refused_before_any_request(gateway, fake_paystack):
    with pytest.raises(TypeError):
        charge(gateway, "inv-11-a1", amount_minor=1234.0)
    with pytest.raises(ValueError):
        charge(gateway, "inv-11/../a1")
    with pytest.raises(ValueError):
        gateway.verify(reference="x?perPage=1")
    assert fake_paystack.request_count == 0


def test_concurrent_gateways_never_mix_keys_or_urls(monkeypatch):
    """Two integrations with different keys and servers, called from many threads at once."""
    original = Transaction.charge

    def charge_with_gap(cls, **kwargs):
        time.sleep(0.02)  # widen the gap where another thread could swap a shared request object
        return original(**kwargs)

    monkeypatch.setattr(Transaction, "charge", classmethod(charge_with_gap))
    fakes = {name: FakePaystack(secret_key=f"sk_test_{name * 20}", latency_ms=50) for name in "ab"}
    try:
        gateways = {name: make_gateway(fake.start(), fake.secret_key) for name, fake in fakes.items()}
        jobs = [(name, i) for i in range(12) for name in "ab"]
        barrier = threading.Barrier(len(jobs))

        def run(job):
            name, i = job
            barrier.wait()
            return charge(gateways[name], f"{name}-{i}")

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            results = list(pool.map(run, jobs))
        elapsed = time.monotonic() - started

        assert all(r.status == "success" for r in results)  # a mixed-up key would be a 401
        for name, fake in fakes.items():
            assert sorted(c["reference"] for c in fake.charges) == sorted(f"{name}-{i}" for i in range(12))
        # 24 calls of >= 70 ms each: run one at a time they would take 1.7 s.
        assert elapsed < 0.8
    finally:
        for fake in fakes.values():
            fake.stop()


def test_paystackapi_never_falls_back_to_its_builtin_key(gateway, fake_paystack):
    # As if other code had used paystackapi first: its shared object with the built-in key.
    Borg._shared_state["requests"] = PayStackRequests(headers={"Authorization": "Bearer sk_test_builtin"})
    charge(gateway, "inv-12-a1")
    assert fake_paystack.charges[0]["reference"] == "inv-12-a1"
    with pytest.raises(ConfigurationError):
        Transaction.verify("inv-12-a1")  # outside the gateway there is no key to use


def test_secret_never_shown(fake_paystack, closed_port_url):
    secret = "sk_live_0123456789abcdef5678"
    config = GatewayConfig(closed_port_url, secret)
    assert secret not in repr(config) and secret not in str(config)
    assert "sk_live_••••••••5678" in repr(config)
    assert secret not in repr(PaystackGateway(config))
    errors = []
    for base_url, timeout in ((closed_port_url, 1.0), (fake_paystack.base_url, 1.0)):
        try:
            make_gateway(base_url, secret, read_timeout=timeout).test_connection()
        except PaystackError as exc:
            errors.append(exc)
    assert [type(e) for e in errors] == [Unavailable, InvalidKey]
    for exc in errors:
        assert secret not in str(exc) and secret not in repr(exc) and secret not in repr(exc.raw)


@pytest.mark.parametrize(
    "key, masked",
    [
        ("sk_live_0123456789abcdef1234", "sk_live_••••••••1234"),
        ("sk_test_0123456789abcdef9876", "sk_test_••••••••9876"),
        ("pk_test_0123456789abcdef4321", "pk_test_••••••••4321"),
        ("sk_test_short", "sk_test_••••••••"),
        ("", ""),
    ],
)
def test_mask_secret(key, masked):
    assert mask_secret(key) == masked


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (400, {"status": False, "message": "Transaction reference not found"}, NotFound),
        (400, {"status": False, "message": "Duplicate Transaction Reference", "code": "duplicate_reference"},
         DuplicateReference),
        (400, {"status": False, "message": "Invalid Amount Sent"}, InvalidRequest),
        (422, None, InvalidRequest),
        (200, {"status": False, "message": "Invalid Amount Sent"}, InvalidRequest),
        (401, {"status": False, "message": "Invalid key"}, InvalidKey),
        (429, None, RateLimited),
        (502, None, Unavailable),  # e.g. an HTML page from a proxy
        (200, None, GatewayTimeout),  # unreadable success: outcome unknown
    ],
)
def test_error_mapping(status, body, expected):
    error = error_for(status, body, retry_after=3.0)
    assert type(error) is expected
    assert error.http_status == status
