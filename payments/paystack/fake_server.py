"""A fake Paystack API for development, tests and benchmarks.

Answers the endpoints the project uses with the JSON shapes of Paystack's OpenAPI description,
checks the bearer key, rejects reused references and posts signed webhooks. Outcomes are chosen
per authorization code or email, by name convention or through the control API:

* convention: ``AUTH_<outcome>_anything`` or ``someone+<outcome>@example.com``; default success;
* control API (no auth): ``POST /__fake__/script {"authorization_code"|"email", "outcome"}``,
  ``GET /__fake__/charges``, ``GET /__fake__/refunds``, ``POST /__fake__/reset``,
  ``GET|POST /__fake__/config {"webhook_url", "latency_ms", "timeout_delay_s", ...}``.

Run: ``python -m payments.paystack.fake_server --port 8765 --secret-key sk_test_demo
--webhook-url http://127.0.0.1:8000/webhooks/paystack [--latency-ms 50] [--timeout-delay-s 5]``.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import logging
import re
import signal
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from payments.paystack.gateway import mask_secret
from payments.paystack.signing import sign

logger = logging.getLogger(__name__)

# Outcome -> gateway_response for declines; Paystack answers these with HTTP 200, data.status "failed".
DECLINES = {
    "insufficient_funds": "Insufficient Funds",
    "do_not_honour": "Do Not Honor",
    "expired_card": "Expired Card",
}
OUTCOMES = (
    "success", *DECLINES, "slow", "server_error", "webhook_later", "webhook_twice", "pending",
)
# Longest first, so "webhook_twice" is not read as a shorter name that prefixes it.
_OUTCOMES_BY_LENGTH = sorted(OUTCOMES, key=len, reverse=True)
CURRENCIES = ("NGN", "GHS", "ZAR", "KES", "USD")
_REFERENCE_RE = re.compile(r"^[A-Za-z0-9.=-]{1,100}$")
_SETTINGS = ("webhook_url", "latency_ms", "timeout_delay_s", "webhook_delay_s", "refund_delay_s")
INTEGRATION_ID = 100001


def outcome_from_convention(*, authorization_code: str = "", email: str = "") -> str | None:
    """The outcome named by ``AUTH_<outcome>_...`` or ``name+<outcome>@domain``, if any."""
    tags = []
    if authorization_code.startswith("AUTH_"):
        tags.append(authorization_code[len("AUTH_"):])
    local = email.partition("@")[0]
    if "+" in local:
        tags.append(local.partition("+")[2])
    for tag in tags:
        for outcome in _OUTCOMES_BY_LENGTH:
            if tag == outcome or tag.startswith(outcome + "_"):
                return outcome
    return None


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def _error(status: int, message: str, **extra) -> tuple[int, dict]:
    return status, {"status": False, "message": message, **extra}


class FakePaystack:
    """In-process fake Paystack. ``start()`` serves it on a background thread."""

    def __init__(
        self,
        secret_key: str,
        webhook_url: str | None = None,
        latency_ms: int = 0,
        timeout_delay_s: float = 5.0,
        webhook_delay_s: float = 1.0,
        refund_delay_s: float = 0.5,
    ):
        if not secret_key:
            raise ValueError("secret_key is required")
        self.secret_key = secret_key
        self.webhook_url = webhook_url
        self.latency_ms = latency_ms
        self.timeout_delay_s = timeout_delay_s  # how long "slow" charges take to answer
        self.webhook_delay_s = webhook_delay_s  # delay of "webhook_later" / "pending" webhooks
        self.refund_delay_s = refund_delay_s  # refund.pending -> refund.processed
        self._lock = threading.Lock()  # guards the dicts below; never held while sleeping or posting
        self._ids = itertools.count(4_000_001)
        self._transactions: dict[str, dict] = {}  # by reference, in insertion order
        self._refunds: dict[int, dict] = {}
        self._customers: dict[str, dict] = {}
        self._scripts: dict[tuple[str, str], str] = {}
        self._timers: set[threading.Timer] = set()
        self._request_count = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.base_url: str | None = None

    def __repr__(self) -> str:
        return f"<FakePaystack {self.base_url or 'stopped'} key={mask_secret(self.secret_key)}>"

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = a free port) in a daemon thread; returns the base URL."""
        self._stopping.clear()
        self._executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="fake-paystack-webhook")
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
            name="fake-paystack", daemon=True,
        )
        self._thread.start()
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        logger.info("Fake Paystack listening on %s (key %s)", self.base_url, mask_secret(self.secret_key))
        return self.base_url

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and drop webhooks not yet sent."""
        self._stopping.set()
        self._cancel_timers()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self.base_url = None

    # --- scripting and inspection ------------------------------------------------------------

    def script(self, outcome: str | None, *, authorization_code: str | None = None, email: str | None = None) -> None:
        """Make charges with this authorization code or email end in ``outcome`` (None clears)."""
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; choose from {', '.join(OUTCOMES)}")
        if bool(authorization_code) == bool(email):
            raise ValueError("give exactly one of authorization_code or email")
        key = ("authorization_code", authorization_code) if authorization_code else ("email", email.lower())
        with self._lock:
            if outcome is None:
                self._scripts.pop(key, None)
            else:
                self._scripts[key] = outcome

    def configure(self, **settings) -> dict:
        """Change webhook_url, latency_ms, timeout_delay_s, webhook_delay_s or refund_delay_s."""
        unknown = set(settings) - set(_SETTINGS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        for name, value in settings.items():
            setattr(self, name, value)
        return self.settings

    @property
    def settings(self) -> dict:
        return {name: getattr(self, name) for name in _SETTINGS}

    def set_webhook_url(self, url: str | None) -> None:
        self.webhook_url = url

    @property
    def charges(self) -> list[dict]:
        """Every recorded charge attempt (successful or declined), oldest first."""
        with self._lock:
            return [self._public_charge(tx) for tx in self._transactions.values()]

    @property
    def refunds(self) -> list[dict]:
        with self._lock:
            return [dict(refund) for refund in self._refunds.values()]

    @property
    def request_count(self) -> int:
        """Paystack API requests received (control API excluded)."""
        return self._request_count

    def reset(self) -> None:
        """Forget charges, refunds and scripts; cancel webhooks not yet sent. Settings stay."""
        self._cancel_timers()
        with self._lock:
            self._transactions.clear()
            self._refunds.clear()
            self._customers.clear()
            self._scripts.clear()
            self._request_count = 0

    # --- request dispatch --------------------------------------------------------------------

    def dispatch(self, method: str, target: str, headers, raw: bytes) -> tuple[int, dict]:
        """Answer one HTTP request: returns (status, JSON body)."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        body: dict = {}
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "Invalid JSON body")
            if not isinstance(body, dict):
                return _error(400, "Invalid JSON body")
        if path.startswith("/__fake__/"):
            return self._control(method, path[len("/__fake__/"):], body)

        with self._lock:
            self._request_count += 1
        if self.latency_ms:
            self._stopping.wait(self.latency_ms / 1000)
        expected = f"Bearer {self.secret_key}".encode()
        if not hmac.compare_digest((headers.get("Authorization") or "").encode(), expected):
            return _error(401, "Invalid key")

        if method == "POST" and path == "/transaction/charge_authorization":
            return self._charge_authorization(body)
        if method == "GET" and path.startswith("/transaction/verify/"):
            return self._verify(unquote(path[len("/transaction/verify/"):]))
        if method == "POST" and path == "/refund":
            return self._create_refund(body)
        if method == "GET" and path.startswith("/refund/"):
            return self._fetch_refund(path[len("/refund/"):])
        if method == "GET" and path == "/balance":
            return self._balance()
        return _error(404, f"Route not found: {method} {path}")

    def _control(self, method: str, action: str, body: dict) -> tuple[int, dict]:
        try:
            if method == "POST" and action == "script":
                self.script(
                    body.get("outcome"),
                    authorization_code=body.get("authorization_code"),
                    email=body.get("email"),
                )
                return 200, {"ok": True}
            if method == "GET" and action == "charges":
                return 200, {"charges": self.charges}
            if method == "GET" and action == "refunds":
                return 200, {"refunds": self.refunds}
            if method == "POST" and action == "reset":
                self.reset()
                return 200, {"ok": True}
            if action == "config" and method in ("GET", "POST"):
                return 200, self.configure(**body) if method == "POST" else self.settings
        except (ValueError, TypeError) as exc:
            return 400, {"ok": False, "error": str(exc)}
        return 404, {"ok": False, "error": f"no control action {method} {action}"}

    # --- API endpoints -----------------------------------------------------------------------

    def _outcome_for(self, authorization_code: str, email: str) -> str:
        with self._lock:
            scripted = self._scripts.get(("authorization_code", authorization_code)) or self._scripts.get(
                ("email", email.lower())
            )
        return scripted or outcome_from_convention(authorization_code=authorization_code, email=email) or "success"

    def _charge_authorization(self, body: dict) -> tuple[int, dict]:
        authorization_code = body.get("authorization_code")
        email = body.get("email")
        amount = body.get("amount")
        currency = body.get("currency") or "NGN"
        reference = body.get("reference") or f"fake{next(self._ids)}"
        if not isinstance(authorization_code, str) or not authorization_code:
            return _error(400, "Authorization code is required", type="validation_error")
        if not isinstance(email, str) or "@" not in email:
            return _error(400, "Invalid email address", type="validation_error")
        if isinstance(amount, str) and amount.isdigit():
            amount = int(amount)  # Paystack accepts digit strings, never decimals
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return _error(400, "Invalid Amount Sent", type="validation_error")
        if currency not in CURRENCIES:
            return _error(400, "Currency not supported by merchant", type="validation_error")
        if not isinstance(reference, str) or not _REFERENCE_RE.match(reference):
            return _error(400, "Invalid transaction reference", type="validation_error")

        outcome = self._outcome_for(authorization_code, email)
        if outcome == "server_error":
            return _error(500, "An error occurred while processing this request")
        now = _now()
        status = {"pending": "pending", **{d: "failed" for d in DECLINES}}.get(outcome, "success")
        with self._lock:
            if reference in self._transactions:
                return _error(
                    400, "Duplicate Transaction Reference",
                    meta={"nextStep": "Try and create the Transaction or Charge with a new reference"},
                    type="validation_error", code="duplicate_reference",
                )
            tx = self._transactions[reference] = {
                "id": next(self._ids),
                "reference": reference,
                "amount": amount,
                "currency": currency,
                "email": email,
                "authorization_code": authorization_code,
                "metadata": body.get("metadata"),
                "status": status,
                "gateway_response": DECLINES.get(outcome, "Pending" if status == "pending" else "Approved"),
                "outcome": outcome,
                "created_at": now,
                "paid_at": now if status == "success" else None,
            }
            customer = self._customer(email)
            response = self._charge_data(tx, customer)

        webhook_url = self.webhook_url
        if outcome == "pending":
            self._later(self.webhook_delay_s, self._settle_pending, reference, webhook_url)
        elif status == "success" and webhook_url:
            bodies = [self._charge_success_event(reference)]
            if outcome == "webhook_twice":
                bodies.append(bodies[0])
            if outcome == "webhook_later":
                self._later(self.webhook_delay_s, self._deliver, webhook_url, bodies)
            else:
                self._executor.submit(self._deliver, webhook_url, bodies)
        if outcome == "slow":
            # Recorded as succeeded above: a client that times out finds it by verifying.
            self._stopping.wait(self.timeout_delay_s)
        return 200, {"status": True, "message": "Charge attempted", "data": response}

    def _settle_pending(self, reference: str, webhook_url: str | None) -> None:
        with self._lock:
            tx = self._transactions.get(reference)
            if tx is None or tx["status"] != "pending":
                return
            tx.update(status="success", gateway_response="Approved", paid_at=_now())
        if webhook_url:
            self._deliver(webhook_url, [self._charge_success_event(reference)])

    def _verify(self, reference: str) -> tuple[int, dict]:
        with self._lock:
            tx = self._transactions.get(reference)
            if tx is None:
                # The OpenAPI Error schema only allows generic values in "code", so none is sent.
                return _error(404, "Transaction reference not found", type="validation_error")
            data = self._charge_data(tx, self._customer(tx["email"]))
        metadata = self._metadata_object(tx["metadata"])
        data.update(
            receipt_number=None,
            paid_at=_iso(tx["paid_at"]),
            created_at=_iso(tx["created_at"]),
            ip_address="",
            metadata=metadata if isinstance(metadata, dict) else data["metadata"],
            fees_split=None,
            split={},
            order_id=None,
            paidAt=_iso(tx["paid_at"]),
            createdAt=_iso(tx["created_at"]),
            requested_amount=tx["amount"],
            pos_transaction_data=None,
            source=None,
            fees_breakdown=None,
            connect=None,
            plan_object={},
            subaccount={},
        )
        return 200, {"status": True, "message": "Verification successful", "data": data}

    def _create_refund(self, body: dict) -> tuple[int, dict]:
        wanted = body.get("transaction")
        amount = body.get("amount")
        if wanted in (None, ""):
            return _error(400, "Transaction reference or id is required", type="validation_error")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0):
            return _error(400, "Invalid amount", type="validation_error")
        now = _now()
        with self._lock:
            tx = self._find_transaction(wanted)
            if tx is None:
                return _error(404, "Transaction not found", type="validation_error")
            if tx["status"] != "success":
                return _error(400, "Cannot refund a transaction that was not successful", type="validation_error")
            if body.get("currency") and body["currency"] != tx["currency"]:
                return _error(400, "Currency does not match the transaction's", type="validation_error")
            refunded = sum(r["amount"] for r in self._refunds.values()
                           if r["transaction_id"] == tx["id"] and r["status"] != "failed")
            remaining = tx["amount"] - refunded
            amount = remaining if amount is None else amount
            if amount > remaining or remaining <= 0:
                return _error(400, "Refund amount cannot be more than the unrefunded transaction amount",
                              type="validation_error")
            refund_id = next(self._ids)
            refund = self._refunds[refund_id] = {
                "id": refund_id,
                "transaction_id": tx["id"],
                "transaction_reference": tx["reference"],
                "transaction_amount": tx["amount"],
                "amount": amount,
                "currency": tx["currency"],
                "email": tx["email"],
                "status": "pending",
                "merchant_note": str(body.get("merchant_note") or ""),
                "customer_note": str(body.get("customer_note") or ""),
                "refund_reference": None,
                "created_at": now,
                "refunded_at": None,
            }
            data = self._refund_create_data(tx, refund)
        self._later(0, self._process_refund, refund_id, self.webhook_url)
        return 200, {"status": True, "message": "Refund has been queued for processing", "data": data}

    def _process_refund(self, refund_id: int, webhook_url: str | None) -> None:
        if webhook_url:
            self._deliver(webhook_url, [self._refund_event("refund.pending", refund_id)])
        if self._stopping.wait(self.refund_delay_s):
            return
        with self._lock:
            refund = self._refunds.get(refund_id)
            if refund is None:  # reset meanwhile
                return
            refund.update(status="processed", refunded_at=_now(), refund_reference=str(refund_id * 7919))
        if webhook_url:
            self._deliver(webhook_url, [self._refund_event("refund.processed", refund_id)])

    def _fetch_refund(self, raw_id: str) -> tuple[int, dict]:
        with self._lock:
            refund = self._refunds.get(int(raw_id)) if raw_id.isdigit() else None
            if refund is None:
                return _error(404, "Refund not found", type="validation_error")
            customer = self._customer(refund["email"])
            data = {
                "integration": INTEGRATION_ID,
                "transaction": refund["transaction_id"],
                "dispute": None,
                "settlement": None,
                "id": refund["id"],
                "domain": "test",
                "currency": refund["currency"],
                "amount": refund["amount"],
                "status": refund["status"],
                "refunded_at": _iso(refund["refunded_at"]),
                "refunded_by": "api@billing-ops.test",
                "customer_note": refund["customer_note"],
                "merchant_note": refund["merchant_note"],
                "deducted_amount": refund["amount"] if refund["status"] == "processed" else 0,
                "fully_deducted": 1 if refund["status"] == "processed" else 0,
                "createdAt": _iso(refund["created_at"]),
                "bank_reference": None,
                "transaction_reference": refund["transaction_reference"],
                "reason": refund["merchant_note"],
                # This endpoint documents every customer field as a (non-null) string.
                "customer": {
                    **customer, "first_name": "", "last_name": "", "phone": "",
                    "metadata": "", "international_format_phone": "",
                },
                "refund_type": "full" if refund["amount"] == refund["transaction_amount"] else "partial",
                "transaction_amount": refund["transaction_amount"],
                "initiated_by": "api",
                "refund_channel": "card",
                "session_id": None,
                "collect_account_number": False,
            }
        return 200, {"status": True, "message": "Refund retrieved", "data": data}

    def _balance(self) -> tuple[int, dict]:
        balances = dict.fromkeys(("NGN",), 0)
        with self._lock:
            for tx in self._transactions.values():
                if tx["status"] == "success":
                    balances[tx["currency"]] = balances.get(tx["currency"], 0) + tx["amount"]
            for refund in self._refunds.values():
                if refund["status"] != "failed":
                    balances[refund["currency"]] -= refund["amount"]
        data = [{"currency": currency, "balance": balance} for currency, balance in balances.items()]
        return 200, {"status": True, "message": "Balances retrieved", "data": data}

    # --- payload builders (call with the lock held where they read shared state) ---------------

    def _customer(self, email: str) -> dict:
        key = email.lower()
        customer = self._customers.get(key)
        if customer is None:
            digest = hashlib.sha1(key.encode()).hexdigest()[:13]
            customer = self._customers[key] = {
                "id": next(self._ids), "first_name": None, "last_name": None, "email": email,
                "customer_code": f"CUS_{digest}", "phone": None, "metadata": None,
                "risk_action": "default", "international_format_phone": None,
            }
        return dict(customer)

    @staticmethod
    def _authorization(tx: dict) -> dict:
        code = tx["authorization_code"]
        return {
            "authorization_code": code,
            "bin": "408408",
            "last4": "4081",
            "exp_month": "12",
            "exp_year": "2020" if tx["outcome"] == "expired_card" else "2030",
            "channel": "card",
            "card_type": "visa DEBIT",
            "bank": "TEST BANK",
            "country_code": "NG",
            "brand": "visa",
            "reusable": True,
            "signature": "SIG_" + hashlib.sha1(code.encode()).hexdigest()[:20],
            "account_name": None,
        }

    @staticmethod
    def _metadata_object(metadata):
        if isinstance(metadata, str) and metadata:
            try:
                return json.loads(metadata)
            except ValueError:
                return metadata
        return metadata

    @staticmethod
    def _fees(tx: dict) -> int | None:
        return min(tx["amount"] * 15 // 1000, 200_000) if tx["status"] == "success" else None

    def _charge_data(self, tx: dict, customer: dict) -> dict:
        metadata = tx["metadata"]
        return {
            "amount": tx["amount"],
            "currency": tx["currency"],
            "transaction_date": _iso(tx["created_at"]),
            "status": tx["status"],
            "reference": tx["reference"],
            "domain": "test",
            # This response documents metadata as the stringified object that was sent.
            "metadata": metadata if isinstance(metadata, str) else json.dumps(metadata) if metadata else "",
            "gateway_response": tx["gateway_response"],
            "message": None,
            "channel": "card",
            "ip_address": None,
            "log": None,
            "fees": self._fees(tx),
            "authorization": self._authorization(tx),
            "customer": customer,
            "plan": None,
            "id": tx["id"],
        }

    def _charge_success_event(self, reference: str) -> bytes:
        """A charge.success body shaped like Paystack's sample (metadata 0 when none was sent)."""
        with self._lock:
            tx = self._transactions[reference]
            customer = self._customer(tx["email"])
            customer.pop("international_format_phone")
            data = {
                "id": tx["id"],
                "domain": "test",
                "status": "success",
                "reference": tx["reference"],
                "amount": tx["amount"],
                "message": None,
                "gateway_response": tx["gateway_response"],
                "paid_at": _iso(tx["paid_at"]),
                "created_at": _iso(tx["created_at"]),
                "channel": "card",
                "currency": tx["currency"],
                "ip_address": None,
                "metadata": self._metadata_object(tx["metadata"]) or 0,
                "log": None,
                "fees": self._fees(tx),
                "customer": customer,
                "authorization": self._authorization(tx),
                "plan": {},
            }
        return json.dumps({"event": "charge.success", "data": data}).encode()

    def _refund_event(self, event: str, refund_id: int) -> bytes:
        """refund.* body shaped like Paystack's samples: the amount is a string there."""
        with self._lock:
            refund = self._refunds[refund_id]
            data = {
                "status": refund["status"],
                "transaction_reference": refund["transaction_reference"],
                "refund_reference": refund["refund_reference"],
                "amount": str(refund["amount"]),
                "currency": refund["currency"],
                "processor": "fake",
                "customer": {"first_name": "", "last_name": "", "email": refund["email"]},
                "integration": INTEGRATION_ID,
                "domain": "test",
            }
        return json.dumps({"event": event, "data": data}).encode()

    def _refund_create_data(self, tx: dict, refund: dict) -> dict:
        created = _iso(refund["created_at"])
        return {
            "transaction": {
                "id": tx["id"],
                "domain": "test",
                "reference": tx["reference"],
                "amount": tx["amount"],
                "paid_at": _iso(tx["paid_at"]),
                "channel": "card",
                "currency": tx["currency"],
                "authorization": {"exp_month": None, "exp_year": None, "account_name": None},
                "customer": {"international_format_phone": None},
                "plan": {},
                "subaccount": {"currency": None},
                "split": {},
                "order_id": None,
                "paidAt": _iso(tx["paid_at"]),
                "pos_transaction_data": None,
                "source": None,
                "fees_breakdown": None,
            },
            "integration": INTEGRATION_ID,
            "deducted_amount": 0,
            "channel": None,
            "merchant_note": refund["merchant_note"],
            "customer_note": refund["customer_note"],
            "status": refund["status"],
            "refunded_by": "api@billing-ops.test",
            "expected_at": _iso(refund["created_at"] + timedelta(days=10)),
            "currency": refund["currency"],
            "domain": "test",
            "amount": refund["amount"],
            "fully_deducted": False,
            "id": refund["id"],
            "createdAt": created,
            "updatedAt": created,
        }

    def _find_transaction(self, wanted) -> dict | None:
        if isinstance(wanted, str) and wanted in self._transactions:
            return self._transactions[wanted]
        if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.isdigit()):
            return next((tx for tx in self._transactions.values() if tx["id"] == int(wanted)), None)
        return None

    @staticmethod
    def _public_charge(tx: dict) -> dict:
        return {**tx, "created_at": _iso(tx["created_at"]), "paid_at": _iso(tx["paid_at"])}

    # --- webhooks ----------------------------------------------------------------------------

    def _deliver(self, url: str, bodies: list[bytes]) -> None:
        """POST each body, signed; failures are logged and dropped (Paystack retries, we don't)."""
        for body in bodies:
            if self._stopping.is_set():
                return
            request = urllib.request.Request(
                url, data=body, method="POST",
                headers={"Content-Type": "application/json",
                         "x-paystack-signature": sign(body, self.secret_key)},
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    response.read()
            except (urllib.error.URLError, OSError) as exc:
                logger.warning("Fake Paystack could not deliver a webhook to %s: %s", url, exc)

    def _later(self, delay: float, func, *args) -> None:
        def run():
            with self._lock:
                self._timers.discard(timer)
            if not self._stopping.is_set():
                func(*args)

        timer = threading.Timer(delay, run)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _cancel_timers(self) -> None:
        with self._lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the default listen backlog of 5 refuses bursts of clients
    fake: FakePaystack


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections
    disable_nagle_algorithm = True  # else headers and body as two writes cost a 40 ms delayed ACK
    server_version = "FakePaystack/1.0"
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, payload = self.server.fake.dispatch(self.command, self.path, self.headers, raw)
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its read time-out on a "slow" charge)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format, *args):
        logger.debug("%s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Paystack API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--timeout-delay-s", type=float, default=5.0)
    parser.add_argument("--webhook-delay-s", type=float, default=1.0)
    parser.add_argument("--refund-delay-s", type=float, default=0.5)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    fake = FakePaystack(
        secret_key=args.secret_key, webhook_url=args.webhook_url, latency_ms=args.latency_ms,
        timeout_delay_s=args.timeout_delay_s, webhook_delay_s=args.webhook_delay_s,
        refund_delay_s=args.refund_delay_s,
    )
    fake.start(args.host, args.port)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    fake.stop()


if __name__ == "__main__":
    main()
