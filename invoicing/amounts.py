"""The one amount engine (CONTRACT §6): invoices, previews and credit notes all come from here.

Pure functions on ``Decimal``; no Django. Order for an invoice:

1. line amount = quantity × unit price, rounded half-up to the minor unit per line;
2. subtotal = sum of line amounts;
3. invoice-level discount (percent of the subtotal rounded half-up, or a fixed amount);
4. account credit;
5. tax per line on the line's net amount (amount − discount share − credit share), half-up;
6. invoice tax = sum of line taxes; total = subtotal − discount − credit + tax.

Guarantees (held by property tests):

- every money figure is a ``Decimal`` with exactly the currency's minor-unit places, never negative
  (except the amount, net, tax and total of a proration credit line), and the total is never negative;
- discount and credit are spread over the lines by the largest-remainder method in minor units
  (ties: larger line first, then earlier line), so the shares sum exactly to the invoice figure;
  the discount is spread in proportion to line amounts, the credit in proportion to what each line
  has left after its discount share — so no share ever exceeds its line and no net goes negative;
- subtotal, discount, credit_applied, tax and total each equal the sum of the line figures.

Decisions:

- Zero lines give a zero invoice (useful for previews where nothing changes); any positive fixed
  discount or credit on it is then refused, since it exceeds the subtotal of 0.
- Quantities and unit prices must be >= 0; unit prices may be finer than the minor unit
  (usage prices such as 0.0035), line amounts are rounded. Tax rates are percentages in [0, 100].
- A fixed discount above the subtotal, or a credit above the subtotal after discount, raises
  ``AmountError`` rather than being clamped: the caller decides. To apply "as much credit as
  possible", compute without credit and pass ``min(balance, result.subtotal - result.discount)``.
- Fixed discounts and credits must already have the currency's places ("7.805" USD is refused).
- Floats are refused with ``TypeError`` (via ``billing_ops.money.to_decimal``).
- Credit lines: only ``proration`` lines may carry a negative unit price (unused time on a removed
  or downgraded item). They take no share of the discount or the account credit (those are spread
  over the charge lines, and a percent discount is computed on the charges only); their tax is
  computed on their own negative amount, rounded half-up away from zero. An invoice whose total
  would be negative raises ``AmountError``: the caller turns such a net credit into account credit.

Credit notes (``compute_credit_note``) reverse an invoice's lines, either a gross amount spread
over the lines' remaining totals by largest remainder, or chosen lines in full; see its docstring.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
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
    to_minor,
)

HUNDRED = Decimal(100)

LINE_KINDS = ("plan", "add_on", "usage", "proration", "manual")


class AmountError(ValueError):
    """Invalid input to the amount engine; the message says which figure and why."""


# --- small exact helpers -------------------------------------------------------------------


def _money(value: Decimal, currency: str) -> Decimal:
    """Quantize and drop a negative zero's sign."""
    result = quantize(value, currency)
    return abs(result) if result == 0 else result


def _half_up_minor(value: Fraction) -> int:
    """Round an exact rational number of minor units half-up (away from zero on .5)."""
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    return sign * math.floor(magnitude + Fraction(1, 2))


def _exact_money(value: Fraction, currency: str) -> Decimal:
    """Round an exact rational number of major units half-up to ``currency``."""
    return from_minor(_half_up_minor(value * 10 ** exponent(currency)), currency)


def _decimal(value, what: str) -> Decimal:
    try:
        return to_decimal(value)
    except ValueError as exc:
        raise AmountError(f"{what}: {exc}") from None


def _money_input(value, currency: str, what: str) -> Decimal:
    """A money figure given by a person (fixed discount, credit): >= 0 and exact in the currency."""
    amount = _decimal(value, what)
    if amount < 0:
        raise AmountError(f"{what} must not be negative (got {amount})")
    if not has_valid_places(amount, currency):
        raise AmountError(f"{what} {amount} has more decimal places than {currency} allows")
    return _money(amount, currency)


def _tax_rate(value, what: str) -> Decimal:
    rate = _decimal(value, what)
    if rate < 0 or rate > HUNDRED:
        raise AmountError(f"{what} must be a percentage between 0 and 100 (got {rate})")
    return rate


def allocate_largest_remainder(total, weights: Sequence, currency: str) -> list[Decimal]:
    """Split ``total`` over ``weights`` proportionally, in minor units, summing exactly to ``total``.

    Each part gets the floor of its exact share; the minor units left over go one each to the
    parts with the largest remainders (ties: larger weight first, then earlier position).
    With integer-minor-unit weights and ``total <= sum(weights)``, no part exceeds its weight.
    ``total`` must be >= 0 and exact in ``currency``; weights must be >= 0 and, unless ``total``
    is 0, not all zero.
    """
    total_dec = _money_input(total, currency, "Amount to allocate")
    weight_decs = [_decimal(w, "Allocation weight") for w in weights]
    if any(w < 0 for w in weight_decs):
        raise AmountError("Allocation weights must not be negative")
    total_minor = to_minor(total_dec, currency)
    weight_sum = sum((Fraction(w) for w in weight_decs), Fraction(0))
    if weight_sum == 0:
        if total_minor != 0:
            raise AmountError(f"Cannot allocate {total_dec} {currency} over lines that total zero")
        return [from_minor(0, currency) for _ in weight_decs]

    exact = [Fraction(total_minor) * Fraction(w) / weight_sum for w in weight_decs]
    parts = [math.floor(share) for share in exact]
    leftover = total_minor - sum(parts)
    order = sorted(
        range(len(exact)),
        key=lambda i: (-(exact[i] - parts[i]), -weight_decs[i], i),
    )
    for i in order[:leftover]:
        parts[i] += 1
    return [from_minor(p, currency) for p in parts]


# --- invoices ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal = Decimal(0)
    kind: str = "manual"


@dataclass(frozen=True)
class Discount:
    """An invoice-level discount: exactly one of ``percent`` (0–100) or ``amount`` (fixed)."""

    percent: Decimal | None = None
    amount: Decimal | None = None

    def __post_init__(self):
        if (self.percent is None) == (self.amount is None):
            raise AmountError("A discount needs exactly one of percent or amount")
        if self.percent is not None:
            percent = _decimal(self.percent, "Discount percent")
            if percent < 0 or percent > HUNDRED:
                raise AmountError(f"Discount percent must be between 0 and 100 (got {percent})")
            object.__setattr__(self, "percent", percent)
        else:
            amount = _decimal(self.amount, "Discount amount")
            if amount < 0:
                raise AmountError(f"Discount amount must not be negative (got {amount})")
            object.__setattr__(self, "amount", amount)


@dataclass(frozen=True)
class LineAmounts:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    kind: str
    amount: Decimal  # quantity × unit price, rounded
    discount_share: Decimal
    credit_share: Decimal
    net: Decimal  # amount − discount_share − credit_share
    tax: Decimal
    total: Decimal  # net + tax


@dataclass(frozen=True)
class InvoiceAmounts:
    currency: str
    lines: tuple[LineAmounts, ...]
    subtotal: Decimal
    discount: Decimal
    credit_applied: Decimal
    tax: Decimal
    total: Decimal

    @property
    def net(self) -> Decimal:
        """Subtotal after discount and credit, before tax (= sum of line nets)."""
        return self.subtotal - self.discount - self.credit_applied


def _check_currency(currency: str) -> None:
    try:
        exponent(currency)
    except ValueError as exc:
        raise AmountError(str(exc)) from None


def compute_invoice(
    *,
    currency: str,
    lines: Sequence[LineInput],
    discount: Discount | None = None,
    credit=ZERO,
) -> InvoiceAmounts:
    """All figures of one invoice, per CONTRACT §6 (see the module docstring for the rules)."""
    _check_currency(currency)
    prepared = []
    for number, line in enumerate(lines, start=1):
        where = f"Line {number}"
        quantity = _decimal(line.quantity, f"{where} quantity")
        unit_price = _decimal(line.unit_price, f"{where} unit price")
        if quantity < 0:
            raise AmountError(f"{where} quantity must not be negative (got {quantity})")
        if unit_price < 0 and line.kind != "proration":
            raise AmountError(f"{where} unit price must not be negative (got {unit_price}); only proration lines may credit")
        rate = _tax_rate(line.tax_rate, f"{where} tax rate")
        if line.kind not in LINE_KINDS:
            raise AmountError(f"{where} kind must be one of {', '.join(LINE_KINDS)} (got {line.kind!r})")
        amount = _exact_money(Fraction(quantity) * Fraction(unit_price), currency)
        prepared.append((line, quantity, unit_price, rate, amount))

    amounts = [p[4] for p in prepared]
    subtotal = _money(sum(amounts, ZERO), currency)
    # Discounts and credit are spread over charge lines only; credit (negative) lines weigh nothing.
    charges = [max(a, ZERO) for a in amounts]
    chargeable = _money(sum(charges, ZERO), currency)

    if discount is None:
        discount_total = _money(ZERO, currency)
    elif discount.percent is not None:
        discount_total = _exact_money(Fraction(chargeable) * Fraction(discount.percent) / 100, currency)
    else:
        discount_total = _money_input(discount.amount, currency, "Discount amount")
        if discount_total > chargeable:
            raise AmountError(
                f"Discount {discount_total} exceeds the subtotal {chargeable} {currency}"
            )
    discount_shares = allocate_largest_remainder(discount_total, charges, currency)

    remaining = [c - d for c, d in zip(charges, discount_shares, strict=True)]
    credit_total = _money_input(credit if credit is not None else ZERO, currency, "Credit")
    after_discount = max(subtotal - discount_total, ZERO)
    if credit_total > after_discount:
        raise AmountError(
            f"Credit {credit_total} exceeds the amount left after discount {after_discount} {currency}"
        )
    credit_shares = allocate_largest_remainder(credit_total, remaining, currency)

    results = []
    for (line, quantity, unit_price, rate, amount), d_share, c_share in zip(
        prepared, discount_shares, credit_shares, strict=True
    ):
        net = _money(amount - d_share - c_share, currency)
        tax = _exact_money(Fraction(net) * Fraction(rate) / 100, currency)
        results.append(
            LineAmounts(
                description=line.description,
                quantity=quantity,
                unit_price=unit_price,
                tax_rate=rate,
                kind=line.kind,
                amount=amount,
                discount_share=d_share,
                credit_share=c_share,
                net=net,
                tax=tax,
                total=_money(net + tax, currency),
            )
        )
    tax_total = _money(sum((r.tax for r in results), ZERO), currency)
    total = _money(subtotal - discount_total - credit_total + tax_total, currency)
    if total < 0:
        raise AmountError(
            f"The credit lines exceed the charges: the invoice would total {total} {currency}; "
            "turn the net credit into account credit instead"
        )
    return InvoiceAmounts(
        currency=currency,
        lines=tuple(results),
        subtotal=subtotal,
        discount=discount_total,
        credit_applied=credit_total,
        tax=tax_total,
        total=total,
    )


# --- credit notes --------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditableLine:
    """An issued invoice line as far as crediting is concerned.

    ``credited_net``/``credited_tax`` are what earlier credit notes already took from this line;
    build one from a ``LineAmounts`` with ``CreditableLine.from_line(line)``, or from a stored
    invoice line's columns.
    """

    description: str
    tax_rate: Decimal
    net: Decimal
    tax: Decimal
    credited_net: Decimal = ZERO
    credited_tax: Decimal = ZERO
    kind: str = "manual"

    @classmethod
    def from_line(cls, line: LineAmounts, *, credited_net=ZERO, credited_tax=ZERO) -> CreditableLine:
        return cls(
            description=line.description,
            tax_rate=line.tax_rate,
            net=line.net,
            tax=line.tax,
            credited_net=credited_net,
            credited_tax=credited_tax,
            kind=line.kind,
        )


@dataclass(frozen=True)
class CreditNoteLine:
    index: int  # position of the credited line in the invoice's lines
    description: str
    kind: str
    tax_rate: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal  # net + tax


@dataclass(frozen=True)
class CreditNoteAmounts:
    currency: str
    lines: tuple[CreditNoteLine, ...]
    net: Decimal
    tax: Decimal
    total: Decimal


def _split_share(share: Decimal, rate: Decimal, rem_net: Decimal, rem_tax: Decimal, currency: str):
    """Split a gross share of a line into (net, tax) with net + tax == share exactly.

    Tax is share × rate / (100 + rate) rounded half-up, then kept within what the line still
    has (so repeated credit notes never take more net or tax than the invoice charged); a share
    equal to everything the line has left takes exactly its remaining net and tax.
    """
    if share == rem_net + rem_tax:
        return rem_net, rem_tax
    tax = _exact_money(Fraction(share) * Fraction(rate) / (100 + Fraction(rate)), currency)
    tax = min(max(tax, share - rem_net, ZERO), rem_tax, share)
    return _money(share - tax, currency), _money(tax, currency)


def compute_credit_note(
    *,
    currency: str,
    lines: Sequence[CreditableLine | LineAmounts],
    amount=None,
    line_indexes: Sequence[int] | None = None,
) -> CreditNoteAmounts:
    """Figures of a credit note against an invoice's lines; give exactly one of the two modes.

    - ``amount``: a gross amount (tax included), > 0 and at most what is left to credit on the
      invoice. It is spread over the lines by largest remainder on each line's remaining gross
      (net + tax − already credited), then each line's share is split into net and tax at the
      line's rate (tax half-up, net = share − tax, so net + tax == share).
    - ``line_indexes``: credit those lines (0-based positions in ``lines``) in full — all that is
      left of their net and tax, so a credit of every line reverses the invoice to the cent.

    Only lines receiving a non-zero credit are returned; net, tax and total are the sums of the
    returned lines, and total == net + tax. Raises ``AmountError`` when nothing is left to credit.
    """
    _check_currency(currency)
    if (amount is None) == (line_indexes is None):
        raise AmountError("A credit note needs exactly one of amount or line_indexes")

    creditable = [
        CreditableLine.from_line(line) if isinstance(line, LineAmounts) else line for line in lines
    ]
    remaining = []  # (remaining net, remaining tax) per line
    for number, line in enumerate(creditable, start=1):
        where = f"Invoice line {number}"
        net = _money_input(line.net, currency, f"{where} net")
        tax = _money_input(line.tax, currency, f"{where} tax")
        done_net = _money_input(line.credited_net, currency, f"{where} credited net")
        done_tax = _money_input(line.credited_tax, currency, f"{where} credited tax")
        _tax_rate(line.tax_rate, f"{where} tax rate")
        if done_net > net or done_tax > tax:
            raise AmountError(f"{where} has been credited more than it charged")
        remaining.append((net - done_net, tax - done_tax))

    if line_indexes is not None:
        chosen = list(line_indexes)
        if len(set(chosen)) != len(chosen):
            raise AmountError("Each line can be credited only once in a credit note")
        for index in chosen:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(creditable):
                raise AmountError(f"No invoice line at position {index!r}")
        splits = {i: remaining[i] for i in sorted(chosen)}
    else:
        credit_total = _money_input(amount, currency, "Credit note amount")
        if credit_total == 0:
            raise AmountError("A credit note amount must be greater than zero")
        gross = [n + t for n, t in remaining]
        left = sum(gross, ZERO)
        if credit_total > left:
            raise AmountError(
                f"Credit note amount {credit_total} exceeds what is left to credit {_money(left, currency)} {currency}"
            )
        shares = allocate_largest_remainder(credit_total, gross, currency)
        splits = {
            i: _split_share(share, _decimal(creditable[i].tax_rate, "Tax rate"), *remaining[i], currency)
            for i, share in enumerate(shares)
        }

    result_lines = []
    for index, (net, tax) in splits.items():
        if net + tax == 0:
            continue
        line = creditable[index]
        result_lines.append(
            CreditNoteLine(
                index=index,
                description=line.description,
                kind=line.kind,
                tax_rate=_decimal(line.tax_rate, "Tax rate"),
                net=_money(net, currency),
                tax=_money(tax, currency),
                total=_money(net + tax, currency),
            )
        )
    if not result_lines:
        raise AmountError("Nothing is left to credit on the chosen lines")
    net_total = _money(sum((r.net for r in result_lines), ZERO), currency)
    tax_total = _money(sum((r.tax for r in result_lines), ZERO), currency)
    return CreditNoteAmounts(
        currency=currency,
        lines=tuple(result_lines),
        net=net_total,
        tax=tax_total,
        total=_money(net_total + tax_total, currency),
    )
