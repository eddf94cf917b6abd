"""Template filters shared by every screen: `{% load billing %}` then `{{ amount|money:currency }}`."""
from decimal import Decimal

from django import template

from billing_ops.money import CURRENCY_EXPONENTS, quantize

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    """1234.5 → '1,234.50' (with the currency's places); prefix the code when given: 'NGN 1,234.50'."""
    if amount in (None, ""):
        return "—"
    places = CURRENCY_EXPONENTS.get(currency, 2)
    value = quantize(Decimal(str(amount)), currency) if currency in CURRENCY_EXPONENTS else Decimal(str(amount))
    text = f"{value:,.{places}f}"
    if currency and value < 0:
        return f"−{currency} {abs(value):,.{places}f}"  # '−NGN 10,000.00', not 'NGN -10,000.00'
    return f"{currency} {text}" if currency else text
