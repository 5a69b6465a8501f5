"""Portfolio projection and overview figures (DOMAIN.md section 8): pure functions, no ORM.

The inputs are plain records (:class:`LoanInput`, :class:`ReceivableInput`), built from the
database by ``portfolio.selectors``. The definitions (month buckets, balances, the scenario and
its rounding) are written down in ``docs/portfolio.md``; in short:

- **as of D**: everything dated ≤ D has happened. A loan's outstanding principal at D is the
  closing balance of its last period dated ≤ D (its principal if none is); loans starting after D
  are not yet outstanding and are left out (counted in ``loans_not_started``).
- **month k** (1..N) covers ``(D + (k−1) months, D + k months]`` with the same clamped month
  arithmetic as the schedules; month 1 also includes D itself (a receivable projected on D).
- **balance** = outstanding loan principal + open receivables. closing = opening − principal −
  collections − defaulted (the part of principal and collections that does not arrive leaves the
  balance as a loss).
- **scenario**: per projected event and per component, lost = round(amount × default rate) and
  the rest arrives; receivables are collected on max(due date, D) + delay days; a rate shift adds
  ``bp / 10,000`` to each loan's annual rate (not below 0) and re-schedules its outstanding balance
  over its remaining periods.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, partial

from atlas.money import quantum, round_money
from atlas.perf import gc_paused
from portfolio.schedule import Instalments, Period, add_months, minor_units, money, schedule_units, to_periods

ZERO = Decimal("0.00")
BP = Decimal(10_000)
DAYS_PER_YEAR = Decimal(365)


@dataclass(frozen=True)
class Scenario:
    default_rate: Decimal = Decimal("0")
    delay_days: int = 0
    rate_shift_bp: int = 0

    def __post_init__(self):
        if not isinstance(self.default_rate, Decimal):
            raise TypeError("default_rate must be a Decimal")
        if not Decimal(0) <= self.default_rate <= Decimal(1):
            raise ValueError("the default rate is a fraction between 0 and 1")
        if self.delay_days < 0:
            raise ValueError("the collection delay cannot be negative")

    @property
    def is_base(self) -> bool:
        return self.default_rate == 0 and self.delay_days == 0 and self.rate_shift_bp == 0

    @property
    def rate_shift(self) -> Decimal:
        return Decimal(self.rate_shift_bp) / BP

    def describe(self) -> str:
        if self.is_base:
            return "base"
        return (
            f"default {self.default_rate * 100:f} %, delay {self.delay_days} days, "
            f"rate shift {self.rate_shift_bp:+d} bp"
        )


BASE = Scenario()


@dataclass(frozen=True)
class LoanInput:
    key: str
    client_key: str
    currency: str
    principal: Decimal
    annual_rate: Decimal
    start_date: dt.date
    term_months: int
    method: str
    day_count: str
    client_name: str = ""


@dataclass(frozen=True)
class ReceivableInput:
    key: str
    client_key: str
    debtor_key: str
    currency: str
    due_date: dt.date
    open_amount: Decimal
    client_name: str = ""
    debtor_name: str = ""


@dataclass(slots=True)
class MonthRow:
    month: int
    start: dt.date
    end: dt.date
    opening_balance: Decimal = ZERO
    principal: Decimal = ZERO
    interest: Decimal = ZERO
    collections: Decimal = ZERO
    defaulted: Decimal = ZERO
    closing_balance: Decimal = ZERO

    def add(self, other: MonthRow) -> None:
        self.opening_balance += other.opening_balance
        self.principal += other.principal
        self.interest += other.interest
        self.collections += other.collections
        self.defaulted += other.defaulted
        self.closing_balance += other.closing_balance


@dataclass
class LoanPosition:
    """A loan at D: outstanding principal, the rate from D on, and its periods dated after D."""

    loan: LoanInput
    outstanding: Decimal
    rate: Decimal
    instalments: Instalments  # the periods dated after D, in minor units

    @cached_property
    def remaining(self) -> list[Period]:
        """The periods dated after D."""
        return to_periods(self.instalments, self.loan.currency)


@dataclass
class Projection:
    as_of: dt.date
    months: int
    scenario: Scenario
    buckets: list[tuple[dt.date, dt.date]]
    currencies: dict[str, list[MonthRow]]
    clients: dict[tuple[str, str], list[MonthRow]]  # (currency, client_key) -> rows
    client_names: dict[str, str] = field(default_factory=dict)
    loans_not_started: int = 0

    def totals(self, rows: list[MonthRow]) -> MonthRow:
        """Horizon totals of ``rows``: flows summed, opening of month 1, closing of month N."""
        return month_totals(rows, self.buckets[0][0], self.buckets[-1][1])


def month_totals(rows: list[MonthRow], start: dt.date, end: dt.date) -> MonthRow:
    """Totals of month rows from ``start`` to ``end``: flows summed, opening of the first, closing of the last."""
    total = MonthRow(0, start, end)
    for row in rows:
        total.principal += row.principal
        total.interest += row.interest
        total.collections += row.collections
        total.defaulted += row.defaulted
    if rows:
        total.opening_balance = rows[0].opening_balance
        total.closing_balance = rows[-1].closing_balance
    return total


def month_buckets(as_of: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """(first day, last day) of months 1..N: month k = (D + (k−1) months, D + k months], month 1 from D."""
    if months < 1:
        raise ValueError("the horizon is at least one month")
    ends = [add_months(as_of, k) for k in range(1, months + 1)]
    starts = [as_of] + [end + dt.timedelta(days=1) for end in ends[:-1]]
    return list(zip(starts, ends, strict=True))


def loan_position(loan: LoanInput, as_of: dt.date, rate_shift: Decimal = Decimal(0)) -> LoanPosition | None:
    """None for a loan that starts after D (not yet outstanding)."""
    if loan.start_date > as_of:
        return None
    terms = {
        "annual_rate": loan.annual_rate,
        "start_date": loan.start_date,
        "term_months": loan.term_months,
        "method": loan.method,
        "day_count": loan.day_count,
        "currency": loan.currency,
    }
    instalments = schedule_units(principal=loan.principal, **terms)
    paid = bisect_right(instalments.dates, as_of)  # periods dated <= D
    remaining = instalments.after(paid)
    outstanding = money(remaining.opening, loan.currency) if paid else loan.principal
    rate = loan.annual_rate
    if rate_shift and remaining.dates and outstanding > 0:
        rate = max(Decimal(0), loan.annual_rate + rate_shift)
        remaining = schedule_units(**(terms | {"annual_rate": rate}), principal=outstanding, from_period=paid + 1)
    return LoanPosition(loan=loan, outstanding=outstanding, rate=rate, instalments=remaining)


@gc_paused()
def loan_positions(
    loans: Iterable[LoanInput], as_of: dt.date, rate_shift: Decimal = Decimal(0)
) -> tuple[list[LoanPosition], int]:
    """Positions of the loans outstanding at D (> 0), and how many loans start after D."""
    positions, not_started = [], 0
    for loan in loans:
        position = loan_position(loan, as_of, rate_shift)
        if position is None:
            not_started += 1
        elif position.outstanding > 0:
            positions.append(position)
    return positions, not_started


def collection_date(receivable: ReceivableInput, as_of: dt.date, delay_days: int = 0) -> dt.date:
    """Projected collection date: the due date (D if overdue) plus the delay."""
    return max(receivable.due_date, as_of) + dt.timedelta(days=delay_days)


def split_default(amount: Decimal, default_rate: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """(arriving, lost) with lost = round(amount × rate); the two add up to ``amount``."""
    if not default_rate:
        return amount, ZERO
    lost = round_money(amount * default_rate, currency)
    return amount - lost, lost


@gc_paused()
def project(
    loans: Iterable[LoanInput],
    receivables: Iterable[ReceivableInput],
    *,
    as_of: dt.date,
    months: int = 12,
    scenario: Scenario = BASE,
    positions: tuple[list[LoanPosition], int] | None = None,
) -> Projection:
    """Month-by-month projection per client and per currency (see the module docstring).

    ``positions`` may pass in precomputed ``loan_positions(loans, as_of, scenario.rate_shift)``.
    Loan flows are summed in minor units (ints) per client and month, receivables as ``Decimal``;
    the month rows are built once at the end.
    """
    buckets = month_buckets(as_of, months)
    ends = [end for _, end in buckets]
    rate = scenario.default_rate
    opening: dict[tuple[str, str], Decimal] = {}  # every client's key, in the order first met
    loan_flows: dict[tuple[str, str], tuple[list[int], list[int], list[int]]] = {}  # principal, interest, lost
    receivable_flows: dict[tuple[str, str], tuple[list[Decimal], list[Decimal]]] = {}  # collections, lost
    names: dict[str, str] = {}
    months_of: dict[tuple[dt.date, int, int], list[int]] = {}  # (start date, first period, periods) -> months

    def add_client(key: tuple[str, str], client_name: str) -> None:
        if key not in opening:
            opening[key] = ZERO
            names.setdefault(key[1], client_name)

    def lost_units(units: int, currency: str) -> int:
        return minor_units(split_default(money(units, currency), rate, currency)[1], currency)

    if positions is None:
        positions = loan_positions(loans, as_of, scenario.rate_shift)
    loan_list, not_started = positions
    for position in loan_list:
        loan = position.loan
        key = (loan.currency, loan.client_key)
        add_client(key, loan.client_name)
        opening[key] += position.outstanding
        flows = loan_flows.get(key)
        if flows is None:
            flows = loan_flows[key] = ([0] * months, [0] * months, [0] * months)
        principal, interest, lost = flows
        instalments = position.instalments
        run = (loan.start_date, instalments.first, len(instalments.dates))  # the same period dates
        in_horizon = months_of.get(run)
        if in_horizon is None:  # the month of each period dated within the horizon
            in_horizon = months_of[run] = [i for i in map(partial(bisect_left, ends), instalments.dates) if i < months]
        for i, repaid, paid in zip(in_horizon, instalments.principal, instalments.interest, strict=False):
            if rate:
                lost_principal = lost_units(repaid, loan.currency)
                lost[i] += lost_principal
                repaid -= lost_principal
                paid -= lost_units(paid, loan.currency)
            principal[i] += repaid
            interest[i] += paid

    for receivable in receivables:
        if receivable.open_amount <= 0:
            continue
        key = (receivable.currency, receivable.client_key)
        add_client(key, receivable.client_name)
        opening[key] += receivable.open_amount
        i = bisect_left(ends, collection_date(receivable, as_of, scenario.delay_days))
        if i >= months:
            continue
        arriving, lost = split_default(receivable.open_amount, rate, receivable.currency)
        flows = receivable_flows.get(key)
        if flows is None:
            flows = receivable_flows[key] = ([ZERO] * months, [ZERO] * months)
        flows[0][i] += arriving
        flows[1][i] += lost

    no_loans = ([0] * months,) * 3
    no_receivables = ([ZERO] * months,) * 2
    clients: dict[tuple[str, str], list[MonthRow]] = {}
    by_currency: dict[str, list] = {}  # currency -> [openings, loan flows, receivable flows] of its clients
    for key in sorted(opening):
        loan_side = loan_flows.get(key, no_loans)
        receivable_side = receivable_flows.get(key, no_receivables)
        clients[key] = _month_rows(buckets, opening[key], loan_side, receivable_side, key[0])
        found = by_currency.setdefault(key[0], [[], [], []])
        found[0].append(opening[key])
        found[1].append(loan_side)
        found[2].append(receivable_side)
    currencies = {}
    for currency, (openings, loan_sides, receivable_sides) in by_currency.items():
        loan_side = [[sum(month) for month in zip(*part, strict=True)] for part in zip(*loan_sides, strict=True)]
        receivable_side = [
            [sum(month, ZERO) for month in zip(*part, strict=True)] for part in zip(*receivable_sides, strict=True)
        ]
        currencies[currency] = _month_rows(buckets, sum(openings, ZERO), loan_side, receivable_side, currency)
    return Projection(
        as_of=as_of,
        months=months,
        scenario=scenario,
        buckets=buckets,
        currencies=dict(sorted(currencies.items())),
        clients=clients,
        client_names=names,
        loans_not_started=not_started,
    )


def _month_rows(buckets, opening: Decimal, loan_side, receivable_side, currency: str) -> list[MonthRow]:
    """Month rows from an opening balance, loan flows in minor units (principal, interest, lost) and
    receivable flows as amounts (collections, lost): closing = opening − principal − collections − defaulted."""
    rows = []
    append, make, cent = rows.append, MonthRow, quantum(currency)  # money(), inlined
    balance = opening
    for k, ((start, end), principal, interest, lost, collections, lost_receivables) in enumerate(
        zip(buckets, *loan_side, *receivable_side, strict=True), 1
    ):
        principal = cent * principal
        defaulted = cent * lost + lost_receivables if lost else lost_receivables
        closing = balance - principal
        if collections:  # a zero changes nothing: skip the Decimal operations (most months have none)
            closing -= collections
        if defaulted:
            closing -= defaulted
        append(make(k, start, end, balance, principal, cent * interest, collections, defaulted, closing))
        balance = closing
    return rows


# --- overview KPIs ---------------------------------------------------------------------------


@dataclass
class KpiRow:
    """One line of an overview table: a currency total, a client, a debtor or a loan method."""

    currency: str
    key: str = ""
    label: str = ""
    loans_count: int = 0
    loans_outstanding: Decimal = ZERO
    receivables_count: int = 0
    receivables_open: Decimal = ZERO
    principal_12m: Decimal = ZERO
    interest_12m: Decimal = ZERO
    collections_12m: Decimal = ZERO
    rate_weight: Decimal = Decimal(0)  # Σ outstanding × annual rate
    life_weight: Decimal = Decimal(0)  # Σ principal repaid × days from D

    @property
    def weighted_rate(self) -> Decimal | None:
        """Outstanding-weighted average annual rate (unrounded); None without loans."""
        return self.rate_weight / self.loans_outstanding if self.loans_outstanding else None

    @property
    def weighted_life(self) -> Decimal | None:
        """Weighted average life in years (unrounded): Σ principal_k × days_k / (365 × outstanding)."""
        return self.life_weight / (DAYS_PER_YEAR * self.loans_outstanding) if self.loans_outstanding else None

    @property
    def expected_12m(self) -> Decimal:
        return self.principal_12m + self.interest_12m + self.collections_12m


@dataclass
class Overview:
    as_of: dt.date
    horizon_months: int
    currencies: dict[str, KpiRow]
    clients: list[KpiRow]
    debtors: list[KpiRow]
    methods: list[KpiRow]


def overview(
    loans: Iterable[LoanInput],
    receivables: Iterable[ReceivableInput],
    *,
    as_of: dt.date,
    horizon_months: int = 12,
    positions: tuple[list[LoanPosition], int] | None = None,
) -> Overview:
    """KPIs per currency at D (base case), split by client, debtor and loan method.

    Expected amounts are the base projection over ``horizon_months`` (same buckets as
    :func:`project`). Weighted average rate and life concern loans only.
    """
    horizon_end = add_months(as_of, horizon_months)
    currencies: dict[str, KpiRow] = {}
    by_client: dict[tuple[str, str], KpiRow] = {}
    by_debtor: dict[tuple[str, str], KpiRow] = {}
    by_method: dict[tuple[str, str], KpiRow] = {}

    def row(table: dict, currency: str, key: str, label: str) -> KpiRow:
        found = table.get((currency, key))
        if found is None:
            found = table[(currency, key)] = KpiRow(currency=currency, key=key, label=label)
        return found

    if positions is None:
        positions = loan_positions(loans, as_of)
    for position in positions[0]:
        loan = position.loan
        principal_12m = interest_12m = ZERO
        life = Decimal(0)
        for period in position.remaining:
            life += period.principal * (period.date - as_of).days
            if period.date <= horizon_end:
                principal_12m += period.principal
                interest_12m += period.interest
        targets = (
            row(currencies, loan.currency, "", loan.currency),
            row(by_client, loan.currency, loan.client_key, loan.client_name),
            row(by_method, loan.currency, loan.method, loan.method),
        )
        for target in targets:
            target.loans_count += 1
            target.loans_outstanding += position.outstanding
            target.principal_12m += principal_12m
            target.interest_12m += interest_12m
            target.rate_weight += position.outstanding * position.rate
            target.life_weight += life

    for receivable in receivables:
        if receivable.open_amount <= 0:
            continue
        expected = receivable.open_amount if collection_date(receivable, as_of) <= horizon_end else ZERO
        targets = (
            row(currencies, receivable.currency, "", receivable.currency),
            row(by_client, receivable.currency, receivable.client_key, receivable.client_name),
            row(by_debtor, receivable.currency, receivable.debtor_key, receivable.debtor_name),
        )
        for target in targets:
            target.receivables_count += 1
            target.receivables_open += receivable.open_amount
            target.collections_12m += expected

    def ordered(table: dict) -> list[KpiRow]:
        return [table[key] for key in sorted(table)]

    return Overview(
        as_of=as_of,
        horizon_months=horizon_months,
        currencies={key[0]: currencies[key] for key in sorted(currencies)},
        clients=ordered(by_client),
        debtors=ordered(by_debtor),
        methods=ordered(by_method),
    )
