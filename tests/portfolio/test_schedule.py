"""The schedule engine against DOMAIN.md section 8: worked examples to the cent, an exact
rational reference, and numpy-financial as the oracle for the annuity payment and shape."""

import datetime as dt
from decimal import Decimal as D

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.schedule import (
    ScheduleError,
    add_months,
    annuity_payment,
    annuity_payment_exact,
    schedule,
)
from tests.portfolio.reference import reference_schedule

HALF_CENT = D("0.005")


def cents(rows):
    """Comparable rows: (period, date, opening, payment, interest, principal, closing)."""
    return [tuple(r) for r in rows]


# --- period dates --------------------------------------------------------------------------


def test_start_on_the_31st_clamps_each_month_from_the_start_date():
    start = dt.date(2026, 1, 31)
    assert [add_months(start, k) for k in range(1, 7)] == [
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),  # counted from 31 Jan, not from 28 Feb
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 31),
        dt.date(2026, 6, 30),
        dt.date(2026, 7, 31),
    ]
    assert add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)  # leap year
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)  # across the year end


# --- worked examples, by hand from DOMAIN.md ---------------------------------------------------


def test_annuity_30_360_start_on_the_31st():
    # P = 10,000.00, 6 % a year, 12 months, 30/360: r = 0.005,
    # payment = round(10000 × 0.005 / (1 − 1.005^−12)) = round(860.6643…) = 860.66
    rows = schedule(
        principal=D("10000.00"),
        annual_rate=D("0.06"),
        start_date=dt.date(2026, 1, 31),
        term_months=12,
        method="annuity",
    )
    # period 1: interest = round(10000 × 0.06 / 12) = 50.00, principal = 860.66 − 50.00 = 810.66
    first = (1, dt.date(2026, 2, 28), D("10000.00"), D("860.66"), D("50.00"), D("810.66"), D("9189.34"))
    assert tuple(rows[0]) == first
    # period 2: interest = round(9189.34 × 0.005) = round(45.9467) = 45.95, principal 814.71
    assert tuple(rows[1]) == (2, dt.date(2026, 3, 31), D("9189.34"), D("860.66"), D("45.95"), D("814.71"), D("8374.63"))
    # period 3: interest = round(8374.63 × 0.005) = round(41.87315) = 41.87
    assert rows[2].interest == D("41.87") and rows[2].principal == D("818.79")
    assert [r.date for r in rows][-1] == dt.date(2027, 1, 31)
    assert all(r.payment == D("860.66") for r in rows[:-1])
    assert sum(r.principal for r in rows) == D("10000.00")
    assert rows[-1].closing_balance == D("0.00")
    # the last period repays what is left: payment = balance + its interest
    last = rows[-1]
    assert last.principal == last.opening_balance
    assert last.interest == (last.opening_balance * D("0.005")).quantize(D("0.01"))
    assert cents(rows) == reference_schedule(D("10000.00"), D("0.06"), dt.date(2026, 1, 31), 12, "annuity")


def test_annuity_act_365_uses_actual_days_of_each_period():
    # P = 10,000.00, 6 %, 4 months from 31 Jan 2026, ACT/365.
    # payment = round(10000 × 0.005 × 1.005^4 / (1.005^4 − 1)) = round(2531.3279…) = 2531.33
    rows = schedule(
        principal=D("10000.00"),
        annual_rate=D("0.06"),
        start_date=dt.date(2026, 1, 31),
        term_months=4,
        method="annuity",
        day_count="ACT/365",
    )
    assert cents(rows) == [
        # 31 Jan → 28 Feb: 28 days: 10000 × 0.06 × 28 / 365 = 46.0274 → 46.03
        (1, dt.date(2026, 2, 28), D("10000.00"), D("2531.33"), D("46.03"), D("2485.30"), D("7514.70")),
        # 28 Feb → 31 Mar: 31 days: 7514.70 × 0.06 × 31 / 365 = 38.2941 → 38.29
        (2, dt.date(2026, 3, 31), D("7514.70"), D("2531.33"), D("38.29"), D("2493.04"), D("5021.66")),
        # 31 Mar → 30 Apr: 30 days: 5021.66 × 0.06 × 30 / 365 = 24.7643 → 24.76
        (3, dt.date(2026, 4, 30), D("5021.66"), D("2531.33"), D("24.76"), D("2506.57"), D("2515.09")),
        # 30 Apr → 31 May: 31 days: 2515.09 × 0.06 × 31 / 365 = 12.8166 → 12.82; repays the rest
        (4, dt.date(2026, 5, 31), D("2515.09"), D("2527.91"), D("12.82"), D("2515.09"), D("0.00")),
    ]


def test_linear_act_360():
    # P = 12,000.00, 5 %, 3 months from 15 Jan 2026, ACT/360: principal 4,000.00 a period.
    rows = schedule(
        principal=D("12000.00"),
        annual_rate=D("0.05"),
        start_date=dt.date(2026, 1, 15),
        term_months=3,
        method="linear",
        day_count="ACT/360",
    )
    assert cents(rows) == [
        # 31 days: 12000 × 0.05 × 31 / 360 = 51.6667 → 51.67
        (1, dt.date(2026, 2, 15), D("12000.00"), D("4051.67"), D("51.67"), D("4000.00"), D("8000.00")),
        # 28 days: 8000 × 0.05 × 28 / 360 = 31.1111 → 31.11
        (2, dt.date(2026, 3, 15), D("8000.00"), D("4031.11"), D("31.11"), D("4000.00"), D("4000.00")),
        # 31 days: 4000 × 0.05 × 31 / 360 = 17.2222 → 17.22
        (3, dt.date(2026, 4, 15), D("4000.00"), D("4017.22"), D("17.22"), D("4000.00"), D("0.00")),
    ]


def test_linear_last_period_takes_the_remainder():
    # P = 1,000.00, 12 %, 3 months, 30/360: principal round(1000 / 3) = 333.33, last 333.34;
    # interest 1000 × 0.01 = 10.00, 666.67 × 0.01 = 6.6667 → 6.67, 333.34 × 0.01 = 3.3334 → 3.33
    rows = schedule(
        principal=D("1000.00"),
        annual_rate=D("0.12"),
        start_date=dt.date(2026, 3, 1),
        term_months=3,
        method="linear",
    )
    assert [(r.principal, r.interest, r.payment) for r in rows] == [
        (D("333.33"), D("10.00"), D("343.33")),
        (D("333.33"), D("6.67"), D("340.00")),
        (D("333.34"), D("3.33"), D("336.67")),
    ]


def test_bullet_pays_interest_then_principal_at_the_end():
    # P = 5,000.00, 4.5 %, 3 months, 30/360: interest round(5000 × 0.045 / 12) = 18.75
    rows = schedule(
        principal=D("5000.00"),
        annual_rate=D("0.045"),
        start_date=dt.date(2026, 1, 31),
        term_months=3,
        method="bullet",
    )
    assert cents(rows) == [
        (1, dt.date(2026, 2, 28), D("5000.00"), D("18.75"), D("18.75"), D("0.00"), D("5000.00")),
        (2, dt.date(2026, 3, 31), D("5000.00"), D("18.75"), D("18.75"), D("0.00"), D("5000.00")),
        (3, dt.date(2026, 4, 30), D("5000.00"), D("5018.75"), D("18.75"), D("5000.00"), D("0.00")),
    ]


def test_zero_rate_annuity_is_p_over_n_with_the_rest_last():
    # r = 0: payment = round(1000 / 3) = 333.33; the last period repays 333.34
    rows = schedule(
        principal=D("1000.00"),
        annual_rate=D("0"),
        start_date=dt.date(2026, 1, 31),
        term_months=3,
        method="annuity",
        day_count="ACT/365",
    )
    assert [(r.payment, r.interest, r.principal) for r in rows] == [
        (D("333.33"), D("0.00"), D("333.33")),
        (D("333.33"), D("0.00"), D("333.33")),
        (D("333.34"), D("0.00"), D("333.34")),
    ]


def test_interest_rounds_half_up_not_to_even():
    # 1001.00 × 0.06 / 12 = 5.005 exactly: half-up gives 5.01 (banker's rounding would give 5.00)
    rows = schedule(
        principal=D("1001.00"),
        annual_rate=D("0.06"),
        start_date=dt.date(2026, 1, 1),
        term_months=1,
        method="bullet",
    )
    assert rows[0].interest == D("5.01")
    assert rows[0].payment == D("1006.01")


def test_reschedule_keeps_the_loans_own_period_dates():
    # Re-scheduling 5,000.00 from period 2 of a loan started 31 Jan: dates stay 31 Mar, 30 Apr.
    rows = schedule(
        principal=D("5000.00"),
        annual_rate=D("0.12"),
        start_date=dt.date(2026, 1, 31),
        term_months=3,
        method="linear",
        from_period=2,
    )
    assert [(r.period, r.date, r.principal, r.interest) for r in rows] == [
        (2, dt.date(2026, 3, 31), D("2500.00"), D("50.00")),
        (3, dt.date(2026, 4, 30), D("2500.00"), D("25.00")),
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"term_months": 0},
        {"method": "balloon"},
        {"day_count": "30E/360"},
        {"annual_rate": D("-0.01")},
        {"principal": 1000.0},
        {"principal": D("1000.005")},  # more places than the currency has
    ],
)
def test_bad_terms_are_refused_with_a_message(kwargs):
    terms = {
        "principal": D("1000.00"),
        "annual_rate": D("0.05"),
        "start_date": dt.date(2026, 1, 1),
        "term_months": 12,
        "method": "annuity",
    } | kwargs
    with pytest.raises(ScheduleError) as exc:
        schedule(**terms)
    assert str(exc.value)


# --- properties on random loans ----------------------------------------------------------------

principals = st.integers(min_value=1, max_value=10**11).map(lambda c: D(c) / 100)
rates = st.integers(min_value=0, max_value=300_000).map(lambda m: D(m) / 1_000_000)
# numpy-financial computes (1 + r)^n − 1 in floats: for tiny rates that cancels catastrophically
# (1e-6 a year on 35 million is 0.005 off). The float oracle is used where floats are good to far
# below a cent: rates from 10 bp, principals up to 10 million; tinier rates are checked against the
# exact rational reference above.
oracle_principals = st.integers(min_value=1, max_value=10**9).map(lambda c: D(c) / 100)
positive_rates = st.integers(min_value=1_000, max_value=300_000).map(lambda m: D(m) / 1_000_000)
terms = st.integers(min_value=1, max_value=360)
starts = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31))
methods = st.sampled_from(["annuity", "linear", "bullet"])
day_counts = st.sampled_from(["30/360", "ACT/360", "ACT/365"])


@settings(max_examples=150, deadline=None)
@given(principal=principals, rate=rates, n=terms, start=starts, method=methods, day_count=day_counts)
def test_every_schedule_repays_p_exactly_and_never_goes_negative(principal, rate, n, start, method, day_count):
    rows = schedule(
        principal=principal, annual_rate=rate, start_date=start, term_months=n, method=method, day_count=day_count
    )
    assert len(rows) == n
    assert sum(r.principal for r in rows) == principal
    assert rows[0].opening_balance == principal
    assert rows[-1].closing_balance == 0
    for k, r in enumerate(rows, start=1):
        assert r.period == k
        assert r.date == add_months(start, k)
        assert r.closing_balance >= 0 and r.principal >= 0 and r.interest >= 0
        assert r.closing_balance == r.opening_balance - r.principal
        assert r.payment == r.interest + r.principal
        for amount in (r.payment, r.interest, r.principal, r.closing_balance):
            assert amount == amount.quantize(D("0.01"))
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.opening_balance == before.closing_balance


@settings(max_examples=60, deadline=None)
@given(principal=principals, rate=rates, n=st.integers(1, 120), start=starts, method=methods, day_count=day_counts)
def test_schedule_agrees_with_the_exact_rational_reference(principal, rate, n, start, method, day_count):
    rows = schedule(
        principal=principal, annual_rate=rate, start_date=start, term_months=n, method=method, day_count=day_count
    )
    assert cents(rows) == reference_schedule(principal, rate, start, n, method, day_count)


@settings(max_examples=200, deadline=None)
@given(principal=oracle_principals, rate=positive_rates, n=terms)
def test_annuity_payment_agrees_with_numpy_financial_pmt(principal, rate, n):
    oracle = -npf.pmt(float(rate) / 12, n, float(principal))
    exact = annuity_payment_exact(principal, rate, n)
    assert abs(float(exact) - oracle) <= float(HALF_CENT)
    # the rounded payment is within half a cent of the oracle, plus float noise
    assert abs(float(annuity_payment(principal, rate, n)) - oracle) <= 0.005 + 1e-6 * max(1.0, oracle)


@settings(max_examples=50, deadline=None)
@given(principal=oracle_principals, n=terms)
def test_zero_rate_payment_matches_pmt_too(principal, n):
    oracle = -npf.pmt(0.0, n, float(principal))
    assert abs(float(annuity_payment_exact(principal, D(0), n)) - oracle) <= 0.005


@settings(max_examples=150, deadline=None)
@given(
    principal=st.integers(min_value=100_000, max_value=10**9).map(lambda c: D(c) / 100),
    rate=positive_rates,
    n=st.integers(min_value=2, max_value=120),
    start=starts,
)
def test_annuity_shape_follows_ipmt_and_ppmt(principal, rate, n, start):
    rows = schedule(principal=principal, annual_rate=rate, start_date=start, term_months=n, method="annuity")
    r, p = float(rate) / 12, float(principal)
    # first period: interest and principal as numpy-financial splits the level payment
    ipmt1, ppmt1 = -float(npf.ipmt(r, 1, n, p)), -float(npf.ppmt(r, 1, n, p))
    assert abs(float(rows[0].interest) - ipmt1) <= 0.005 + 1e-9 * p
    assert abs(float(rows[0].principal) - ppmt1) <= 0.01 + 1e-9 * p
    # shape: interest falls and principal grows period after period, as ipmt/ppmt do
    assert -npf.ipmt(r, 1, n, p) >= -npf.ipmt(r, n, n, p)
    body = rows[:-1]
    for before, after in zip(body, body[1:], strict=False):
        assert after.interest <= before.interest
        assert after.principal >= before.principal
