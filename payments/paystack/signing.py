"""Paystack webhook signatures: hex HMAC-SHA512 of the raw body, keyed with the secret key."""
from __future__ import annotations

import hashlib
import hmac


def sign(body: bytes, secret: str) -> str:
    """The `x-paystack-signature` value Paystack sends with ``body``."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha512).hexdigest()


def verify(body: bytes, secret: str, signature: str | bytes | None) -> bool:
    """True when ``signature`` is the signature of ``body`` under ``secret`` (constant-time)."""
    if not secret or not signature:
        return False
    if isinstance(signature, bytes):
        try:
            signature = signature.decode("ascii")
        except UnicodeDecodeError:
            return False
    # compare_digest refuses non-ASCII str; such a header can never be a valid hex digest anyway.
    if not signature.isascii():
        return False
    return hmac.compare_digest(sign(body, secret), signature.strip().lower())
