"""Money helpers: the one place that knows currencies, minor units and rounding.

Amounts are ``Decimal`` in the currency's major unit, quantized to its minor unit
with ROUND_HALF_UP. Floats are refused everywhere: a float reaching these helpers
is a bug, so it raises instead of being converted.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 currencies the product supports, with their minor-unit exponent.
CURRENCY_EXPONENTS: dict[str, int] = {
    "NGN": 2,
    "GHS": 2,
    "ZAR": 2,
    "KES": 2,
    "USD": 2,
    "EUR": 2,
}
CURRENCY_CHOICES = [(code, code) for code in CURRENCY_EXPONENTS]

# Money columns: every supported currency has two minor-unit places.
MONEY_MAX_DIGITS = 18
MONEY_DECIMAL_PLACES = 2

ZERO = Decimal("0")


class CurrencyError(ValueError):
    pass


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise CurrencyError(f"Unsupported currency {currency!r}") from None


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: Decimal('0.01') for two places."""
    return Decimal(1).scaleb(-exponent(currency))


def to_decimal(value) -> Decimal:
    """Parse a str/int/Decimal into Decimal; refuse floats and garbage."""
    if isinstance(value, (bool, float)):
        raise TypeError("Money must not be a float or bool; pass a str or Decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"Not a decimal amount: {value!r}") from None
    else:
        raise TypeError(f"Cannot use {type(value).__name__} as money")
    if not result.is_finite():
        raise ValueError(f"Not a finite amount: {value!r}")
    return result


def quantize(amount, currency: str) -> Decimal:
    """Round ``amount`` half-up to the minor unit of ``currency``."""
    return to_decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def has_valid_places(amount, currency: str) -> bool:
    """True when ``amount`` needs no rounding in ``currency`` (e.g. '12.345' is not valid USD)."""
    value = to_decimal(amount)
    return value == value.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def to_minor(amount, currency: str) -> int:
    """Major-unit Decimal -> integer subunits (31.44 NGN -> 3144). Must already be exact."""
    value = to_decimal(amount)
    if not has_valid_places(value, currency):
        raise ValueError(f"{value} has more places than {currency} allows")
    return int(value.scaleb(exponent(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    """Integer subunits -> major-unit Decimal (3144 -> Decimal('31.44'))."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError("Minor units must be an int")
    return quantize(Decimal(minor).scaleb(-exponent(currency)), currency)


def format_amount(amount, currency: str) -> str:
    """The JSON/CSV representation: a plain decimal string with the currency's places."""
    return f"{quantize(amount, currency):f}"


def display(amount, currency: str) -> str:
    """Human display with thousands separators: 'NGN 1,500.00'."""
    value = quantize(amount, currency)
    return f"{currency} {value:,.{exponent(currency)}f}"
