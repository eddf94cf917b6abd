"""Model fields shared by every app."""
from __future__ import annotations

from decimal import Decimal

from django.db import models

from billing_ops import crypto
from billing_ops.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


class MoneyField(models.DecimalField):
    """An exact amount in the row's currency (two minor-unit places for every supported currency)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        kwargs.setdefault("default", Decimal("0.00"))
        super().__init__(*args, **kwargs)


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plaintext. Never put it in a form or serializer as-is."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)
