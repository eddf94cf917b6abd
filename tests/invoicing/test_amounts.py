"""The amount engine: CONTRACT §6 worked example, edge cases and properties."""
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from invoicing.amounts import (
    AmountError,
    CreditableLine,
    Discount,
    LineInput,
    allocate_largest_remainder,
    compute_credit_note,
    compute_invoice,
)

D = Decimal
CURRENCIES = ["NGN", "GHS", "ZAR", "KES", "USD", "EUR"]
RATES = [D("0"), D("5"), D("7.5"), D("15"), D("16"), D("20")]


def worked_example():
    return compute_invoice(
        currency="NGN",
        lines=[
            LineInput("Plan", D("1"), D("29.00"), D("20"), "plan"),
            LineInput("Add-on", D("1"), D("10.00"), D("20"), "add_on"),
        ],
        discount=Discount(percent=D("20")),
        credit=D("5.00"),
    )


def test_contract_worked_example():
    inv = worked_example()
    assert inv.subtotal == D("39.00")
    assert inv.discount == D("7.80")
    assert inv.subtotal - inv.discount == D("31.20")
    assert inv.credit_applied == D("5.00")
    assert inv.net == D("26.20")
    assert inv.tax == D("5.24")
    assert inv.total == D("31.44")
    assert str(inv.total) == "31.44"
    plan, addon = inv.lines
    assert (plan.discount_share, addon.discount_share) == (D("5.80"), D("2.00"))
    assert (plan.credit_share, addon.credit_share) == (D("3.72"), D("1.28"))
    assert (plan.net, plan.tax, plan.total) == (D("19.48"), D("3.90"), D("23.38"))
    assert (addon.net, addon.tax, addon.total) == (D("6.72"), D("1.34"), D("8.06"))


def test_fixed_discount_same_as_percent_in_worked_example():
    inv = compute_invoice(
        currency="USD",
        lines=[LineInput("Plan", 1, "29.00", "20"), LineInput("Add-on", 1, "10.00", "20")],
        discount=Discount(amount="7.80"),
        credit="5.00",
    )
    assert inv.total == D("31.44")


def test_line_amount_rounded_half_up_per_line():
    inv = compute_invoice(
        currency="USD",
        lines=[LineInput("Usage", D("1.5"), D("0.01")), LineInput("Usage", D("3"), D("0.0035"))],
    )
    # 0.015 -> 0.02 and 0.0105 -> 0.01 (half-up per line, not on the sum 0.0255)
    assert [line.amount for line in inv.lines] == [D("0.02"), D("0.01")]
    assert inv.subtotal == D("0.03")


def test_tax_rounded_half_up_per_line():
    # 0.10 at 5% = 0.005 -> 0.01 on each line: tax 0.02, not round(0.010) on the sum
    inv = compute_invoice(
        currency="USD",
        lines=[LineInput("a", 1, "0.10", "5"), LineInput("b", 1, "0.10", "5")],
    )
    assert inv.tax == D("0.02")
    assert inv.total == D("0.22")


def test_percent_discount_rounded_half_up():
    inv = compute_invoice(currency="USD", lines=[LineInput("a", 1, "0.10")], discount=Discount(percent="5"))
    assert inv.discount == D("0.01")  # 0.005 -> 0.01


def test_zero_lines_is_a_zero_invoice():
    inv = compute_invoice(currency="USD", lines=[])
    assert inv.lines == ()
    assert (inv.subtotal, inv.discount, inv.credit_applied, inv.tax, inv.total) == (D("0.00"),) * 5
    assert compute_invoice(currency="USD", lines=[], discount=Discount(percent="50")).total == D("0.00")
    with pytest.raises(AmountError):
        compute_invoice(currency="USD", lines=[], discount=Discount(amount="1.00"))
    with pytest.raises(AmountError):
        compute_invoice(currency="USD", lines=[], credit="0.01")


def test_hundred_percent_discount():
    inv = compute_invoice(
        currency="USD",
        lines=[LineInput("a", 3, "9.99", "20"), LineInput("b", 1, "0.01", "7.5")],
        discount=Discount(percent="100"),
    )
    assert inv.discount == inv.subtotal == D("29.98")
    assert all(line.net == 0 and line.tax == 0 for line in inv.lines)
    assert inv.total == D("0.00")
    with pytest.raises(AmountError, match="exceeds"):
        compute_invoice(
            currency="USD", lines=[LineInput("a", 1, "10.00")], discount=Discount(percent="100"), credit="0.01"
        )


def test_fixed_discount_equal_to_subtotal_then_no_credit_possible():
    inv = compute_invoice(currency="USD", lines=[LineInput("a", 1, "10.00")], discount=Discount(amount="10.00"))
    assert inv.total == D("0.00")


def test_discount_exceeding_subtotal_is_refused():
    with pytest.raises(AmountError, match="Discount 10.01 exceeds the subtotal 10.00"):
        compute_invoice(currency="USD", lines=[LineInput("a", 1, "10.00")], discount=Discount(amount="10.01"))


def test_credit_exceeding_post_discount_subtotal_is_refused():
    lines = [LineInput("a", 1, "10.00")]
    with pytest.raises(AmountError, match="Credit 8.01 exceeds"):
        compute_invoice(currency="USD", lines=lines, discount=Discount(percent="20"), credit="8.01")
    inv = compute_invoice(currency="USD", lines=lines, discount=Discount(percent="20"), credit="8.00")
    assert inv.total == D("0.00")


def test_credit_none_means_no_credit():
    inv = compute_invoice(currency="USD", lines=[LineInput("a", 1, "10.00")], credit=None)
    assert inv.credit_applied == D("0.00")


@pytest.mark.parametrize(
    "line, message",
    [
        (LineInput("a", D("-1"), D("1")), "quantity must not be negative"),
        (LineInput("a", D("1"), D("-1")), "unit price must not be negative"),
        (LineInput("a", D("1"), D("1"), D("-1")), "tax rate must be a percentage"),
        (LineInput("a", D("1"), D("1"), D("100.01")), "tax rate must be a percentage"),
        (LineInput("a", D("1"), D("1"), kind="addon"), "kind must be one of"),
        (LineInput("a", "abc", D("1")), "Not a decimal"),
        (LineInput("a", "NaN", D("1")), "finite"),
    ],
)
def test_invalid_lines(line, message):
    with pytest.raises(AmountError, match=message):
        compute_invoice(currency="USD", lines=[line])


def test_floats_are_refused():
    with pytest.raises(TypeError):
        compute_invoice(currency="USD", lines=[LineInput("a", 1.5, "1.00")])
    with pytest.raises(TypeError):
        compute_invoice(currency="USD", lines=[LineInput("a", 1, 1.0)])
    with pytest.raises(TypeError):
        compute_invoice(currency="USD", lines=[LineInput("a", 1, "1.00", 20.0)])
    with pytest.raises(TypeError):
        compute_invoice(currency="USD", lines=[LineInput("a", 1, "1.00")], credit=1.0)
    with pytest.raises(TypeError):
        Discount(percent=20.0)


def test_invalid_discounts_and_credit():
    with pytest.raises(AmountError, match="exactly one"):
        Discount()
    with pytest.raises(AmountError, match="exactly one"):
        Discount(percent="10", amount="1.00")
    with pytest.raises(AmountError, match="between 0 and 100"):
        Discount(percent="100.5")
    with pytest.raises(AmountError, match="negative"):
        Discount(amount="-1")
    lines = [LineInput("a", 1, "10.00")]
    with pytest.raises(AmountError, match="decimal places"):
        compute_invoice(currency="USD", lines=lines, discount=Discount(amount="1.005"))
    with pytest.raises(AmountError, match="negative"):
        compute_invoice(currency="USD", lines=lines, credit="-1.00")
    with pytest.raises(AmountError, match="decimal places"):
        compute_invoice(currency="USD", lines=lines, credit="1.001")


def test_unknown_currency():
    with pytest.raises(AmountError, match="Unsupported currency"):
        compute_invoice(currency="XYZ", lines=[])


def test_discount_on_zero_priced_lines_goes_to_priced_lines_only():
    inv = compute_invoice(
        currency="USD",
        lines=[LineInput("free", 1, "0"), LineInput("paid", 1, "3.00")],
        discount=Discount(amount="1.00"),
    )
    assert [line.discount_share for line in inv.lines] == [D("0.00"), D("1.00")]


# --- largest remainder ------------------------------------------------------------------------


def test_largest_remainder_even_split_ties_go_to_earlier_line():
    assert allocate_largest_remainder(D("0.02"), [D("1"), D("1"), D("1")], "USD") == [
        D("0.01"),
        D("0.01"),
        D("0.00"),
    ]


def test_largest_remainder_larger_remainder_first():
    # 0.01 over 1:2 -> exact 1/3 and 2/3 of a cent: the larger remainder gets it
    assert allocate_largest_remainder(D("0.01"), [D("1.00"), D("2.00")], "USD") == [D("0.00"), D("0.01")]


def test_largest_remainder_equal_remainders_go_to_larger_line():
    # 0.02 over 1:3 -> exact 0.5 and 1.5 cents: equal remainders, the larger line wins
    assert allocate_largest_remainder(D("0.02"), [D("1"), D("3")], "USD") == [D("0.00"), D("0.02")]
    assert allocate_largest_remainder(D("0.02"), [D("3"), D("1")], "USD") == [D("0.02"), D("0.00")]


def test_largest_remainder_equal_lines_go_to_earlier_line():
    # 0.03 over 2:1:1:2 -> exact 1, 0.5, 0.5, 1 cents: the tie between the equal lines goes to the earlier
    assert allocate_largest_remainder(D("0.03"), [D("2"), D("1"), D("1"), D("2")], "USD") == [
        D("0.01"),
        D("0.01"),
        D("0.00"),
        D("0.01"),
    ]


def test_largest_remainder_errors():
    with pytest.raises(AmountError):
        allocate_largest_remainder(D("0.01"), [D("0"), D("0")], "USD")
    assert allocate_largest_remainder(D("0"), [D("0"), D("0")], "USD") == [D("0.00"), D("0.00")]
    assert allocate_largest_remainder(D("0"), [], "USD") == []
    with pytest.raises(AmountError):
        allocate_largest_remainder(D("-0.01"), [D("1")], "USD")
    with pytest.raises(AmountError):
        allocate_largest_remainder(D("0.01"), [D("-1"), D("2")], "USD")
    with pytest.raises(AmountError):
        allocate_largest_remainder(D("0.001"), [D("1")], "USD")


@settings(deadline=None)
@given(
    total_minor=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=25),
)
def test_largest_remainder_properties(total_minor, weights):
    assume(sum(weights) > 0)
    total = D(total_minor).scaleb(-2)
    parts = allocate_largest_remainder(total, [D(w).scaleb(-2) for w in weights], "USD")
    assert sum(parts) == total
    assert all(isinstance(p, Decimal) and p.as_tuple().exponent == -2 and p >= 0 for p in parts)
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights):
        exact = D(total_minor) * weight / weight_sum
        assert abs(part.scaleb(2) - exact) < 1  # each part within one minor unit of its exact share
        if total_minor <= weight_sum:
            assert part.scaleb(2) <= weight


# --- properties of whole invoices -------------------------------------------------------------

quantities = st.one_of(
    st.integers(min_value=0, max_value=1000).map(Decimal),
    st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
)
prices = st.one_of(
    st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=10, places=4, allow_nan=False, allow_infinity=False),
)
line_inputs = st.builds(
    LineInput,
    description=st.text(max_size=10),
    quantity=quantities,
    unit_price=prices,
    tax_rate=st.sampled_from(RATES),
    kind=st.sampled_from(["plan", "add_on", "usage", "proration", "manual"]),
)


@st.composite
def invoices(draw):
    currency = draw(st.sampled_from(CURRENCIES))
    lines = draw(st.lists(line_inputs, min_size=1, max_size=20))
    subtotal = compute_invoice(currency=currency, lines=lines).subtotal
    kind = draw(st.sampled_from(["none", "percent", "amount"]))
    if kind == "percent":
        discount = Discount(percent=draw(st.decimals(min_value=0, max_value=100, places=2)))
    elif kind == "amount":
        minor = draw(st.integers(min_value=0, max_value=int(subtotal * 100)))
        discount = Discount(amount=D(minor).scaleb(-2))
    else:
        discount = None
    after = compute_invoice(currency=currency, lines=lines, discount=discount)
    left = after.subtotal - after.discount
    credit = D(draw(st.integers(min_value=0, max_value=int(left * 100)))).scaleb(-2)
    return currency, lines, discount, credit


def _money_ok(value):
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2 and value >= 0


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_invoice_properties(case):
    currency, lines, discount, credit = case
    inv = compute_invoice(currency=currency, lines=lines, discount=discount, credit=credit)
    assert inv.currency == currency
    assert len(inv.lines) == len(lines)
    assert inv.subtotal == sum(line.amount for line in inv.lines)
    assert inv.discount == sum(line.discount_share for line in inv.lines)
    assert inv.credit_applied == sum(line.credit_share for line in inv.lines) == credit
    assert inv.tax == sum(line.tax for line in inv.lines)
    assert inv.total == inv.subtotal - inv.discount - inv.credit_applied + inv.tax
    assert inv.total == sum(line.total for line in inv.lines)
    for value in (inv.subtotal, inv.discount, inv.credit_applied, inv.tax, inv.total):
        assert _money_ok(value)
    for given_line, line in zip(lines, inv.lines):
        for value in (line.amount, line.discount_share, line.credit_share, line.net, line.tax, line.total):
            assert _money_ok(value)
        assert all(isinstance(v, Decimal) for v in (line.quantity, line.unit_price, line.tax_rate))
        assert line.discount_share + line.credit_share <= line.amount
        assert line.net == line.amount - line.discount_share - line.credit_share
        assert line.total == line.net + line.tax
        assert line.amount == (given_line.quantity * given_line.unit_price).quantize(D("0.01"), "ROUND_HALF_UP")
        assert line.tax == (line.net * line.tax_rate / 100).quantize(D("0.01"), "ROUND_HALF_UP")
    if discount is not None and discount.percent is not None:
        assert inv.discount == (inv.subtotal * discount.percent / 100).quantize(D("0.01"), "ROUND_HALF_UP")


@settings(max_examples=200, deadline=None)
@given(invoices())
def test_shares_follow_line_amounts(case):
    currency, lines, discount, credit = case
    inv = compute_invoice(currency=currency, lines=lines, discount=discount, credit=credit)
    if inv.subtotal == 0:
        return
    for line in inv.lines:
        exact = inv.discount * line.amount / inv.subtotal
        assert abs(line.discount_share - exact) < D("0.01")


# --- credit notes -----------------------------------------------------------------------------


def test_credit_note_amount_spreads_and_splits_tax():
    inv = worked_example()
    note = compute_credit_note(currency="NGN", lines=inv.lines, amount=D("10.00"))
    assert note.total == D("10.00")
    # 10.00 over gross 23.38 : 8.06 -> 7.44 / 2.56; tax = share × 20/120 half-up
    assert [(l.index, l.net, l.tax, l.total) for l in note.lines] == [
        (0, D("6.20"), D("1.24"), D("7.44")),
        (1, D("2.13"), D("0.43"), D("2.56")),
    ]
    assert note.net == D("8.33") and note.tax == D("1.67")


def test_credit_note_full_amount_reverses_invoice_exactly():
    inv = worked_example()
    note = compute_credit_note(currency="NGN", lines=inv.lines, amount=inv.total)
    assert (note.net, note.tax, note.total) == (inv.net, inv.tax, inv.total)
    for credited, line in zip(note.lines, inv.lines):
        assert (credited.net, credited.tax) == (line.net, line.tax)


def test_credit_note_chosen_lines_in_full():
    inv = worked_example()
    note = compute_credit_note(currency="NGN", lines=inv.lines, line_indexes=[1])
    assert [(l.index, l.description, l.net, l.tax, l.total) for l in note.lines] == [
        (1, "Add-on", D("6.72"), D("1.34"), D("8.06"))
    ]
    assert note.total == D("8.06")
    both = compute_credit_note(currency="NGN", lines=inv.lines, line_indexes=[1, 0])
    assert [l.index for l in both.lines] == [0, 1]
    assert both.total == inv.total


def test_credit_note_respects_earlier_credits():
    inv = worked_example()
    plan, addon = inv.lines
    lines = [
        CreditableLine.from_line(plan, credited_net=D("19.48"), credited_tax=D("3.90")),
        CreditableLine.from_line(addon, credited_net=D("1.00"), credited_tax=D("0.20")),
    ]
    note = compute_credit_note(currency="NGN", lines=lines, amount=D("6.86"))
    assert [(l.index, l.net, l.tax) for l in note.lines] == [(1, D("5.72"), D("1.14"))]
    with pytest.raises(AmountError, match="exceeds what is left"):
        compute_credit_note(currency="NGN", lines=lines, amount=D("6.87"))
    with pytest.raises(AmountError, match="Nothing is left"):
        compute_credit_note(currency="NGN", lines=lines, line_indexes=[0])


def test_credit_note_errors():
    inv = worked_example()
    with pytest.raises(AmountError, match="exactly one"):
        compute_credit_note(currency="NGN", lines=inv.lines)
    with pytest.raises(AmountError, match="exactly one"):
        compute_credit_note(currency="NGN", lines=inv.lines, amount="1.00", line_indexes=[0])
    with pytest.raises(AmountError, match="greater than zero"):
        compute_credit_note(currency="NGN", lines=inv.lines, amount="0")
    with pytest.raises(AmountError, match="decimal places"):
        compute_credit_note(currency="NGN", lines=inv.lines, amount="1.001")
    with pytest.raises(AmountError, match="No invoice line"):
        compute_credit_note(currency="NGN", lines=inv.lines, line_indexes=[2])
    with pytest.raises(AmountError, match="only once"):
        compute_credit_note(currency="NGN", lines=inv.lines, line_indexes=[0, 0])
    with pytest.raises(AmountError, match="credited more"):
        compute_credit_note(
            currency="NGN",
            lines=[CreditableLine("x", D("0"), D("1.00"), D("0.00"), credited_net=D("2.00"))],
            amount="0.50",
        )
    with pytest.raises(TypeError):
        compute_credit_note(currency="NGN", lines=inv.lines, amount=1.0)


@settings(max_examples=200, deadline=None)
@given(invoices(), st.data())
def test_credit_note_properties(case, data):
    currency, lines, discount, credit = case
    inv = compute_invoice(currency=currency, lines=lines, discount=discount, credit=credit)
    assume(inv.total > 0)
    # Credit the invoice in several notes; each respects what earlier ones took.
    credited = [(D("0.00"), D("0.00")) for _ in inv.lines]
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        creditable = [
            CreditableLine.from_line(line, credited_net=n, credited_tax=t) for line, (n, t) in zip(inv.lines, credited)
        ]
        left = sum(line.total for line in inv.lines) - sum(n + t for n, t in credited)
        if left == 0:
            break
        amount = D(data.draw(st.integers(min_value=1, max_value=int(left * 100)))).scaleb(-2)
        note = compute_credit_note(currency=currency, lines=creditable, amount=amount)
        assert note.total == amount == note.net + note.tax
        assert note.net == sum(l.net for l in note.lines)
        assert note.tax == sum(l.tax for l in note.lines)
        for l in note.lines:
            assert _money_ok(l.net) and _money_ok(l.tax) and _money_ok(l.total)
            assert l.total == l.net + l.tax > 0
            n, t = credited[l.index]
            credited[l.index] = (n + l.net, t + l.tax)
        for line, (n, t) in zip(inv.lines, credited):
            assert n <= line.net and t <= line.tax
    # Whatever is left, crediting every line in full takes exactly the rest.
    creditable = [
        CreditableLine.from_line(line, credited_net=n, credited_tax=t) for line, (n, t) in zip(inv.lines, credited)
    ]
    if any(n + t < line.total for line, (n, t) in zip(inv.lines, credited)):
        rest = compute_credit_note(currency=currency, lines=creditable, line_indexes=range(len(inv.lines)))
        assert rest.net + sum(n for n, _ in credited) == inv.net
        assert rest.tax + sum(t for _, t in credited) == inv.tax


# --- proration credit lines ------------------------------------------------------------------


def test_proration_credit_line_reduces_the_invoice_and_takes_no_discount_share():
    result = compute_invoice(
        currency="NGN",
        lines=[
            LineInput("Plan", Decimal("1"), Decimal("3000.00"), Decimal("7.5"), "plan"),
            LineInput("Unused time on Seats", Decimal("1"), Decimal("-1500.00"), Decimal("7.5"), "proration"),
        ],
        discount=Discount(percent=Decimal("10")),
    )
    plan, credit = result.lines
    assert result.subtotal == Decimal("1500.00")
    assert result.discount == Decimal("300.00") == plan.discount_share  # 10% of the charges only
    assert credit.discount_share == Decimal("0.00") and credit.net == Decimal("-1500.00")
    assert credit.tax == Decimal("-112.50") and plan.tax == Decimal("202.50")
    assert result.tax == Decimal("90.00") and result.total == Decimal("1290.00")
    assert result.total == sum(line.total for line in result.lines)


def test_negative_lines_are_refused_except_proration():
    with pytest.raises(AmountError):
        compute_invoice(currency="NGN", lines=[LineInput("Refund?", Decimal("1"), Decimal("-5.00"))])


def test_a_net_credit_invoice_is_refused():
    with pytest.raises(AmountError, match="account credit"):
        compute_invoice(
            currency="NGN",
            lines=[
                LineInput("Plan", Decimal("1"), Decimal("10.00"), kind="plan"),
                LineInput("Unused time", Decimal("1"), Decimal("-20.00"), kind="proration"),
            ],
        )


@settings(max_examples=150, deadline=None)
@given(
    charges=st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=6),
    credits=st.lists(st.integers(min_value=1, max_value=5_000_000), min_size=0, max_size=3),
    percent=st.sampled_from(["0", "10", "20", "33.33"]),
    rate=st.sampled_from(["0", "7.5", "16", "20"]),
)
def test_parts_sum_with_credit_lines(charges, credits, percent, rate):
    lines = [LineInput(f"c{i}", Decimal("1"), Decimal(c) / 100, Decimal(rate), "plan") for i, c in enumerate(charges)]
    lines += [LineInput(f"r{i}", Decimal("1"), -Decimal(c) / 100, Decimal(rate), "proration") for i, c in enumerate(credits)]
    try:
        result = compute_invoice(currency="USD", lines=lines, discount=Discount(percent=Decimal(percent)))
    except AmountError:
        assert sum(credits) > 0  # only a net credit may be refused
        return
    assert result.total >= 0
    assert result.subtotal == sum(line.amount for line in result.lines)
    assert result.discount == sum(line.discount_share for line in result.lines)
    assert result.tax == sum(line.tax for line in result.lines)
    assert result.total == sum(line.total for line in result.lines)
    assert all(line.discount_share == 0 for line in result.lines if line.amount < 0)
