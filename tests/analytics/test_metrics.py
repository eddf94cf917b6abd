"""Metric definitions on a hand-made book of subscriptions, with every answer worked out here.

The month under test is October 2026 (today is 2026-11-23, so it is closed):
start = end of 2026-09-30, end = end of 2026-10-31.

NGN book (tenant in brackets)             30 Sep     31 Oct    movement
A  Basic 100/month since Jan      [X]      100.00     100.00    —
B  Pro 300/month from 10 Oct      [X]          —      300.00    new 300 (first paid 10 Oct)
C  Annual 1,200/year, ended 20 Oct [C]     100.00         —     churned 100 (1,200 ÷ 12)
D  Weekly 30/week, trial to 19 Oct [D]         —      130.00    new 130 (30 × 52 ÷ 12)
E  Quarterly 600, suspended 15 Sep [E]         —          —     —
F  Seats 50 × 2 → × 3            [F]      100.00     150.00    expansion 50
G  Pro 300, then 10% forever coupon [G]   300.00     270.00    contraction 30
H  Basic 100, suspended 20 Sep, then reactivated [H]  —  100.00  reactivation 100 (paying since Feb)
T  trialing until December       [T]          —          —     —
                                           600.00   1,050.00
Check: 600 + 300 + 130 + 50 + 100 − 30 − 100 = 1,050.
Customers (tenants with MRR): start X, C, F, G = 4; end X, D, F, G, H = 5; churned: C = 1.
Logo churn 1/4 = 0.25; revenue churn (100 + 30)/600 = 0.216667; ARPU 1,050/5 = 210.00;
LTV 210.00/0.25 = 840.00; paying subscriptions at the end 6.
USD book: U Basic 40/month since Jan → MRR 40, no movement, no churn (LTV undefined).
Invoices issued in October: NGN 500 + 300 (void 999, draft and September ones excluded) = 800; USD 40.
"""
import datetime as dt
from decimal import Decimal

import pytest

from billing_ops.analytics.metrics import compute_month, monthly_metrics, mrr_by_plan
from billing_ops.analytics.mrr import MrrBook, movement, subscription_mrr
from billing_ops.analytics.snapshots import snapshot_mrr_day
from subscriptions.models import Coupon, SubscriptionItem
from tests.factories import (
    InvoiceFactory,
    PlanFactory,
    PriceFactory,
    SubscriptionFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 23)
OCT = dt.date(2026, 10, 1)
SEP30 = dt.date(2026, 9, 30)
D = Decimal


def plan(amount, interval="monthly", currency="NGN", name=None, **price):
    base = PriceFactory(currency=currency, interval=interval, unit_amount=D(amount), **price)
    return PlanFactory(currency=currency, interval=interval, base_price=base, name=name or f"{amount}/{interval}")


def sub(tenant, the_plan, anchor, status="active", **kwargs):
    return SubscriptionFactory(tenant=tenant, plan=the_plan, currency=the_plan.currency, billing_anchor=anchor,
                               current_period_start=anchor, current_period_end=anchor + dt.timedelta(days=30),
                               status=status, **kwargs)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC)


@pytest.fixture
def book():
    basic, pro = plan("100.00", name="Basic"), plan("300.00", name="Pro")
    x = TenantFactory(name="X")
    s = {}
    s["A"] = sub(x, basic, dt.date(2026, 1, 1))
    s["B"] = sub(x, pro, dt.date(2026, 10, 10))
    s["C"] = sub(TenantFactory(name="C"), plan("1200.00", "yearly", name="Annual"), dt.date(2026, 3, 15),
                 status="canceled", canceled_at=at(dt.date(2026, 10, 20)), ended_at=at(dt.date(2026, 10, 20)))
    s["D"] = sub(TenantFactory(name="D"), plan("30.00", "weekly", name="Weekly"), dt.date(2026, 10, 5),
                 trial_end=dt.date(2026, 10, 19))
    s["E"] = sub(TenantFactory(name="E"), plan("600.00", "quarterly", name="Quarterly"), dt.date(2026, 5, 1),
                 status="suspended", suspended_at=at(dt.date(2026, 9, 15)))
    seats = plan("50.00", name="Seats", pricing_model="per_unit")
    s["F"] = sub(TenantFactory(name="F"), seats, dt.date(2026, 4, 1))
    SubscriptionItem.objects.filter(subscription=s["F"]).update(quantity=2)
    s["G"] = sub(TenantFactory(name="G"), pro, dt.date(2026, 6, 1))
    s["H"] = sub(TenantFactory(name="H"), basic, dt.date(2026, 2, 1), status="suspended", suspended_at=at(dt.date(2026, 9, 20)))
    s["T"] = sub(TenantFactory(name="T"), basic, dt.date(2026, 10, 1), status="trialing", trial_end=dt.date(2026, 12, 1))
    usd = TenantFactory(name="U", currency="USD")
    s["U"] = sub(usd, plan("40.00", currency="USD", name="Basic USD"), dt.date(2026, 1, 1))

    # The state at the end of 30 September is captured by that day's snapshot ...
    snapshot_mrr_day(SEP30)
    # ... then October happens: F adds a seat, G gets a coupon, H is reactivated.
    SubscriptionItem.objects.filter(subscription=s["F"]).update(quantity=3)
    s["G"].coupon = Coupon.objects.create(code="TENOFF", name="10% off", kind="percent", percent_off=D("10"), duration="forever")
    s["G"].save()
    s["H"].status, s["H"].suspended_at = "active", None
    s["H"].save()

    InvoiceFactory(tenant=x, issue_date=dt.date(2026, 10, 5), total=D("500.00"))
    InvoiceFactory(tenant=x, issue_date=dt.date(2026, 10, 20), total=D("300.00"), status="paid",
                   amount_paid=D("300.00"), amount_due=D("0.00"), paid_at=at(dt.date(2026, 10, 21)))
    InvoiceFactory(tenant=x, issue_date=dt.date(2026, 10, 10), total=D("999.00"), status="void")
    InvoiceFactory(tenant=x, issue_date=None, number=None, total=D("777.00"), status="draft")
    InvoiceFactory(tenant=x, issue_date=dt.date(2026, 9, 30), total=D("111.00"))
    InvoiceFactory(tenant=usd, issue_date=dt.date(2026, 10, 2), total=D("40.00"))
    return s


def test_october_metrics_ngn(book):
    m = compute_month(OCT, today=TODAY)["NGN"]
    assert (m.starting_mrr, m.mrr) == (D("600.00"), D("1050.00"))
    assert m.new_mrr == D("430.00")
    assert m.expansion_mrr == D("50.00")
    assert m.contraction_mrr == D("30.00")
    assert m.churned_mrr == D("100.00")
    assert m.reactivation_mrr == D("100.00")
    assert m.net_new_mrr == D("450.00") == m.new_mrr + m.expansion_mrr + m.reactivation_mrr - m.contraction_mrr - m.churned_mrr
    assert (m.starting_customers, m.customers, m.churned_customers, m.active_subscriptions) == (4, 5, 1, 6)
    assert m.logo_churn_rate == D("0.25")
    assert m.revenue_churn_rate == D("0.216667")
    assert m.arpu == D("210.00")
    assert m.ltv == D("840.00")
    assert m.invoiced == D("800.00")
    from billing_ops.analytics.metrics import _payment_model

    if _payment_model() is None:  # before the payments app lands, collected comes from settled invoices
        assert m.collected == D("300.00")


def test_currencies_are_never_mixed(book):
    months = compute_month(OCT, today=TODAY)
    usd = months["USD"]
    assert (usd.starting_mrr, usd.mrr, usd.customers, usd.invoiced) == (D("40.00"), D("40.00"), 1, D("40.00"))
    assert usd.logo_churn_rate == D("0") and usd.ltv is None and usd.revenue_churn_rate == D("0")
    assert months["NGN"].mrr == D("1050.00")


def test_monthly_series_covers_twelve_months_per_currency(book):
    series = monthly_metrics(months=12, today=TODAY)
    assert set(series) == {"NGN", "USD"}
    ngn = series["NGN"]
    assert [m.month for m in ngn][0] == dt.date(2025, 12, 1) and ngn[-1].month == dt.date(2026, 11, 1)
    assert ngn[-1].partial and not ngn[-2].partial
    assert ngn[-2].mrr == D("1050.00")
    assert ngn[0].mrr == D("0.00")  # nobody paid in December 2025


def test_mrr_by_plan_today(book):
    plans = {p["plan"]: (p["subscriptions"], p["mrr"]) for p in mrr_by_plan(day=TODAY)["NGN"]}
    # Basic: A and H; Pro: B and G (300 + 270); Weekly D; Seats F. C ended, E suspended, T trialing.
    assert plans == {"Basic": (2, D("200.00")), "Pro": (2, D("570.00")), "Weekly": (1, D("130.00")), "Seats": (1, D("150.00"))}


def test_normalisation_of_every_interval_and_exclusions():
    tenant = TenantFactory()
    s = sub(tenant, plan("10.00", "daily"), dt.date(2026, 1, 1))
    for amount, interval in (("7.00", "weekly"), ("600.00", "quarterly"), ("1200.00", "yearly"), ("99.00", "monthly")):
        SubscriptionItem.objects.create(subscription=s, price=PriceFactory(unit_amount=D(amount), interval=interval), kind="add_on")
    metered = PriceFactory(pricing_model="per_unit", unit_amount=D("2.00"))
    SubscriptionItem.objects.create(subscription=s, price=metered, kind="add_on")
    from tests.usage.factories import MeterFactory

    MeterFactory(price=metered)
    # 10 × 365/12 = 304.1667; 7 × 52/12 = 30.3333; 600/3 = 200; 1200/12 = 100; 99 → 733.50 exactly
    rows = MrrBook().live_rows(TODAY)
    assert [r.mrr for r in rows] == [D("733.50")]
    assert subscription_mrr(s) == D("733.50") + D("2.00")  # without the meter list, the per-unit item counts


def test_amount_coupon_is_normalised_and_once_coupons_ignored():
    s = sub(TenantFactory(), plan("1200.00", "yearly"), dt.date(2026, 1, 1))
    s.coupon = Coupon.objects.create(code="Y120", name="120 off", kind="amount", amount_off=D("120.00"), currency="NGN", duration="forever")
    s.save()
    assert subscription_mrr(s) == D("90.00")  # (1200 − 120) / 12
    s.coupon = Coupon.objects.create(code="ONCE", name="once", kind="percent", percent_off=D("50"), duration="once")
    s.save()
    assert subscription_mrr(s) == D("100.00")


def test_movement_identity_holds_per_currency(book):
    bk = MrrBook()
    moves = movement(bk.rows(SEP30), bk.rows(dt.date(2026, 10, 31)), start_day=SEP30)
    for m in moves.values():
        assert m.mrr - m.starting_mrr == m.new_mrr + m.expansion_mrr + m.reactivation_mrr - m.contraction_mrr - m.churned_mrr
