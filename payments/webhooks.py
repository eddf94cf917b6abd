"""POST /webhooks/paystack: the signature is the authentication (CONTRACT §7)."""
from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from billing_ops.access import PUBLIC
from billing_ops.api.errors import error_body
from payments.models import PaystackConfig
from payments.paystack import signing
from payments.services.webhooks import webhook_receive

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


# The active secret key, remembered per process for a few seconds: every delivery would otherwise
# read and decrypt the configuration. A signature that fails against the remembered key is checked
# again against a fresh read, so a rotated key is honoured at once; the old key stops working within
# SECRET_MAX_AGE seconds of the rotation.
SECRET_MAX_AGE = 10.0
_secret_cache: dict[str, tuple[float, str]] = {}


def _active_secret(*, fresh: bool = False) -> str:
    now = time.monotonic()
    cached = _secret_cache.get("secret")
    if fresh or cached is None or now - cached[0] > SECRET_MAX_AGE:
        cached = (now, PaystackConfig.load().secret_key)
        _secret_cache["secret"] = cached
    return cached[1]


def forget_secret(**_kwargs) -> None:
    _secret_cache.clear()


post_save.connect(forget_secret, sender=PaystackConfig, dispatch_uid="payments.webhooks.forget_secret")
post_delete.connect(forget_secret, sender=PaystackConfig, dispatch_uid="payments.webhooks.forget_secret.delete")


def _signature_valid(raw: bytes, signature: str | None) -> bool:
    return signing.verify(raw, _active_secret(), signature) or signing.verify(raw, _active_secret(fresh=True), signature)


@method_decorator(csrf_exempt, name="dispatch")
class PaystackWebhookView(View):
    """Size check → signature check (constant time, active secret key) → parse → store once → 200.

    Nothing is stored unless the signature is right. Processing happens in a task.
    """

    capabilities = {"POST": PUBLIC}
    http_method_names = ["post"]

    def post(self, request):
        limit = settings.PAYSTACK_WEBHOOK_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error(400, "malformed", "Bad Content-Length.")
        if declared > limit:
            return _error(400, "too_large", f"Webhook bodies are limited to {limit} bytes.")
        raw = request.body
        if len(raw) > limit:
            return _error(400, "too_large", f"Webhook bodies are limited to {limit} bytes.")
        if not _signature_valid(raw, request.headers.get("x-paystack-signature")):
            logger.warning("Paystack webhook with a bad or missing signature from %s", request.META.get("REMOTE_ADDR"))
            return _error(401, "bad_signature", "The x-paystack-signature header does not match the body.")
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _error(400, "malformed", "The body is not JSON.")
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str) or not payload["event"]:
            return _error(400, "malformed", "The body has no event name.")
        _event, created = webhook_receive(raw=raw, payload=payload)
        return JsonResponse({"status": "ok", "duplicate": not created})
