from decimal import Decimal

import pytest

from billing_ops import money


def test_quantize_is_half_up_at_the_minor_unit():
    assert money.quantize("2.345", "NGN") == Decimal("2.35")
    assert money.quantize("2.344", "USD") == Decimal("2.34")
    assert money.quantize("-2.345", "EUR") == Decimal("-2.35")


def test_minor_units_round_trip():
    assert money.to_minor(Decimal("31.44"), "NGN") == 3144
    assert money.from_minor(3144, "NGN") == Decimal("31.44")
    with pytest.raises(ValueError):
        money.to_minor("31.445", "NGN")


@pytest.mark.parametrize("bad", [1.5, True, None, [1]])
def test_floats_and_other_types_are_refused(bad):
    with pytest.raises(TypeError):
        money.to_decimal(bad)


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity"])
def test_garbage_is_refused(bad):
    with pytest.raises(ValueError):
        money.to_decimal(bad)


def test_unknown_currency():
    with pytest.raises(money.CurrencyError):
        money.quantize("1", "XYZ")


def test_display_and_format():
    assert money.format_amount(Decimal("1500"), "NGN") == "1500.00"
    assert money.display(Decimal("1500"), "NGN") == "NGN 1,500.00"


def test_money_template_filter():
    from billing_ops.templatetags.billing import money as money_filter

    assert money_filter(Decimal("5000"), "NGN") == "NGN 5,000.00"
    assert money_filter(Decimal("1234.5")) == "1,234.50"
    assert money_filter(None, "USD") == "—"
