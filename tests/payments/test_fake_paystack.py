"""The fake Paystack: response shapes against Paystack's OpenAPI file, webhooks, scripting."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Empty

import jsonschema
import pytest
import requests
import yaml

from payments.paystack import signing
from payments.paystack.fake_server import DECLINES, outcome_from_convention
from tests.payments.conftest import SHARED

SAMPLES = SHARED / "webhook-samples"


@pytest.fixture(scope="module")
def openapi():
    return yaml.safe_load((SHARED / "openapi" / "paystack.yaml").read_text())


def response_schema(openapi: dict, path: str, method: str, status: int) -> dict:
    """The JSON Schema of one documented response, $refs resolved and `nullable` translated."""
    components = openapi["components"]

    def resolve(node):
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            _, _, kind, name = node["$ref"].split("/")
            return resolve(components[kind][name])
        converted = {key: resolve(value) for key, value in node.items() if key not in ("nullable", "example")}
        if node.get("nullable"):
            return {"anyOf": [converted, {"type": "null"}]}
        return converted

    response = resolve(openapi["paths"][path][method.lower()]["responses"][str(status)])
    return response["content"]["application/json"]["schema"]


class Client:
    def __init__(self, fake, key=None):
        self.base_url = fake.base_url
        self.headers = {"Authorization": f"Bearer {key or fake.secret_key}"}

    def get(self, path):
        return requests.get(self.base_url + path, headers=self.headers, timeout=3)

    def post(self, path, body):
        return requests.post(self.base_url + path, json=body, headers=self.headers, timeout=3)

    def charge(self, reference, code="AUTH_card1", email="ada@example.com", amount=50000, **extra):
        body = {"authorization_code": code, "email": email, "amount": amount, "reference": reference, **extra}
        return self.post("/transaction/charge_authorization", body)


@pytest.fixture
def client(fake_paystack):
    return Client(fake_paystack)


def check(openapi, response, path, method, status):
    assert response.status_code == status
    jsonschema.validate(response.json(), response_schema(openapi, path, method, status))


def test_responses_match_the_openapi_description(openapi, client, fake_paystack):
    ok = client.charge("ref-1", metadata=json.dumps({"invoice": 7}))
    check(openapi, ok, "/transaction/charge_authorization", "POST", 200)
    declined = client.charge("ref-2", code="AUTH_insufficient_funds_1")
    check(openapi, declined, "/transaction/charge_authorization", "POST", 200)
    assert declined.json()["data"]["status"] == "failed"

    for reference in ("ref-1", "ref-2"):
        check(openapi, client.get(f"/transaction/verify/{reference}"), "/transaction/verify/{reference}", "GET", 200)
    check(openapi, client.get("/transaction/verify/nope"), "/transaction/verify/{reference}", "GET", 404)

    refund = client.post("/refund", {"transaction": "ref-1", "amount": 1000})
    check(openapi, refund, "/refund", "POST", 200)
    refund_id = refund.json()["data"]["id"]
    check(openapi, client.get(f"/refund/{refund_id}"), "/refund/{id}", "GET", 200)
    check(openapi, client.get("/refund/999"), "/refund/{id}", "GET", 404)

    check(openapi, client.get("/balance"), "/balance", "GET", 200)
    check(openapi, Client(fake_paystack, key="sk_test_wrong").get("/balance"), "/balance", "GET", 401)


def test_schema_check_catches_a_missing_field(openapi, client):
    """The translated schema is not vacuous: dropping a required field fails validation."""
    body = client.charge("ref-3").json()
    del body["data"]["authorization"]["last4"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, response_schema(openapi, "/transaction/charge_authorization", "POST", 200))


def test_declines_answer_200_with_the_reason(client):
    for i, (outcome, reason) in enumerate(DECLINES.items()):
        data = client.charge(f"ref-{i}", email=f"ada+{outcome}@example.com").json()["data"]
        assert (data["status"], data["gateway_response"]) == ("failed", reason)


def test_missing_or_wrong_key_is_401_and_records_nothing(fake_paystack, client):
    for headers in ({}, {"Authorization": "Bearer sk_test_other"}, {"Authorization": fake_paystack.secret_key}):
        response = requests.post(
            fake_paystack.base_url + "/transaction/charge_authorization", headers=headers, timeout=3,
            json={"authorization_code": "AUTH_1", "email": "a@example.com", "amount": 100},
        )
        assert response.status_code == 401
        assert response.json() == {"status": False, "message": "Invalid key"}
    assert fake_paystack.charges == []


def test_duplicate_reference_rejected(client, fake_paystack):
    assert client.charge("ref-dup").status_code == 200
    again = client.charge("ref-dup", amount=1)
    assert again.status_code == 400
    assert again.json()["status"] is False
    assert again.json()["message"] == "Duplicate Transaction Reference"
    assert [c["amount"] for c in fake_paystack.charges] == [50000]


def test_invalid_amounts_rejected(client, fake_paystack):
    for amount in (100.5, 0, -5, "12.50", None):
        assert client.charge(f"ref-amount-{len(fake_paystack.charges)}", amount=amount).status_code == 400
    assert fake_paystack.charges == []


def test_server_error_records_nothing(client, fake_paystack):
    response = client.charge("ref-500", code="AUTH_server_error_1")
    assert response.status_code == 500 and response.json()["status"] is False
    assert fake_paystack.charges == []


def test_charge_success_webhook_is_signed_and_shaped_like_the_sample(client, fake_paystack, webhook_receiver):
    fake_paystack.set_webhook_url(webhook_receiver.url)
    client.charge("ref-hook", metadata=json.dumps({"invoice": 7}))

    headers, body = webhook_receiver.next()
    assert signing.verify(body, fake_paystack.secret_key, headers["x-paystack-signature"])
    assert not signing.verify(body, "sk_test_someoneelse", headers["x-paystack-signature"])
    event = json.loads(body)
    sample = json.loads((SAMPLES / "transaction-successful.json").read_text())
    assert event["event"] == "charge.success"
    assert event["data"]["reference"] == "ref-hook"
    assert event["data"]["amount"] == 50000
    assert event["data"]["metadata"] == {"invoice": 7}
    assert set(sample["data"]) - {"log"} <= set(event["data"])
    for part in ("customer", "authorization"):
        assert set(sample["data"][part]) <= set(event["data"][part])


def test_no_webhook_for_failed_charges(client, fake_paystack, webhook_receiver):
    fake_paystack.set_webhook_url(webhook_receiver.url)
    client.charge("ref-declined", code="AUTH_do_not_honour_1")
    client.charge("ref-paid")
    _, body = webhook_receiver.next()
    assert json.loads(body)["data"]["reference"] == "ref-paid"  # the decline sent nothing before it
    with pytest.raises(Empty):
        webhook_receiver.next(timeout=0.3)


def test_no_webhook_without_a_webhook_url(client, fake_paystack, webhook_receiver):
    client.charge("ref-no-url")
    fake_paystack.set_webhook_url(webhook_receiver.url)
    with pytest.raises(Empty):
        webhook_receiver.next(timeout=0.3)


def test_webhook_twice_posts_two_identical_bodies(client, fake_paystack, webhook_receiver):
    fake_paystack.set_webhook_url(webhook_receiver.url)
    client.charge("ref-twice", code="AUTH_webhook_twice_1")
    first, second = webhook_receiver.next(), webhook_receiver.next()
    assert first[1] == second[1]
    assert first[0]["x-paystack-signature"] == second[0]["x-paystack-signature"]
    assert json.loads(first[1])["data"]["reference"] == "ref-twice"


def test_webhook_later_answers_success_first(client, fake_paystack, webhook_receiver):
    fake_paystack.set_webhook_url(webhook_receiver.url)
    started = time.monotonic()
    assert client.charge("ref-later", code="AUTH_webhook_later_1").json()["data"]["status"] == "success"
    _, body = webhook_receiver.next()
    assert time.monotonic() - started >= 0.25  # the fixture's webhook_delay_s is 0.3
    assert json.loads(body)["data"]["reference"] == "ref-later"


def test_refund_posts_pending_then_processed(client, fake_paystack, webhook_receiver):
    client.charge("ref-refund")
    fake_paystack.set_webhook_url(webhook_receiver.url)
    refund_id = client.post("/refund", {"transaction": "ref-refund", "amount": 2000}).json()["data"]["id"]

    events = [webhook_receiver.next() for _ in range(2)]
    assert [json.loads(body)["event"] for _, body in events] == ["refund.pending", "refund.processed"]
    for name, (headers, body) in zip(("refund-pending", "refund-processed"), events):
        assert signing.verify(body, fake_paystack.secret_key, headers["x-paystack-signature"])
        data = json.loads(body)["data"]
        sample = json.loads((SAMPLES / f"{name}.json").read_text())["data"]
        assert set(sample) <= set(data)
        assert data["amount"] == "2000"  # a string, as Paystack sends it
        assert data["transaction_reference"] == "ref-refund"
    assert client.get(f"/refund/{refund_id}").json()["data"]["status"] == "processed"


def test_control_api(fake_paystack, client):
    control = fake_paystack.base_url + "/__fake__/"
    assert requests.post(control + "script", json={"email": "bo@example.com", "outcome": "expired_card"},
                         timeout=3).status_code == 200
    assert requests.post(control + "script", json={"email": "bo@example.com", "outcome": "nonsense"},
                         timeout=3).status_code == 400
    assert client.charge("ref-c1", email="Bo@example.com").json()["data"]["gateway_response"] == "Expired Card"

    charges = requests.get(control + "charges", timeout=3).json()["charges"]
    assert [(c["reference"], c["status"]) for c in charges] == [("ref-c1", "failed")]

    settings = requests.post(control + "config", json={"latency_ms": 150}, timeout=3).json()
    assert settings["latency_ms"] == 150
    started = time.monotonic()
    client.get("/balance")
    assert time.monotonic() - started >= 0.15

    assert requests.post(control + "reset", timeout=3).status_code == 200
    assert fake_paystack.charges == []
    assert client.charge("ref-c2", email="bo@example.com").json()["data"]["status"] == "success"  # script gone


def test_latency_does_not_serialise_requests(fake_paystack, client):
    fake_paystack.configure(latency_ms=200)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda i: client.charge(f"ref-par-{i}").status_code, range(10)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 10
    assert 0.2 <= elapsed < 1.0  # one at a time would be 2 s
    assert len(fake_paystack.charges) == 10


@pytest.mark.parametrize(
    "code, email, outcome",
    [
        ("AUTH_insufficient_funds_xyz", "a@example.com", "insufficient_funds"),
        ("AUTH_webhook_twice", "a@example.com", "webhook_twice"),
        ("AUTH_slowpoke", "a@example.com", None),  # "slow" must be a whole word
        ("AUTH_abc", "x+expired_card@example.com", "expired_card"),
        ("AUTH_abc", "x+do_not_honour_2@example.com", "do_not_honour"),
        ("AUTH_abc", "plain@example.com", None),
    ],
)
def test_outcome_convention(code, email, outcome):
    assert outcome_from_convention(authorization_code=code, email=email) == outcome


def test_command_line_server(closed_port_url):
    port = int(closed_port_url.rsplit(":", 1)[1])
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "payments.paystack.fake_server", "--port", str(port),
         "--secret-key", "sk_test_cli0000000000001234", "--latency-ms", "1"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/balance", timeout=1,
                                        headers={"Authorization": "Bearer sk_test_cli0000000000001234"})
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "fake server did not start"
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["status"] is True
    finally:
        process.terminate()
        output = process.communicate(timeout=5)[0].decode()
    assert process.returncode == 0
    assert "sk_test_cli0000000000001234" not in output
