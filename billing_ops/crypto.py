"""Encryption of secrets at rest (Fernet, keys from FIELD_ENCRYPTION_KEY; the first key encrypts)."""
from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be one or more Fernet keys, comma-separated") from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY") from exc


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the primary key (for key rotation)."""
    return fernet().rotate(token.encode()).decode()


def mask_secret(value: str | None) -> str:
    """``sk_live_••••••••1234``: the key's prefix and last four characters, nothing else."""
    if not value:
        return ""
    prefix = ""
    for candidate in ("sk_live_", "sk_test_", "pk_live_", "pk_test_"):
        if value.startswith(candidate):
            prefix = candidate
            break
    tail = value[-4:] if len(value) >= len(prefix) + 8 else ""
    return f"{prefix}••••••••{tail}"
