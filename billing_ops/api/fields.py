from rest_framework import serializers

from billing_ops.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


class MoneyField(serializers.DecimalField):
    """A decimal string with the currency's two minor-unit places ("31.44"); floats and extra places are 400."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("invalid")  # a JSON float may already have lost cents; send a string
        return super().to_internal_value(data)
