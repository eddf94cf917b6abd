"""Paystack configuration: the singleton's keys and mode, the gateway built from it, test connection."""
from __future__ import annotations

import logging
import re

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accounts import audit
from billing_ops.access import CONFIGURE_PAYMENTS, require_capability
from billing_ops.errors import ValidationFailed
from payments.models import PaystackConfig, PaystackMode
from payments.paystack.gateway import (
    ConfigurationError,
    GatewayConfig,
    InvalidKey,
    PaystackError,
    PaystackGateway,
    RateLimited,
    Unavailable,
    mask_secret,
)

logger = logging.getLogger(__name__)

KEY_FIELDS = ("test_public_key", "test_secret_key", "live_public_key", "live_secret_key")
_KEY_PATTERNS = {
    "test_public_key": re.compile(r"^pk_test_[A-Za-z0-9]{8,}$"),
    "test_secret_key": re.compile(r"^sk_test_[A-Za-z0-9]{8,}$"),
    "live_public_key": re.compile(r"^pk_live_[A-Za-z0-9]{8,}$"),
    "live_secret_key": re.compile(r"^sk_live_[A-Za-z0-9]{8,}$"),
}


def webhook_url() -> str:
    return settings.SITE_URL + reverse("webhooks:paystack")


def callback_url() -> str:
    return settings.SITE_URL + reverse("payments:list")


def masked_config(config: PaystackConfig) -> dict:
    """The configuration as staff and the API may see it: keys masked, never in full."""
    return {
        "mode": config.mode,
        **{name: mask_secret(getattr(config, name)) for name in KEY_FIELDS},
        **{f"has_{name}": bool(getattr(config, name)) for name in KEY_FIELDS},
        "webhook_url": webhook_url(),
        "callback_url": callback_url(),
        "updated_at": config.updated_at if config.pk and config.updated_at else None,
    }


def payment_config_update(*, actor, mode: str | None = None, **keys) -> PaystackConfig:
    """Change the mode and/or keys. An omitted (None) key keeps its stored value; "" clears it.

    Audited with masked keys only; the new secret never reaches a log or the audit trail.
    """
    require_capability(actor, CONFIGURE_PAYMENTS)
    unknown = set(keys) - set(KEY_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}")
    errors = {}
    if mode is not None and mode not in PaystackMode.values:
        errors["mode"] = ["must be test or live"]
    for name, value in keys.items():
        if value is None or value == "":
            continue
        value = value.strip()
        keys[name] = value
        if not _KEY_PATTERNS[name].match(value):
            prefix = _KEY_PATTERNS[name].pattern[1:9]
            errors[name] = [f"must look like {prefix}… (a {name.replace('_', ' ')})"]
    if errors:
        raise ValidationFailed("The Paystack configuration is not valid.", fields=errors)
    with transaction.atomic():
        PaystackConfig.objects.get_or_create(pk=PaystackConfig.SINGLETON_PK)
        config = PaystackConfig.objects.select_for_update().get(pk=PaystackConfig.SINGLETON_PK)
        before = {"mode": config.mode, **{n: mask_secret(getattr(config, n)) for n in KEY_FIELDS}}
        if mode is not None:
            config.mode = mode
        for name, value in keys.items():
            if value is not None:
                setattr(config, name, value)
        if not config.secret_key:
            raise ValidationFailed(
                f"Set the {config.mode} secret key before making {config.mode} the active mode.",
                fields={f"{config.mode}_secret_key": ["required for the active mode"]},
            )
        config.updated_by = actor if getattr(actor, "pk", None) else None
        config.save()
        after = {"mode": config.mode, **{n: mask_secret(getattr(config, n)) for n in KEY_FIELDS}}
        audit.record(actor=actor, action="payments.config_updated", obj=config, before=before, after=after)
    return config


def build_gateway(config: PaystackConfig | None = None) -> PaystackGateway:
    """A gateway for the active mode's secret key; ConfigurationError when none is stored."""
    config = config or PaystackConfig.load()
    return PaystackGateway(GatewayConfig(
        base_url=settings.PAYSTACK_BASE_URL,
        secret_key=config.secret_key,
        connect_timeout=settings.PAYSTACK_CONNECT_TIMEOUT,
        read_timeout=settings.PAYSTACK_READ_TIMEOUT,
    ))


def payment_config_test_connection(*, actor) -> dict:
    """Check URL and active key with a read-only call; takes no charge. Returns {"result", "message"}.

    result: ok | invalid_key | unreachable | not_configured | error. Audited (without the key).
    """
    require_capability(actor, CONFIGURE_PAYMENTS)
    config = PaystackConfig.load()
    try:
        build_gateway(config).test_connection()
        result, message = "ok", f"Connected to Paystack in {config.mode} mode."
    except ConfigurationError as exc:
        result, message = "not_configured", exc.message
    except InvalidKey:
        result, message = "invalid_key", f"Paystack refused the {config.mode} secret key."
    except (Unavailable, RateLimited) as exc:
        result, message = "unreachable", f"Paystack could not be reached: {exc.message}"
    except PaystackError as exc:
        result, message = ("unreachable" if "outcome unknown" in exc.message else "error"), exc.message
    with transaction.atomic():
        audit.record(actor=actor, action="payments.config_tested", object_type="payments.paystackconfig",
                     object_id=PaystackConfig.SINGLETON_PK, after={"mode": config.mode, "result": result,
                                                                   "key": mask_secret(config.secret_key)})
    logger.info("Paystack test connection (%s mode): %s", config.mode, result)
    return {"result": result, "ok": result == "ok", "message": message, "mode": config.mode}
