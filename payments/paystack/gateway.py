"""Paystack adapter: paystackapi's resource classes behind a safe, per-call request object.

paystackapi keeps one request object for the whole process (a Borg shared dict in
``paystackapi.base``), builds it on first use from ``PAYSTACK_SECRET_KEY`` or a hard-coded
public test key, sends without a time-out and returns ``response.json()`` whatever the HTTP
status. This module puts a router into that shared slot once; the router forwards each call
to the request object bound in the calling context (a ContextVar, so per thread), which
carries the caller's base URL and key, uses time-outs and turns failures into typed errors.
No lock is held during a request, so calls from many threads run in parallel.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from paystackapi.base import Borg, PayStackRequests
from paystackapi.refund import Refund
from paystackapi.tcontrol import TransferControl
from paystackapi.transaction import Transaction

logger = logging.getLogger(__name__)

PAYSTACK_API_URL = "https://api.paystack.co"

# Paystack allows only these characters in a reference; paystackapi puts it in the URL unescaped.
_REFERENCE_RE = re.compile(r"^[A-Za-z0-9.=-]{1,100}$")
_KEY_PREFIX_RE = re.compile(r"^([a-z]{2}_(?:live|test)_)")
_MASK = "••••••••"


def mask_secret(key: str | None) -> str:
    """``sk_live_••••••••1234``: the key's kind prefix and last four characters only."""
    if not key:
        return ""
    match = _KEY_PREFIX_RE.match(key)
    prefix = match.group(1) if match else ""
    rest = key[len(prefix):]
    # Too short a key would be mostly revealed by its last four characters.
    last4 = rest[-4:] if len(rest) >= 12 else ""
    return f"{prefix}{_MASK}{last4}"


# --- errors -----------------------------------------------------------------------------------


class PaystackError(Exception):
    """A Paystack call failed. ``message`` never contains the secret key."""

    def __init__(self, message: str, *, http_status: int | None = None, raw: dict | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.raw = raw

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.http_status})" if self.http_status else self.message


class ConfigurationError(PaystackError):
    """The gateway is not configured (no secret key, or a public key given as the secret)."""


class InvalidKey(PaystackError):
    """Paystack refused the secret key (401)."""


class DuplicateReference(PaystackError):
    """The reference was used before; nothing new was charged. Verify it to learn its outcome."""


class RateLimited(PaystackError):
    """Too many requests (429); ``retry_after`` is in seconds when Paystack said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(PaystackError):
    """Paystack could not be reached (refused, connect time-out) or answered 5xx.

    A refused or timed-out connection never reached Paystack. After a 5xx on a charge, verify
    the reference before charging under a new one: retrying the same reference is always safe
    because Paystack rejects a duplicate.
    """


class GatewayTimeout(PaystackError):
    """The request was sent but no usable answer came back (read time-out, dropped connection,
    garbled 2xx). The outcome is UNKNOWN: verify the reference before any new attempt."""


class InvalidRequest(PaystackError):
    """Paystack rejected the request (4xx other than the cases above)."""


class NotFound(PaystackError):
    """No such transaction or refund on this integration."""


def error_for(http_status: int, body: dict | None, *, retry_after: float | None = None) -> PaystackError:
    """Map an unsuccessful Paystack answer to the matching PaystackError subclass."""
    message = str((body or {}).get("message") or f"Paystack answered HTTP {http_status}")
    code = str((body or {}).get("code") or "").lower()
    lowered = message.lower()
    kwargs = {"http_status": http_status, "raw": body}
    if http_status == 401:
        return InvalidKey(message, **kwargs)
    if http_status == 429:
        return RateLimited(message, retry_after=retry_after, **kwargs)
    if http_status >= 500:
        return Unavailable(message, **kwargs)
    if 200 <= http_status < 300 and body is None:
        return GatewayTimeout("Paystack sent an unreadable answer; outcome unknown", **kwargs)
    if code == "duplicate_reference" or "duplicate transaction reference" in lowered:
        return DuplicateReference(message, **kwargs)
    # Real Paystack answers an unknown reference with 400 "Transaction reference not found".
    if http_status == 404 or code.endswith("not_found") or "not found" in lowered:
        return NotFound(message, **kwargs)
    if 400 <= http_status < 500 or 200 <= http_status < 300:
        return InvalidRequest(message, **kwargs)
    return PaystackError(message, **kwargs)


# --- configuration and results ---------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class GatewayConfig:
    """Where and how to reach Paystack. The secret key is masked in repr()."""

    base_url: str
    secret_key: str = field(repr=False)
    connect_timeout: float = 3.05
    read_timeout: float = 10.0

    def __repr__(self) -> str:
        return (
            f"GatewayConfig(base_url={self.base_url!r}, secret_key={mask_secret(self.secret_key)!r}, "
            f"connect_timeout={self.connect_timeout!r}, read_timeout={self.read_timeout!r})"
        )


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of a charge or verify. ``status`` is "success", "failed" or "pending"."""

    reference: str
    status: str
    amount_minor: int
    currency: str
    gateway_response: str
    transaction_id: int | None
    paid_at: str | None
    authorization: dict | None
    raw: dict = field(repr=False)


@dataclass(frozen=True)
class RefundResult:
    """A refund as Paystack reports it (``status``: pending, processing, processed, failed, ...)."""

    id: int
    status: str
    amount_minor: int
    currency: str
    transaction_reference: str | None
    raw: dict = field(repr=False)


# Paystack transaction statuses -> ours. Anything not listed is "pending": verify again later.
_CHARGE_STATUS = {
    "success": "success",
    "failed": "failed",
    "abandoned": "failed",
    "reversed": "failed",
}


def _to_minor(value: Any, what: str = "amount") -> int:
    """Paystack amounts are integer subunits; some payloads send them as digit strings."""
    if isinstance(value, bool):
        raise PaystackError(f"Paystack sent a non-integer {what}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise PaystackError(f"Paystack sent a non-integer {what}: {value!r}")


def _authorization(auth: Any) -> dict | None:
    if not isinstance(auth, dict) or not auth.get("authorization_code"):
        return None
    result = dict(auth)
    for key in ("exp_month", "exp_year"):  # Paystack sends "08", "2030"
        value = result.get(key)
        if isinstance(value, str) and value.isdigit():
            result[key] = int(value)
    return result


def _charge_result(body: dict, *, reference: str, currency: str | None = None) -> ChargeResult:
    data = body.get("data")
    if not isinstance(data, dict):
        raise GatewayTimeout("Paystack answered without transaction data; outcome unknown", raw=body)
    paystack_status = str(data.get("status") or "").lower()
    tx_id = data.get("id")
    return ChargeResult(
        reference=str(data.get("reference") or reference),
        status=_CHARGE_STATUS.get(paystack_status, "pending"),
        amount_minor=_to_minor(data.get("amount")),
        currency=str(data.get("currency") or currency or ""),
        gateway_response=str(data.get("gateway_response") or data.get("message") or ""),
        transaction_id=tx_id if isinstance(tx_id, int) and not isinstance(tx_id, bool) else None,
        # The charge response has no paid_at; its transaction_date is the payment time on success.
        paid_at=data.get("paid_at") or data.get("paidAt")
        or (data.get("transaction_date") if paystack_status == "success" else None),
        authorization=_authorization(data.get("authorization")),
        raw=body,
    )


def _refund_result(body: dict) -> RefundResult:
    data = body.get("data")
    if not isinstance(data, dict):
        raise PaystackError("Paystack answered without refund data", raw=body)
    tx = data.get("transaction")
    reference = data.get("transaction_reference") or (tx.get("reference") if isinstance(tx, dict) else None)
    return RefundResult(
        id=int(data["id"]),
        status=str(data.get("status") or ""),
        amount_minor=_to_minor(data.get("amount")),
        currency=str(data.get("currency") or ""),
        transaction_reference=reference,
        raw=body,
    )


def _check_reference(reference: str) -> str:
    if not isinstance(reference, str) or not _REFERENCE_RE.match(reference):
        raise ValueError("A Paystack reference is 1-100 characters of letters, digits, '-', '.' and '='")
    return reference


def _check_amount(amount_minor: Any) -> int:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("amount_minor must be an int of currency subunits (kobo), never a float")
    if amount_minor <= 0:
        raise ValueError("amount_minor must be positive")
    return amount_minor


# --- the request object paystackapi calls ----------------------------------------------------


_bound_requests: contextvars.ContextVar[_GatewayRequests | None] = contextvars.ContextVar(
    "paystack_bound_requests", default=None
)
_router_lock = threading.Lock()


class _ContextRouter:
    """Sits in paystackapi's shared ``requests`` slot; forwards to the context's request object.

    Because the slot is filled, paystackapi never builds its own object with the built-in key.
    """

    def _target(self) -> _GatewayRequests:
        bound = _bound_requests.get()
        if bound is None:
            raise ConfigurationError("paystackapi was called outside PaystackGateway; no key is configured")
        return bound

    def get(self, endpoint, **kwargs):
        return self._target().get(endpoint, **kwargs)

    def post(self, endpoint, **kwargs):
        return self._target().post(endpoint, **kwargs)

    def put(self, endpoint, **kwargs):
        return self._target().put(endpoint, **kwargs)


def _ensure_router() -> None:
    # Borg._shared_state is the one dict every paystackapi resource instance uses as __dict__.
    state = Borg._shared_state
    if isinstance(state.get("requests"), _ContextRouter):
        return
    with _router_lock:
        if not isinstance(state.get("requests"), _ContextRouter):
            state["requests"] = _ContextRouter()


class _GatewayRequests(PayStackRequests):
    """paystackapi's request object with our URL, key, time-outs and status handling."""

    def __init__(self, config: GatewayConfig):
        super().__init__(
            api_url=config.base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {config.secret_key}", "User-Agent": "billing-ops"},
        )
        self._secret = config.secret_key
        self._timeout = (config.connect_timeout, config.read_timeout)
        self._local = threading.local()  # requests.Session is not documented as thread-safe

    def __repr__(self) -> str:
        return f"<_GatewayRequests {self.API_BASE_URL} key={mask_secret(self._secret)}>"

    def get(self, endpoint, **kwargs):
        return self._send("GET", endpoint, **kwargs)

    def post(self, endpoint, **kwargs):
        return self._send("POST", endpoint, **kwargs)

    def put(self, endpoint, **kwargs):
        return self._send("PUT", endpoint, **kwargs)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, mask_secret(self._secret)) if self._secret else text

    def _send(self, method: str, endpoint: str, *, data=None, qs=None) -> dict:
        url = self.API_BASE_URL + endpoint
        started = time.monotonic()
        try:
            response = self._session().request(
                method, url, json=data, params=qs, headers=self.headers, timeout=self._timeout
            )
        except requests.ConnectTimeout:
            raise Unavailable(f"Paystack did not accept a connection at {self.API_BASE_URL}") from None
        except requests.ReadTimeout:
            raise GatewayTimeout(
                f"No answer from Paystack to {method} /{endpoint} within {self._timeout[1]}s; outcome unknown"
            ) from None
        except requests.ConnectionError as exc:
            reason = getattr(exc.args[0] if exc.args else None, "reason", None)
            if isinstance(reason, urllib3.exceptions.NewConnectionError):
                raise Unavailable(f"Paystack unreachable at {self.API_BASE_URL}: {self._scrub(str(reason))}") from None
            raise GatewayTimeout(
                f"Connection to Paystack dropped during {method} /{endpoint}; outcome unknown"
            ) from None
        except requests.RequestException as exc:
            raise PaystackError(f"Paystack request failed: {type(exc).__name__}") from None
        logger.debug(
            "paystack %s /%s -> %s in %.0f ms", method, endpoint, response.status_code,
            (time.monotonic() - started) * 1000,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = None
        if 200 <= response.status_code < 300 and body is not None and body.get("status") is True:
            return body
        retry_after = response.headers.get("Retry-After")
        error = error_for(
            response.status_code, body,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
        error.message = self._scrub(error.message)
        error.args = (error.message,)
        raise error


# --- the gateway -----------------------------------------------------------------------------


class PaystackGateway:
    """Charges, verifies and refunds through Paystack with one integration's key.

    Thread-safe: one instance may be used from many threads, and instances with different
    keys or base URLs may run side by side.
    """

    def __init__(self, config: GatewayConfig):
        key = config.secret_key
        if not isinstance(key, str) or not key.strip():
            raise ConfigurationError("Paystack secret key is not set")
        if key.startswith("pk_"):
            raise ConfigurationError("A Paystack public key was given where the secret key is needed")
        if not config.base_url:
            raise ConfigurationError("Paystack base URL is not set")
        self.config = config
        self._requests = _GatewayRequests(config)

    def __repr__(self) -> str:
        return f"PaystackGateway({self.config!r})"

    def _call(self, func, *args, **kwargs) -> dict:
        _ensure_router()
        token = _bound_requests.set(self._requests)
        try:
            return func(*args, **kwargs)
        finally:
            _bound_requests.reset(token)

    def charge_authorization(
        self,
        *,
        authorization_code: str,
        email: str,
        amount_minor: int,
        currency: str,
        reference: str,
        metadata: dict | None = None,
    ) -> ChargeResult:
        """Charge a saved card. Declines come back as ``status="failed"``, not as an exception."""
        if not authorization_code or not email:
            raise ValueError("authorization_code and email are required")
        payload = {
            "authorization_code": authorization_code,
            "email": email,
            "amount": _check_amount(amount_minor),
            "currency": currency,
            "reference": _check_reference(reference),
        }
        if metadata is not None:
            payload["metadata"] = json.dumps(metadata)  # the API documents a stringified object
        body = self._call(Transaction.charge, **payload)
        return _charge_result(body, reference=reference, currency=currency)

    def verify(self, *, reference: str) -> ChargeResult:
        """The current state of the transaction with ``reference``; NotFound if Paystack has none."""
        body = self._call(Transaction.verify, _check_reference(reference))
        return _charge_result(body, reference=reference)

    def refund(
        self,
        *,
        transaction: str | int,
        amount_minor: int | None = None,
        currency: str | None = None,
        merchant_note: str = "",
        customer_note: str = "",
    ) -> RefundResult:
        """Refund a transaction (reference or id), fully or ``amount_minor`` of it.

        Paystack's refund API takes no client reference, so a retried call can refund twice:
        callers should check existing refunds before retrying after an error.
        """
        payload: dict[str, Any] = {"transaction": transaction}
        if amount_minor is not None:
            payload["amount"] = _check_amount(amount_minor)
        if currency:
            payload["currency"] = currency
        if merchant_note:
            payload["merchant_note"] = merchant_note
        if customer_note:
            payload["customer_note"] = customer_note
        return _refund_result(self._call(Refund.create, **payload))

    def fetch_refund(self, *, refund_id: int) -> RefundResult:
        """The current state of a refund."""
        if isinstance(refund_id, bool) or not isinstance(refund_id, int):
            raise TypeError("refund_id must be an int")
        return _refund_result(self._call(Refund.fetch, refund_id))

    def test_connection(self) -> None:
        """Check URL and key with a read-only call (balance); takes no charge."""
        self._call(TransferControl.check_balance)
