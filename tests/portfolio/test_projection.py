"""The pure projection (portfolio.projection) against hand-worked numbers and reconciliations."""

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.money import round_money
from portfolio.projection import (
    LoanInput,
    ReceivableInput,
    Scenario,
    month_buckets,
    overview,
    project,
)
from portfolio.schedule import schedule
from tests.portfolio.reference import reference_projection

AS_OF = dt.date(2026, 1, 31)


def loan(key, principal, rate, start, n, method="annuity", day_count="30/360", client="C1", currency="EUR"):
    return LoanInput(
        key=key,
        client_key=client,
        currency=currency,
        principal=D(principal),
        annual_rate=D(rate),
        start_date=start,
        term_months=n,
        method=method,
        day_count=day_count,
    )


def receivable(key, amount, due, client="C1", debtor="D1", currency="EUR"):
    return ReceivableInput(
        key=key, client_key=client, debtor_key=debtor, currency=currency, due_date=due, open_amount=D(amount)
    )


def periods_of(ln):
    return schedule(
        principal=ln.principal,
        annual_rate=ln.annual_rate,
        start_date=ln.start_date,
        term_months=ln.term_months,
        method=ln.method,
        day_count=ln.day_count,
    )


def outstanding_at(ln, day):
    """Independent: principal minus the principal of every period dated on or before ``day``."""
    return ln.principal - sum((p.principal for p in periods_of(ln) if p.date <= day), D("0.00"))


def test_month_buckets_count_months_from_d_with_clamping():
    assert month_buckets(AS_OF, 3) == [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 30)),
    ]
    assert month_buckets(dt.date(2026, 3, 15), 2) == [
        (dt.date(2026, 3, 15), dt.date(2026, 4, 15)),
        (dt.date(2026, 4, 16), dt.date(2026, 5, 15)),
    ]


LOANS = [
    # started before D, matures inside 12 months
    loan("L1", "12000.00", "0.06", dt.date(2025, 6, 30), 12, "annuity"),
    loan("L2", "9000.00", "0.05", dt.date(2025, 11, 15), 6, "linear", "ACT/360"),
    loan("L3", "5000.00", "0.045", dt.date(2025, 12, 31), 9, "bullet", "ACT/365", client="C2"),
    # matures after the horizon
    loan("L4", "20000.00", "0.08", dt.date(2025, 10, 31), 36, "annuity", "ACT/365", client="C2"),
    # fully repaid before D, and one starting after D
    loan("L5", "1000.00", "0.05", dt.date(2024, 1, 31), 12),
    loan("L6", "7000.00", "0.05", dt.date(2026, 3, 1), 12),
]
RECEIVABLES = [
    receivable("R1", "1500.00", dt.date(2026, 1, 10)),  # overdue: collected on D
    receivable("R2", "2500.50", dt.date(2026, 3, 10)),
    receivable("R3", "999.99", dt.date(2026, 12, 20), client="C2", debtor="D2"),
    receivable("R4", "4000.00", dt.date(2027, 6, 30), client="C2"),  # after the horizon
]


def test_principal_reconciles_with_outstanding_of_loans_maturing_in_the_horizon():
    result = project(LOANS, [], as_of=AS_OF, months=12)
    horizon_end = dt.date(2027, 1, 31)
    rows = result.currencies["EUR"]
    maturing = [ln for ln in LOANS if ln.start_date <= AS_OF and periods_of(ln)[-1].date <= horizon_end]
    assert {ln.key for ln in maturing} == {"L1", "L2", "L3", "L5"}
    expected = sum(outstanding_at(ln, AS_OF) for ln in maturing)
    long_loan = LOANS[3]
    expected += outstanding_at(long_loan, AS_OF) - outstanding_at(long_loan, horizon_end)
    assert sum(r.principal for r in rows) == expected
    # the opening balance is every started loan's outstanding principal at D (L6 starts after D)
    assert rows[0].opening_balance == sum(outstanding_at(ln, AS_OF) for ln in LOANS[:5])
    assert rows[-1].closing_balance == outstanding_at(long_loan, horizon_end)
    assert result.loans_not_started == 1


def test_month_by_month_balances_roll_forward():
    result = project(LOANS, RECEIVABLES, as_of=AS_OF, months=12, scenario=Scenario(default_rate=D("0.1")))
    for rows in [*result.currencies.values(), *result.clients.values()]:
        for row in rows:
            assert row.closing_balance == (row.opening_balance - row.principal - row.collections - row.defaulted)
        for before, after in zip(rows, rows[1:], strict=False):
            assert after.opening_balance == before.closing_balance
    # the portfolio is the sum of its clients
    for i, row in enumerate(result.currencies["EUR"]):
        for name in ("opening_balance", "principal", "interest", "collections", "defaulted", "closing_balance"):
            assert getattr(row, name) == sum(getattr(rows[i], name) for rows in result.clients.values())


def test_loan_interest_in_a_month_is_the_scheduled_interest_of_periods_in_it():
    result = project(LOANS, [], as_of=AS_OF, months=12)
    buckets = month_buckets(AS_OF, 12)
    for k, row in enumerate(result.currencies["EUR"]):
        start, end = buckets[k]
        expected = sum(
            (p.interest for ln in LOANS[:5] for p in periods_of(ln) if start <= p.date <= end and p.date > AS_OF),
            D("0.00"),
        )
        assert row.interest == expected


def test_receivables_are_collected_on_due_date_or_on_d_when_overdue():
    result = project([], RECEIVABLES, as_of=AS_OF, months=12)
    rows = result.currencies["EUR"]
    assert rows[0].opening_balance == D("9000.49")
    # month 1 = 31 Jan..28 Feb holds the overdue R1 (on D); month 2 (1..31 Mar) holds R2;
    # month 11 (1..31 Dec 2026) holds R3; R4 is due after the horizon and stays in the balance
    collections = {row.month: row.collections for row in rows if row.collections}
    assert collections == {1: D("1500.00"), 2: D("2500.50"), 11: D("999.99")}
    assert rows[-1].closing_balance == D("4000.00")


def test_delay_shifts_collections():
    result = project([], RECEIVABLES, as_of=AS_OF, months=12, scenario=Scenario(delay_days=30))
    collections = {row.month: row.collections for row in result.currencies["EUR"] if row.collections}
    # R1: D + 30 = 2 Mar → month 2; R2: 10 Mar + 30 = 9 Apr → month 3;
    # R3: 20 Dec + 30 = 19 Jan 2027 → month 12 (1..31 Jan 2027)
    assert collections == {2: D("1500.00"), 3: D("2500.50"), 12: D("999.99")}
    late = project([], RECEIVABLES, as_of=AS_OF, months=12, scenario=Scenario(delay_days=60))
    # R3 now lands on 18 Feb 2027, after the horizon: it stays in the closing balance
    assert sum(r.collections for r in late.currencies["EUR"]) == D("4000.50")
    assert late.currencies["EUR"][-1].closing_balance == D("4999.99")


@pytest.mark.parametrize("rate", ["0.05", "0.1", "0.333333", "1"])
def test_default_rate_reduces_every_collection_and_payment_by_that_fraction(rate):
    rate = D(rate)
    base = project(LOANS, RECEIVABLES, as_of=AS_OF, months=12)
    stressed = project(LOANS, RECEIVABLES, as_of=AS_OF, months=12, scenario=Scenario(default_rate=rate))
    buckets = month_buckets(AS_OF, 12)
    for k, (b, s) in enumerate(zip(base.currencies["EUR"], stressed.currencies["EUR"], strict=True)):
        start, end = buckets[k]
        # per projected event: lost = round(amount × rate), the rest arrives
        amounts = [r.open_amount for r in RECEIVABLES if start <= max(r.due_date, AS_OF) <= end]
        assert s.collections == sum((a - round_money(a * rate) for a in amounts), D("0.00"))
        assert abs(s.collections - b.collections * (1 - rate)) <= D("0.005") * len(amounts)
        periods = [p for ln in LOANS[:5] for p in periods_of(ln) if p.date > AS_OF and start <= p.date <= end]
        assert s.principal == sum((p.principal - round_money(p.principal * rate) for p in periods), D("0.00"))
        assert s.interest == sum((p.interest - round_money(p.interest * rate) for p in periods), D("0.00"))
        # what does not arrive of principal and collections leaves the balance as a loss
        assert s.defaulted == (b.principal - s.principal) + (b.collections - s.collections)
    if rate == 1:
        assert all(r.principal == r.interest == r.collections == 0 for r in stressed.currencies["EUR"])
    # the balance runs down exactly as in the base case: loss or cash, it leaves the balance
    assert [r.closing_balance for r in stressed.currencies["EUR"]] == [
        r.closing_balance for r in base.currencies["EUR"]
    ]


def test_rate_shift_reschedules_the_remaining_balance_from_d():
    # Bullet: 10,000.00 at 5 % from 31 Jan 2026, 12 months; D = 15 May 2026 (3 periods paid).
    # Base interest: round(10000 × 0.05 / 12) = 41.67; +100 bp: round(10000 × 0.06 / 12) = 50.00
    bullet = loan("B", "10000.00", "0.05", dt.date(2026, 1, 31), 12, "bullet")
    as_of = dt.date(2026, 5, 15)
    base = project([bullet], [], as_of=as_of, months=3)
    shifted = project([bullet], [], as_of=as_of, months=3, scenario=Scenario(rate_shift_bp=100))
    assert [r.interest for r in base.currencies["EUR"]] == [D("41.67")] * 3
    assert [r.interest for r in shifted.currencies["EUR"]] == [D("50.00")] * 3
    down = project([bullet], [], as_of=as_of, months=3, scenario=Scenario(rate_shift_bp=-600))
    assert [r.interest for r in down.currencies["EUR"]] == [D("0.00")] * 3  # the rate stops at 0

    # Annuity: 12,000.00 at 6 % from 31 Jan 2026, 12 months, D = 31 Mar 2026 (2 periods paid).
    annuity = loan("A", "12000.00", "0.06", dt.date(2026, 1, 31), 12, "annuity")
    as_of = dt.date(2026, 3, 31)
    left = outstanding_at(annuity, as_of)
    shifted = project([annuity], [], as_of=as_of, months=10, scenario=Scenario(rate_shift_bp=250))
    rows = shifted.currencies["EUR"]
    # hand formula: the new level payment over the 10 remaining periods at 8.5 %
    r = D("0.085") / 12
    payment = round_money(left * r / (1 - (1 + r) ** -10))
    first_interest = round_money(left * D("0.085") / 12)
    assert rows[0].opening_balance == left
    assert rows[0].interest == first_interest
    assert rows[0].principal == payment - first_interest
    assert sum(row.principal for row in rows) == left
    assert rows[-1].closing_balance == 0


def test_loan_payment_dated_d_is_history():
    ln = loan("L", "3000.00", "0", dt.date(2025, 12, 31), 3, "linear")
    result = project([ln], [], as_of=dt.date(2026, 1, 31), months=2)
    rows = result.currencies["EUR"]
    assert rows[0].opening_balance == D("2000.00")  # the 31 Jan payment is already made
    assert [r.principal for r in rows] == [D("1000.00"), D("1000.00")]


def test_currencies_and_clients_are_kept_apart():
    mixed = [
        loan("E", "1000.00", "0", AS_OF, 1, "bullet"),
        loan("G", "500.00", "0", AS_OF, 1, "bullet", currency="GBP"),
    ]
    result = project(mixed, [], as_of=AS_OF, months=1)
    assert {c: rows[0].principal for c, rows in result.currencies.items()} == {"EUR": D("1000.00"), "GBP": D("500.00")}
    assert set(result.clients) == {("EUR", "C1"), ("GBP", "C1")}


def test_overview_kpis_by_hand():
    loans = [
        # 12,000.00 linear, 6 %, 12 months from 31 Dec 2025: 1,000.00 a month; at D (31 Jan) 11,000.00 left
        loan("A", "12000.00", "0.06", dt.date(2025, 12, 31), 12, "linear", client="C1"),
        # 6,000.00 bullet at 3 % from 31 Jan 2026 (D itself), 24 months: all 6,000.00 repaid on 31 Jan 2028
        loan("B", "6000.00", "0.03", dt.date(2026, 1, 31), 24, "bullet", client="C2"),
    ]
    receivables = [
        receivable("R1", "100.00", dt.date(2026, 2, 10), client="C1", debtor="D1"),
        receivable("R2", "50.00", dt.date(2027, 3, 1), client="C1", debtor="D2"),  # after 12 months
    ]
    result = overview(loans, receivables, as_of=AS_OF)
    eur = result.currencies["EUR"]
    assert eur.loans_count == 2
    assert eur.loans_outstanding == D("17000.00")
    assert eur.receivables_open == D("150.00") and eur.receivables_count == 2
    assert eur.collections_12m == D("100.00")
    # next 12 months (to 31 Jan 2027): A repays its 11,000.00 (last period 31 Dec 2026); B none
    assert eur.principal_12m == D("11000.00")
    # A's interest: 0.5 % a month on 11000, 10000, ..., 1000 = 0.005 × 66,000 = 330.00; B: 12 × 15.00
    assert eur.interest_12m == D("330.00") + D("180.00")
    # weighted rate: (11000 × 0.06 + 6000 × 0.03) / 17000
    assert eur.weighted_rate == (D("11000") * D("0.06") + D("6000") * D("0.03")) / D("17000")
    # weighted average life in years (days / 365): A repays 1000 at the end of each month,
    # B 6000 on 31 Jan 2028 (730 days after D)
    a_dates = [periods_of(loans[0])[k].date for k in range(1, 12)]
    a_days = sum(D(1000) * (d - AS_OF).days for d in a_dates)
    assert eur.weighted_life == (a_days + D(6000) * 730) / (D(365) * D(17000))
    assert round(eur.weighted_life, 4) == D("1.0268")  # 6,371,000 / 6,205,000
    assert [(r.key, r.loans_outstanding, r.receivables_open) for r in result.clients] == [
        ("C1", D("11000.00"), D("150.00")),
        ("C2", D("6000.00"), D("0.00")),
    ]
    assert [(r.key, r.receivables_open, r.collections_12m) for r in result.debtors] == [
        ("D1", D("100.00"), D("100.00")),
        ("D2", D("50.00"), D("0.00")),
    ]
    assert [(r.key, r.loans_count, r.loans_outstanding) for r in result.methods] == [
        ("bullet", 1, D("6000.00")),
        ("linear", 1, D("11000.00")),
    ]


# --- the projection against the exact reference, on random books ---------------------------------

amounts = st.integers(min_value=1, max_value=10**10).map(lambda c: D(c) / 100)
random_loans = st.builds(
    lambda i, principal, rate, start, n, method, day_count, client, currency: loan(
        f"L{i}", principal, rate, start, n, method, day_count, client=client, currency=currency
    ),
    st.integers(0, 10**6),
    amounts,
    st.integers(min_value=0, max_value=300_000).map(lambda m: D(m) / 1_000_000),
    st.dates(min_value=dt.date(2022, 1, 1), max_value=dt.date(2026, 6, 30)),
    st.integers(1, 72),
    st.sampled_from(["annuity", "linear", "bullet"]),
    st.sampled_from(["30/360", "ACT/360", "ACT/365"]),
    st.sampled_from(["C1", "C2", "C3"]),
    st.sampled_from(["EUR", "GBP"]),
)
random_receivables = st.builds(
    lambda i, amount, due, client, currency: receivable(f"R{i}", amount, due, client=client, currency=currency),
    st.integers(0, 10**6),
    amounts,
    st.dates(min_value=dt.date(2025, 6, 1), max_value=dt.date(2028, 12, 31)),
    st.sampled_from(["C1", "C2", "C4"]),
    st.sampled_from(["EUR", "GBP"]),
)


@settings(max_examples=60, deadline=None)
@given(
    loans=st.lists(random_loans, max_size=12),
    receivables=st.lists(random_receivables, max_size=12),
    months=st.integers(1, 36),
    default_rate=st.sampled_from(["0", "0.05", "0.333333", "1"]),
    delay_days=st.sampled_from([0, 45]),
)
def test_projection_equals_the_exact_reference_on_random_books(loans, receivables, months, default_rate, delay_days):
    scenario = Scenario(default_rate=D(default_rate), delay_days=delay_days)
    result = project(loans, receivables, as_of=AS_OF, months=months, scenario=scenario)
    expected = reference_projection(loans, receivables, AS_OF, months, D(default_rate), delay_days)
    fields = ("opening_balance", "principal", "interest", "collections", "defaulted", "closing_balance")
    assert {
        key: [tuple(getattr(r, f) for f in fields) for r in rows] for key, rows in result.clients.items()
    } == expected
    for currency, rows in result.currencies.items():
        for k, row in enumerate(rows):
            parts = [rows_[k] for (cur, _), rows_ in expected.items() if cur == currency]
            assert tuple(getattr(row, f) for f in fields) == tuple(sum(col, D(0)) for col in zip(*parts, strict=True))
