from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def unit_price(value) -> str:
    """At least two places, more when the price is finer: 29 → '29.00', 0.0035 → '0.0035'."""
    if value in (None, ""):
        return "—"
    value = Decimal(str(value)).normalize()
    places = max(2, -value.as_tuple().exponent)
    return f"{value:,.{places}f}"
