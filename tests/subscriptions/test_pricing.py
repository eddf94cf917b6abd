"""Pricing models: every tier and package boundary, validation, and properties."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subscriptions.pricing import (
    PricingError,
    PricingModel,
    Tier,
    price_for_quantity,
    validate_price_definition,
)

D = Decimal

# first 10 at 5.00, next 40 at 4.00 (+1.00 flat when reached), next 50 at 3.00, then 2.00 (+0.50 flat)
TIERS = [
    Tier(up_to=D("10"), unit_price=D("5.00")),
    Tier(up_to=D("50"), unit_price=D("4.00"), flat_fee=D("1.00")),
    Tier(up_to=D("100"), unit_price=D("3.00")),
    Tier(up_to=None, unit_price=D("2.00"), flat_fee=D("0.50")),
]


def price(model, quantity, **kwargs):
    kwargs.setdefault("currency", "USD")
    return price_for_quantity(model=model, quantity=quantity, **kwargs)


def test_model_constants():
    assert PricingModel.ALL == ("flat", "per_unit", "tiered", "volume", "package")
    assert [c[0] for c in PricingModel.CHOICES] == list(PricingModel.ALL)


@pytest.mark.parametrize("quantity", [0, 1, 7, D("2.5"), 1000000])
def test_flat_is_charged_for_any_quantity_including_zero(quantity):
    assert price(PricingModel.FLAT, quantity, unit_amount=D("299.90")) == D("299.90")


@pytest.mark.parametrize(
    "quantity, unit_amount, expected",
    [
        (0, "9.99", "0.00"),
        (1, "9.99", "9.99"),
        (3, "9.99", "29.97"),
        (D("1.5"), "0.01", "0.02"),  # 0.015 rounds half-up
        (1000, "0.0035", "3.50"),
        (3, "0.0035", "0.01"),  # 0.0105
    ],
)
def test_per_unit(quantity, unit_amount, expected):
    assert price(PricingModel.PER_UNIT, quantity, unit_amount=D(unit_amount)) == D(expected)


@pytest.mark.parametrize(
    "quantity, expected",
    [
        (0, "0.00"),
        (1, "5.00"),
        (10, "50.00"),  # exactly at the first bound
        (11, "55.00"),  # 50 + 4 + 1.00 tier-2 flat fee
        (50, "211.00"),  # 50 + 40×4 + 1
        (51, "214.00"),  # + 3
        (100, "361.00"),  # 211 + 50×3
        (101, "363.50"),  # 361 + 2 + 0.50 flat
        (200, "561.50"),
        (D("10.5"), "53.00"),  # 50 + 0.5×4 + 1
    ],
)
def test_tiered_boundaries(quantity, expected):
    assert price(PricingModel.TIERED, quantity, tiers=TIERS) == D(expected)


@pytest.mark.parametrize(
    "quantity, expected",
    [
        (0, "0.00"),
        (1, "5.00"),
        (10, "50.00"),  # at the first bound: tier 1 for all units
        (11, "45.00"),  # tier 2 for all units: 11×4 + 1
        (50, "201.00"),
        (51, "153.00"),  # tier 3: 51×3
        (100, "300.00"),
        (101, "202.50"),  # tier 4: 101×2 + 0.50
        (D("10.5"), "43.00"),
    ],
)
def test_volume_boundaries(quantity, expected):
    assert price(PricingModel.VOLUME, quantity, tiers=TIERS) == D(expected)


def test_single_open_tier():
    tiers = [Tier(up_to=None, unit_price="2.50", flat_fee="10.00")]
    assert price(PricingModel.TIERED, 4, tiers=tiers) == D("20.00")
    assert price(PricingModel.VOLUME, 4, tiers=tiers) == D("20.00")
    assert price(PricingModel.TIERED, 0, tiers=tiers) == D("0.00")
    assert price(PricingModel.VOLUME, 0, tiers=tiers) == D("0.00")


def test_tiered_rounds_once_at_the_end():
    tiers = [Tier(up_to=1, unit_price="0.004"), Tier(up_to=None, unit_price="0.004")]
    # per tier 0.004 + 0.004 would round to 0.00 each; the exact total 0.008 rounds to 0.01
    assert price(PricingModel.TIERED, 2, tiers=tiers) == D("0.01")


@pytest.mark.parametrize(
    "quantity, expected",
    [(0, "0.00"), (1, "25.00"), (10, "25.00"), (11, "50.00"), (20, "50.00"), (21, "75.00"), (D("10.01"), "50.00")],
)
def test_package_boundaries(quantity, expected):
    assert price(PricingModel.PACKAGE, quantity, unit_amount=D("25.00"), package_size=10) == D(expected)


def test_package_of_one_is_per_whole_unit():
    assert price(PricingModel.PACKAGE, D("2.1"), unit_amount=D("3.00"), package_size=1) == D("9.00")


def test_results_have_currency_places():
    for currency in ["NGN", "GHS", "ZAR", "KES", "USD", "EUR"]:
        result = price(PricingModel.PER_UNIT, 3, unit_amount=5, currency=currency)
        assert result == D("15.00") and result.as_tuple().exponent == -2


def test_tier_serialisation_round_trip():
    data = [t.to_dict() for t in TIERS]
    assert data[0] == {"up_to": "10", "unit_price": "5.00", "flat_fee": "0"}
    assert data[-1]["up_to"] is None
    assert [Tier.from_dict(d) for d in data] == TIERS
    # dicts are accepted directly as tiers
    assert price(PricingModel.TIERED, 11, tiers=data) == D("55.00")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model": "stairstep", "unit_amount": D("1")}, "Unknown pricing model"),
        ({"model": "flat"}, "needs unit_amount"),
        ({"model": "per_unit", "unit_amount": D("-1")}, "must not be negative"),
        ({"model": "flat", "unit_amount": D("1.005")}, "decimal places"),
        ({"model": "package", "unit_amount": D("1.001"), "package_size": 5}, "decimal places"),
        ({"model": "flat", "unit_amount": D("1"), "tiers": TIERS}, "Only tiered and volume"),
        ({"model": "per_unit", "unit_amount": D("1"), "package_size": 5}, "Only package"),
        ({"model": "package", "unit_amount": D("1")}, "package_size"),
        ({"model": "package", "unit_amount": D("1"), "package_size": 0}, "package_size"),
        ({"model": "package", "unit_amount": D("1"), "package_size": True}, "package_size"),
        ({"model": "tiered"}, "at least one tier"),
        ({"model": "volume", "tiers": []}, "at least one tier"),
        ({"model": "tiered", "tiers": TIERS, "unit_amount": D("1")}, "not unit_amount"),
        ({"model": "tiered", "tiers": [Tier(10, "1")]}, "last tier must be open-ended"),
        ({"model": "tiered", "tiers": [Tier(None, "1"), Tier(None, "1")]}, "only the last tier"),
        ({"model": "volume", "tiers": [Tier(10, "1"), Tier(10, "1"), Tier(None, "1")]}, "greater than the previous"),
        ({"model": "volume", "tiers": [Tier(10, "1"), Tier(5, "1"), Tier(None, "1")]}, "greater than the previous"),
        ({"model": "tiered", "tiers": [Tier(0, "1"), Tier(None, "1")]}, "greater than the previous"),
        ({"model": "tiered", "tiers": [Tier(None, "-1")]}, "unit price must not be negative"),
        ({"model": "tiered", "tiers": [Tier(None, "1", "-1")]}, "flat fee must not be negative"),
        ({"model": "tiered", "tiers": [Tier(None, "1", "0.001")]}, "flat fee has more decimal places"),
    ],
)
def test_invalid_definitions(kwargs, message):
    with pytest.raises(PricingError, match=message):
        validate_price_definition(currency="USD", **kwargs)
    with pytest.raises(PricingError, match=message):
        price_for_quantity(quantity=1, currency="USD", **kwargs)


def test_invalid_quantity_and_currency():
    with pytest.raises(PricingError, match="Quantity must not be negative"):
        price(PricingModel.PER_UNIT, -1, unit_amount=1)
    with pytest.raises(PricingError, match="Unsupported currency"):
        price(PricingModel.PER_UNIT, 1, unit_amount=1, currency="XXX")
    with pytest.raises(TypeError):
        price(PricingModel.PER_UNIT, 1.5, unit_amount=1)
    with pytest.raises(TypeError):
        price(PricingModel.PER_UNIT, 1, unit_amount=1.5)
    with pytest.raises(TypeError):
        Tier(up_to=None, unit_price=1.5)


def test_valid_definitions_pass():
    validate_price_definition(model="flat", currency="NGN", unit_amount="100.00")
    validate_price_definition(model="per_unit", currency="NGN", unit_amount="0.0035")
    validate_price_definition(model="tiered", currency="NGN", tiers=TIERS)
    validate_price_definition(model="volume", currency="NGN", tiers=TIERS)
    validate_price_definition(model="package", currency="NGN", unit_amount="25.00", package_size=10)


# --- properties -------------------------------------------------------------------------------

quantities = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False)


@given(quantities, quantities)
def test_tiered_and_volume_never_negative_and_tiered_monotonic(q1, q2):
    low, high = sorted([q1, q2])
    assert price(PricingModel.VOLUME, q1, tiers=TIERS) >= 0
    assert price(PricingModel.TIERED, low, tiers=TIERS) <= price(PricingModel.TIERED, high, tiers=TIERS)


@given(st.integers(min_value=0, max_value=300))
def test_tiered_equals_sum_of_each_units_tier_price(quantity):
    def unit_price(n):  # price of the n-th unit (1-based)
        for tier in TIERS:
            if tier.up_to is None or n <= tier.up_to:
                return tier.unit_price

    expected = sum((unit_price(n) for n in range(1, quantity + 1)), D("0"))
    expected += sum(
        (t.flat_fee for i, t in enumerate(TIERS) if quantity > (TIERS[i - 1].up_to if i else 0)), D("0")
    )
    assert price(PricingModel.TIERED, quantity, tiers=TIERS) == expected


@given(quantities)
def test_volume_uses_one_tier_for_all_units(quantity):
    result = price(PricingModel.VOLUME, quantity, tiers=TIERS)
    if quantity == 0:
        assert result == 0
        return
    tier = next(t for t in TIERS if t.up_to is None or quantity <= t.up_to)
    assert result == (quantity * tier.unit_price + tier.flat_fee).quantize(D("0.01"), "ROUND_HALF_UP")


@given(quantities, st.integers(min_value=1, max_value=1000))
def test_package_charges_whole_blocks(quantity, size):
    result = price(PricingModel.PACKAGE, quantity, unit_amount=D("7.50"), package_size=size)
    blocks = result / D("7.50")
    assert blocks == blocks.to_integral_value()
    assert blocks * size >= quantity
    assert (blocks - 1) * size < quantity or blocks == 0
