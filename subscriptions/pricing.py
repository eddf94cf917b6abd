"""Pricing models: what a price charges for a quantity, as an exact Decimal in the currency.

Pure functions; no Django. Models (``PricingModel``):

- ``flat``: ``unit_amount`` for any quantity >= 0 — including 0: a flat fee is charged for having
  the item, not per unit (remove the item to stop charging it).
- ``per_unit``: quantity × ``unit_amount``.
- ``tiered`` (graduated): each tier prices only the units that fall in it, at its own rate, plus
  its ``flat_fee`` when at least some units fall in it. Quantity 0 reaches no tier: 0.
- ``volume``: the total quantity picks ONE tier (the first whose ``up_to`` >= quantity); its
  ``unit_price`` applies to every unit, plus that tier's ``flat_fee``. Quantity 0: 0.
- ``package``: ``unit_amount`` per block of ``package_size`` units; a partial block is charged as
  a whole one (ceil). Quantity 0: 0.

Tiers: ascending ``up_to`` (inclusive upper bound of units), the last one open-ended (``None``).
Quantities may be fractional (usage) and must be >= 0. Unit prices may be finer than the minor
unit (0.0035 per call); fixed charges (flat amount, package price, tier flat fees) must be exact
in the currency. The exact charge is computed first and rounded half-up once, at the end.
Floats are refused (``TypeError``); invalid definitions raise ``PricingError``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from billing_ops.money import (
    ZERO,
    exponent,
    from_minor,
    has_valid_places,
    quantize,
    to_decimal,
)


class PricingModel:
    FLAT = "flat"
    PER_UNIT = "per_unit"
    TIERED = "tiered"
    VOLUME = "volume"
    PACKAGE = "package"

    ALL = (FLAT, PER_UNIT, TIERED, VOLUME, PACKAGE)
    CHOICES = (
        (FLAT, "Flat fee"),
        (PER_UNIT, "Per unit"),
        (TIERED, "Tiered (graduated)"),
        (VOLUME, "Volume"),
        (PACKAGE, "Package"),
    )


class PricingError(ValueError):
    """An invalid price definition or quantity; the message says what to fix."""


def _decimal(value, what: str) -> Decimal:
    try:
        return to_decimal(value)
    except ValueError as exc:
        raise PricingError(f"{what}: {exc}") from None


@dataclass(frozen=True)
class Tier:
    """One tier: units up to and including ``up_to`` (None = no upper bound)."""

    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = ZERO

    def __post_init__(self):
        if self.up_to is not None:
            object.__setattr__(self, "up_to", _decimal(self.up_to, "Tier up_to"))
        object.__setattr__(self, "unit_price", _decimal(self.unit_price, "Tier unit price"))
        object.__setattr__(self, "flat_fee", _decimal(self.flat_fee, "Tier flat fee"))

    @classmethod
    def from_dict(cls, data: Mapping) -> Tier:
        """From stored JSON: ``{"up_to": "10"|null, "unit_price": "5.00", "flat_fee": "0.00"}``."""
        return cls(
            up_to=data.get("up_to"),
            unit_price=data["unit_price"],
            flat_fee=data.get("flat_fee") or ZERO,
        )

    def to_dict(self) -> dict:
        return {
            "up_to": None if self.up_to is None else f"{self.up_to:f}",
            "unit_price": f"{self.unit_price:f}",
            "flat_fee": f"{self.flat_fee:f}",
        }


def _validate_tiers(tiers, currency: str) -> tuple[Tier, ...]:
    if not tiers:
        raise PricingError("Tiered and volume prices need at least one tier")
    tiers = tuple(t if isinstance(t, Tier) else Tier.from_dict(t) for t in tiers)
    previous = ZERO
    for number, tier in enumerate(tiers, start=1):
        last = number == len(tiers)
        if tier.up_to is None and not last:
            raise PricingError(f"Tier {number} has no upper bound, but only the last tier may be open-ended")
        if last and tier.up_to is not None:
            raise PricingError(f"The last tier must be open-ended (up_to empty), not {tier.up_to}")
        if tier.up_to is not None and tier.up_to <= previous:
            raise PricingError(
                f"Tier {number} up_to {tier.up_to} must be greater than the previous bound {previous}"
            )
        if tier.unit_price < 0:
            raise PricingError(f"Tier {number} unit price must not be negative")
        if tier.flat_fee < 0:
            raise PricingError(f"Tier {number} flat fee must not be negative")
        if not has_valid_places(tier.flat_fee, currency):
            raise PricingError(f"Tier {number} flat fee has more decimal places than {currency} allows")
        if tier.up_to is not None:
            previous = tier.up_to
    return tiers


def validate_price_definition(
    *,
    model: str,
    currency: str,
    unit_amount=None,
    tiers: Sequence[Tier] | None = None,
    package_size: int | None = None,
) -> None:
    """Raise ``PricingError`` unless the definition can price any quantity >= 0."""
    try:
        quantize(0, currency)
    except ValueError as exc:
        raise PricingError(str(exc)) from None
    if model not in PricingModel.ALL:
        raise PricingError(f"Unknown pricing model {model!r}; use one of {', '.join(PricingModel.ALL)}")

    if model in (PricingModel.TIERED, PricingModel.VOLUME):
        if unit_amount is not None:
            raise PricingError(f"A {model} price takes its unit prices from its tiers, not unit_amount")
        _validate_tiers(tiers, currency)
    else:
        if tiers:
            raise PricingError(f"Only tiered and volume prices have tiers, not {model}")
        if unit_amount is None:
            raise PricingError(f"A {model} price needs unit_amount")
        amount = _decimal(unit_amount, "Unit amount")
        if amount < 0:
            raise PricingError(f"Unit amount must not be negative (got {amount})")
        if model in (PricingModel.FLAT, PricingModel.PACKAGE) and not has_valid_places(amount, currency):
            raise PricingError(f"The {model} amount {amount} has more decimal places than {currency} allows")

    if model == PricingModel.PACKAGE:
        if isinstance(package_size, bool) or not isinstance(package_size, int) or package_size < 1:
            raise PricingError(f"A package price needs package_size, a whole number >= 1 (got {package_size!r})")
    elif package_size is not None:
        raise PricingError(f"Only package prices have package_size, not {model}")


def price_for_quantity(
    *,
    model: str,
    quantity,
    currency: str,
    unit_amount=None,
    tiers: Sequence[Tier] | None = None,
    package_size: int | None = None,
) -> Decimal:
    """The charge for ``quantity`` units, rounded half-up to ``currency`` (see module docstring)."""
    validate_price_definition(
        model=model, currency=currency, unit_amount=unit_amount, tiers=tiers, package_size=package_size
    )
    qty = _decimal(quantity, "Quantity")
    if qty < 0:
        raise PricingError(f"Quantity must not be negative (got {qty})")
    q = Fraction(qty)

    if model == PricingModel.FLAT:
        exact = Fraction(to_decimal(unit_amount))
    elif model == PricingModel.PER_UNIT:
        exact = q * Fraction(to_decimal(unit_amount))
    elif model == PricingModel.PACKAGE:
        blocks = -((-q) // package_size)  # ceil
        exact = blocks * Fraction(to_decimal(unit_amount))
    elif model == PricingModel.TIERED:
        exact = Fraction(0)
        lower = Fraction(0)
        for tier in _validate_tiers(tiers, currency):
            upper = None if tier.up_to is None else Fraction(tier.up_to)
            units = (q if upper is None else min(q, upper)) - lower
            if units <= 0:
                break
            exact += units * Fraction(tier.unit_price) + Fraction(tier.flat_fee)
            if upper is None:
                break
            lower = upper
    else:  # volume
        exact = Fraction(0)
        if q > 0:
            for tier in _validate_tiers(tiers, currency):
                if tier.up_to is None or q <= Fraction(tier.up_to):
                    exact = q * Fraction(tier.unit_price) + Fraction(tier.flat_fee)
                    break
    return _round(exact, currency)


def _round(value: Fraction, currency: str) -> Decimal:
    """Half-up rounding of an exact non-negative amount, done on the rational number itself."""
    scaled = value * 10 ** exponent(currency)
    return from_minor(math.floor(scaled + Fraction(1, 2)), currency)
