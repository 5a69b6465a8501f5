"""Reads for the portfolio.

Two paths, with the same figures (``tests/portfolio/test_fast_path.py`` compares them):

- the **reference** path (:func:`portfolio_view`, :func:`portfolio_projection`): load every loan and
  every open receivable as plain records (3 queries) and hand them to the pure code
  (``portfolio.projection``). Exports, the commands and scenarios use it;
- the **fast** path (:func:`portfolio_page`, :func:`loan_kpis`): SQL aggregates over the stored loan
  schedules (``LoanInstalment``, kept by ``portfolio.services.refresh_schedules``) and over the open
  receivables, grouped by currency and month, with the per-client, per-debtor and per-loan tables
  paginated in SQL. A constant number of queries, whatever the number of loans, clients or receivables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, Round

from atlas.money import round_money
from clients.models import Client, Debtor, Receivable, Transaction
from portfolio.models import Loan, LoanInstalment
from portfolio.projection import (
    BASE,
    KpiRow,
    LoanInput,
    LoanPosition,
    MonthRow,
    Overview,
    Projection,
    ReceivableInput,
    Scenario,
    loan_positions,
    month_buckets,
    overview,
    project,
)
from portfolio.schedule import add_months
from portfolio.services import refresh_schedules
from risk.models import OpenByDue

ZERO = Decimal("0.00")
HALF_CENT = Decimal("0.005")
_R = '"clients_receivable"'
_OPEN_TERM = f"{_R}.face_value > {_R}.collected + {_R}.written_off"
MONEY_FIELD = DecimalField(max_digits=18, decimal_places=2)
_NAMES_BY_PK = 900  # up to this many clients, their names are read by primary key (else every client's)


def loan_inputs(*, clients=None) -> list[LoanInput]:
    loans = Loan.objects.select_related("client").order_by("loan_id")
    if clients is not None:
        loans = loans.filter(client__in=clients)
    return [
        LoanInput(
            key=loan.loan_id,
            client_key=loan.client.client_id,
            client_name=loan.client.name,
            currency=loan.currency,
            principal=loan.principal,
            annual_rate=loan.annual_rate,
            start_date=loan.start_date,
            term_months=loan.term_months,
            method=loan.method,
            day_count=loan.day_count,
        )
        for loan in loans
    ]


def collections_after(as_of: dt.date) -> bool:
    """Whether any collection is dated after D (then open amounts at D are summed from transactions)."""
    return Transaction.objects.filter(type=Transaction.Type.COLLECTION, date__gt=as_of).exists()


def open_receivables_qs(*, as_of: dt.date, clients=None, maintained: bool | None = None):
    """Receivables issued on or before D with an open amount at D > 0, annotated ``open_at``.

    open at D = face value − collection transactions dated ≤ D − written off (the receivable's
    maintained write-off total: write-offs carry no date on the receivable row). When no collection
    is dated after D (``maintained``, asked of the database when None) the collections dated ≤ D are
    all of them, i.e. the maintained ``collected`` column; otherwise they are summed per receivable.
    ``open_at`` is exact on PostgreSQL and within float error of the cent on SQLite (round it);
    "> 0" is tested as "> half a cent", since every true open amount is a whole number of cents.
    """
    if maintained is None:
        maintained = not collections_after(as_of)
    rows = Receivable.objects.filter(issue_date__lte=as_of)
    if clients is not None:
        rows = rows.filter(client__in=clients)
    if maintained:
        collected = F("collected")
        # the maintained open test exactly as the partial index of open receivables states it
        # (clients/migrations, receivable_open_*): SQLite's planner uses the index only on this term
        rows = rows.filter(RawSQL(_OPEN_TERM, (), output_field=BooleanField()))  # noqa: S611 (a constant)
    else:
        summed = (
            Transaction.objects.filter(receivable=OuterRef("pk"), type=Transaction.Type.COLLECTION, date__lte=as_of)
            .order_by()
            .values("receivable")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        collected = Coalesce(Subquery(summed, output_field=MONEY_FIELD), Value(ZERO, output_field=MONEY_FIELD))
    open_at = ExpressionWrapper(F("face_value") - collected - F("written_off"), output_field=MONEY_FIELD)
    return rows.annotate(open_at=open_at).filter(open_at__gt=HALF_CENT)


def receivable_inputs(*, as_of: dt.date, clients=None, maintained: bool | None = None) -> list[ReceivableInput]:
    """Receivables issued on or before D with an open amount at D > 0 (see :func:`open_receivables_qs`)."""
    rows = (
        open_receivables_qs(as_of=as_of, clients=clients, maintained=maintained)
        .order_by("receivable_id")
        .values_list(
            "receivable_id",
            "client__client_id",
            "client__name",
            "debtor__debtor_id",
            "debtor__name",
            "currency",
            "due_date",
            "open_at",
        )
    )
    result = []
    for key, client_key, client_name, debtor_key, debtor_name, currency, due_date, open_at in rows:
        open_amount = round_money(open_at, currency)
        if open_amount <= 0:
            continue
        result.append(
            ReceivableInput(
                key=key,
                client_key=client_key,
                client_name=client_name,
                debtor_key=debtor_key,
                debtor_name=debtor_name,
                currency=currency,
                due_date=due_date,
                open_amount=open_amount,
            )
        )
    return result


def portfolio_projection(*, as_of: dt.date, months: int = 12, scenario: Scenario = BASE, clients=None) -> Projection:
    return project(
        loan_inputs(clients=clients),
        receivable_inputs(as_of=as_of, clients=clients),
        as_of=as_of,
        months=months,
        scenario=scenario,
    )


@dataclass
class PortfolioView:
    base: Projection
    scenario: Projection
    overview: Overview
    positions: list[LoanPosition]  # loans outstanding at D (base rates)


def portfolio_view(*, as_of: dt.date, months: int = 12, scenario: Scenario = BASE, clients=None) -> PortfolioView:
    """Base projection, scenario projection (the base itself when the scenario is the base) and KPIs."""
    loans = loan_inputs(clients=clients)
    receivables = receivable_inputs(as_of=as_of, clients=clients)
    base_positions = loan_positions(loans, as_of)
    base = project(loans, receivables, as_of=as_of, months=months, positions=base_positions)
    alternative = base
    if not scenario.is_base:
        positions = base_positions if not scenario.rate_shift_bp else None
        alternative = project(loans, receivables, as_of=as_of, months=months, scenario=scenario, positions=positions)
    kpis = overview(loans, receivables, as_of=as_of, horizon_months=12, positions=base_positions)
    return PortfolioView(base=base, scenario=alternative, overview=kpis, positions=base_positions[0])


# --- the fast path: SQL aggregates over stored schedules and open receivables ------------------

PAGE_SIZE = 25


def _money(cents) -> Decimal:
    """Whole cents (an int, or a Decimal from PostgreSQL's SUM of bigints) as an amount with 2 places."""
    return Decimal(cents).scaleb(-2) if cents else ZERO


def _cents_sum(condition: Q | None = None):
    """Σ open_at of the group (where ``condition``) in whole cents, rounded in SQL: exact on both engines
    (SQLite sums floats, far within half a cent of the true sum) and read as an int, not a decimal."""
    total = ExpressionWrapper(Sum("open_at", filter=condition) * Value(100), output_field=MONEY_FIELD)
    return Cast(Round(total), BigIntegerField())


def _month_case(field: str, ends: list[dt.date]) -> Case:
    """Month k (1..len(ends)) of a date in ``field``: the first k with date ≤ end_k; 0 after the last."""
    whens = [When(**{f"{field}__lte": end}, then=Value(k)) for k, end in enumerate(ends, 1)]
    return Case(*whens, default=Value(0), output_field=IntegerField())


def _remaining(as_of: dt.date):
    """Instalments of loans started on or before D, dated after D (what is still to be paid at D)."""
    return LoanInstalment.objects.filter(date__gt=as_of, loan__start_date__lte=as_of)


def _outstanding_loans(as_of: dt.date):
    """pks of the loans with principal outstanding at D (a remaining instalment repays principal)."""
    return _remaining(as_of).filter(principal_cents__gt=0).values("loan_id")


@dataclass
class LoanKpis:
    """Loan figures of one currency at D, for the dashboard (base case, no scenario).

    ``outstanding`` / ``loans``: principal outstanding at D of the loans started on or before D with
    something left (count of those loans). ``expected`` / ``instalments``: principal + interest of
    their periods dated in (D, horizon_end] (count of those periods).
    """

    currency: str
    outstanding: Decimal = ZERO
    loans: int = 0
    expected: Decimal = ZERO
    instalments: int = 0
    expected_principal: Decimal = ZERO
    expected_interest: Decimal = ZERO


_LOAN_KPIS_SQL = (
    "SELECT l.currency, SUM(g.outstanding), COUNT(*), SUM(g.principal), SUM(g.interest), SUM(g.instalments)"
    " FROM (SELECT i.loan_id, SUM(i.principal_cents) AS outstanding, MAX(i.principal_cents) AS largest,"
    "  SUM(CASE WHEN i.date <= %s THEN i.principal_cents END) AS principal,"
    "  SUM(CASE WHEN i.date <= %s THEN i.interest_cents END) AS interest,"
    "  SUM(CASE WHEN i.date <= %s THEN 1 ELSE 0 END) AS instalments"
    "  FROM portfolio_loaninstalment i WHERE i.date > %s GROUP BY i.loan_id) g"
    " JOIN portfolio_loan l ON l.id = g.loan_id"
    " WHERE l.start_date <= %s AND g.largest > 0 GROUP BY l.currency ORDER BY l.currency"
)


def loan_kpis(*, as_of: dt.date, horizon_end: dt.date) -> dict[str, LoanKpis]:
    """Per currency (sorted): loans outstanding at D and instalments due in (D, horizon_end].

    The figures ``atlas.selectors.dashboard`` derived from ``loan_positions``, as SQL aggregates over
    the stored schedules (outstanding at D = Σ principal of the periods dated after D, since a loan's
    principal repaid adds up to its principal exactly). One query (plus one to find stale schedules):
    the periods dated after D (index ``loan_instalment_date``) summed per loan, then per currency over
    the loans started on or before D with principal left (a remaining period with principal > 0).
    """
    refresh_schedules()
    end, day = (connection.ops.adapt_datefield_value(d) for d in (horizon_end, as_of))
    with connection.cursor() as cursor:
        cursor.execute(_LOAN_KPIS_SQL, [end, end, end, day, day])
        rows = cursor.fetchall()
    return {
        currency: LoanKpis(
            currency=currency,
            outstanding=_money(outstanding),
            loans=loans,
            expected=_money(principal) + _money(interest),
            instalments=instalments or 0,
            expected_principal=_money(principal),
            expected_interest=_money(interest),
        )
        for currency, outstanding, loans, principal, interest, instalments in rows
    }


@dataclass
class LoanRow:
    """A loan outstanding at D, summed from its stored periods dated after D."""

    pk: int
    loan_id: str
    client_pk: int
    client_id: str
    client_name: str
    client_currency: str
    currency: str
    method: str
    day_count: str
    principal: Decimal
    annual_rate: Decimal
    start_date: dt.date
    term_months: int
    outstanding: Decimal
    principal_12m: Decimal
    interest_12m: Decimal
    principal_horizon: Decimal
    interest_horizon: Decimal
    life_weight: Decimal  # Σ principal_k × days from D
    next_payment_date: dt.date
    maturity: dt.date
    next_payment: Decimal = ZERO


_LOAN_TERMS = (
    "pk",
    "loan_id",
    "client_id",
    "client__client_id",
    "client__name",
    "client__currency",
    "currency",
    "method",
    "day_count",
    "principal",
    "annual_rate",
    "start_date",
    "term_months",
)


def _loan_rows(as_of: dt.date, h12: dt.date, horizon: dt.date) -> tuple[list[LoanRow], int]:
    """Every loan outstanding at D, one row each, sorted by loan id; and how many loans start after D.

    Two queries: the terms of every loan, and its stored periods dated after D summed per loan
    (loans are few next to receivables: one row per loan is cheap).
    """
    within_12 = Q(date__lte=h12)
    within = Q(date__lte=horizon)
    days = ExpressionWrapper(F("principal_cents") * (F("day") - as_of.toordinal()), output_field=BigIntegerField())
    sums = {
        r[0]: r[1:]
        for r in _remaining(as_of)
        .values("loan_id")
        .annotate(
            outstanding=Sum("principal_cents"),
            p12=Sum("principal_cents", filter=within_12),
            i12=Sum("interest_cents", filter=within_12),
            ph=Sum("principal_cents", filter=within),
            ih=Sum("interest_cents", filter=within),
            life=Sum(days),
            first=Min("day"),
            last=Max("day"),
        )
        .filter(outstanding__gt=0)
        .order_by()
        .values_list("loan_id", "outstanding", "p12", "i12", "ph", "ih", "life", "first", "last")
    }
    rows, not_started = [], 0
    for terms in Loan.objects.order_by("loan_id").values_list(*_LOAN_TERMS):
        pk, start_date = terms[0], terms[11]
        if start_date > as_of:
            not_started += 1
            continue
        found = sums.get(pk)
        if found is None:
            continue
        outstanding, p12, i12, ph, ih, life, first, last = found
        rows.append(
            LoanRow(
                *terms,
                outstanding=_money(outstanding),
                principal_12m=_money(p12),
                interest_12m=_money(i12),
                principal_horizon=_money(ph),
                interest_horizon=_money(ih),
                life_weight=_money(life),
                next_payment_date=dt.date.fromordinal(first),
                maturity=dt.date.fromordinal(last),
            )
        )
    return rows, not_started


def _add_loan(target: KpiRow, loan: LoanRow) -> None:
    target.loans_count += 1
    target.loans_outstanding += loan.outstanding
    target.principal_12m += loan.principal_12m
    target.interest_12m += loan.interest_12m
    target.rate_weight += loan.outstanding * loan.annual_rate
    target.life_weight += loan.life_weight


@dataclass
class ClientTotals:
    """A client's horizon totals (base and scenario), as ``Projection.totals`` gives them."""

    currency: str
    client_id: str
    name: str
    base: MonthRow
    scenario: MonthRow


@dataclass
class _ClientBook:
    """One client's loans and open receivables in one currency (the base case)."""

    kpi: KpiRow
    opening: Decimal = ZERO
    principal: Decimal = ZERO  # over the page's horizon
    interest: Decimal = ZERO
    collections: Decimal = ZERO


@dataclass
class PortfolioPage:
    """What ``/portfolio/`` shows: whole-currency figures, and one page of each per-row table."""

    as_of: dt.date
    months: int
    scenario: Scenario
    base: dict[str, list[MonthRow]]  # currency -> months (the portfolio rows of the base projection)
    alternative: dict[str, list[MonthRow]]  # the same for the scenario (the base itself when it is the base)
    loans_not_started: int
    kpis: dict[str, KpiRow]  # per currency, base, next 12 months
    methods: list[KpiRow]
    clients: Page  # of KpiRow in ``currency``, by client id
    debtors: Page  # of KpiRow in ``currency``, largest open amount first
    client_totals: Page  # of ClientTotals in ``currency``, by client id
    loans: Page  # of LoanRow in ``currency``, by loan id
    currency: str

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.base) | set(self.kpis))


def _page_number(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _page(items, number) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(number)


def _month_rows(buckets, opening: Decimal, flows: dict[int, list[Decimal]]) -> list[MonthRow]:
    """Month rows of one currency: its opening balance, then its flows per month (principal, interest, collections)."""
    rows = []
    balance = opening
    for k, (start, end) in enumerate(buckets, 1):
        principal, interest, collections = flows.get(k, (ZERO, ZERO, ZERO))
        row = MonthRow(k, start, end, opening_balance=balance, principal=principal, interest=interest)
        row.collections = collections
        balance = balance - principal - collections
        row.closing_balance = balance
        rows.append(row)
    return rows


def _receivable_months(open_qs, as_of: dt.date, ends: list[dt.date], maintained: bool):
    """(currency, month, count, cents) of the open receivables at D, month k = the first with due date ≤ ends[k−1]
    (0 after the last). When no collection is dated after D, from the totals the database keeps per currency,
    due date and issue date (``risk.models.OpenByDue``: a few thousand rows, not every open receivable);
    otherwise from the receivables' open amounts at D."""
    if maintained:
        rows = OpenByDue.objects.filter(n__gt=0, issue_date__lte=as_of)
        count, total = Sum("n"), Sum("amount_c")
    else:
        rows, count, total = open_qs, Count("pk"), _cents_sum()
    return (
        rows.annotate(month=_month_case("due_date", ends))
        .values("currency", "month")
        .annotate(count=count, total=total)
        .order_by()
        .values_list("currency", "month", "count", "total")
    )


def portfolio_page(
    *,
    as_of: dt.date,
    months: int = 12,
    scenario: Scenario = BASE,
    currency: str = "",
    pages: dict[str, object] | None = None,
) -> PortfolioPage:
    """The overview page's data in a constant number of queries (10; 12 with a scenario), whatever the book's size.

    Base case from SQL aggregates: loans from their stored periods dated after D (summed per loan),
    receivables from their open amounts at D (the maintained totals per due date, :func:`_receivable_months`),
    bucketed by month in SQL (``CASE``) and summed per currency; the per-client, per-debtor,
    per-client-totals and loans tables show the chosen ``currency``
    (per client: one grouped query; per debtor: one page, sorted and counted in SQL).
    ``pages``: page numbers by table name (``clients``, ``debtors``, ``client_totals``, ``loans``).
    A scenario other than the base is projected by the pure code over every loan and open receivable
    (``portfolio.projection.project``: per-event rounding of defaults, re-scheduling of rate shifts).
    ``currency`` picks the currency of the per-client totals and loans tables (default: the first).
    """
    pages = pages or {}
    refresh_schedules()
    buckets = month_buckets(as_of, months)
    ends = [end for _, end in buckets]
    h12 = add_months(as_of, 12)
    horizon = ends[-1]
    kpi_ends = [add_months(as_of, k) for k in range(1, max(months, 12) + 1)]
    maintained = not collections_after(as_of)
    open_qs = open_receivables_qs(as_of=as_of, maintained=maintained)

    loans, not_started = _loan_rows(as_of, h12, horizon)
    loan_months = (
        _remaining(as_of)
        .filter(date__lte=horizon)
        .annotate(month=_month_case("date", ends))
        .values("loan__currency", "month")
        .annotate(principal=Sum("principal_cents"), interest=Sum("interest_cents"))
        .order_by()
    )
    receivable_months = _receivable_months(open_qs, as_of, kpi_ends, maintained)
    kpis: dict[str, KpiRow] = {}
    methods: dict[tuple[str, str], KpiRow] = {}
    books: dict[tuple[str, int], _ClientBook] = {}
    client_keys: dict[int, tuple[str, str]] = {}  # pk -> (currency of the client, client id)
    opening: dict[str, Decimal] = {}
    flows: dict[str, dict[int, list[Decimal]]] = {}

    def kpi(cur: str) -> KpiRow:
        if cur not in kpis:
            kpis[cur] = KpiRow(currency=cur, label=cur)
            opening[cur] = ZERO
            flows[cur] = {}
        return kpis[cur]

    def book(cur: str, pk: int, client_id: str, name: str, client_currency: str) -> _ClientBook:
        found = books.get((cur, pk))
        if found is None:
            found = books[(cur, pk)] = _ClientBook(KpiRow(currency=cur, key=client_id, label=name))
            client_keys[pk] = (client_currency, client_id)
        return found

    for loan in loans:
        _add_loan(kpi(loan.currency), loan)
        opening[loan.currency] += loan.outstanding
        method = methods.get((loan.currency, loan.method))
        if method is None:
            method = methods[(loan.currency, loan.method)] = KpiRow(loan.currency, loan.method, loan.method)
        _add_loan(method, loan)
    for cur, month, n, cents in receivable_months:
        total = _money(cents)
        row = kpi(cur)
        row.receivables_count += n
        row.receivables_open += total
        opening[cur] += total
        if 1 <= month <= 12:
            row.collections_12m += total
        if 1 <= month <= months:
            flows[cur].setdefault(month, [ZERO, ZERO, ZERO])[2] += total
    for r in loan_months:
        cur = r["loan__currency"]
        if cur in kpis and r["month"]:
            f = flows[cur].setdefault(r["month"], [ZERO, ZERO, ZERO])
            f[0] += _money(r["principal"])
            f[1] += _money(r["interest"])

    kpis = dict(sorted(kpis.items()))
    base = {cur: _month_rows(buckets, opening[cur], flows[cur]) for cur in kpis}
    currencies = sorted(base)
    currency = currency if currency in currencies else (currencies[0] if currencies else "")

    # per client, in the chosen currency: its loans (rows above) and its open receivables (one grouped query)
    for loan in loans:
        if loan.currency == currency:
            b = book(loan.currency, loan.client_pk, loan.client_id, loan.client_name, loan.client_currency)
            _add_loan(b.kpi, loan)
            b.opening += loan.outstanding
            b.principal += loan.principal_horizon
            b.interest += loan.interest_horizon
    client_rows = []
    if currency:
        client_rows = list(
            open_qs.filter(currency=currency)
            .values("client_id")
            .annotate(
                n=Count("pk"),
                total=_cents_sum(),
                within_12=_cents_sum(Q(due_date__lte=h12)),
                within=_cents_sum(Q(due_date__lte=horizon)),
            )
            .order_by()
            .values_list("client_id", "n", "total", "within_12", "within")
        )
    names = {}
    if client_rows:  # the clients' ids and names (a narrow row each: cheaper than joining them in)
        rows = Client.objects.all()
        if len(client_rows) <= _NAMES_BY_PK:  # only these clients (a bounded list of parameters)
            rows = rows.filter(pk__in=[r[0] for r in client_rows])
        names = {pk: rest for pk, *rest in rows.values_list("pk", "client_id", "name", "currency")}
    for pk, n, cents, within_12, within in client_rows:
        client_id, name, client_currency = names[pk]
        b = book(currency, pk, client_id, name, client_currency)
        total = _money(cents)
        b.kpi.receivables_count += n
        b.kpi.receivables_open += total
        b.kpi.collections_12m += _money(within_12)
        b.opening += total
        b.collections += _money(within)

    reference = None
    alternative = base
    if not scenario.is_base:
        reference = project(
            loan_inputs(),
            receivable_inputs(as_of=as_of, maintained=maintained),
            as_of=as_of,
            months=months,
            scenario=scenario,
        )
        alternative = reference.currencies

    # the chosen currency's clients, by client id (as the export, which has every currency)
    by_client = [books[key] for key in sorted(books, key=lambda key: (client_keys[key[1]][1], key[1]))]
    client_page = _page([b.kpi for b in by_client], pages.get("clients"))
    totals_page = _page(by_client, pages.get("client_totals"))
    totals_page.object_list = [_client_totals(b, buckets, reference) for b in totals_page.object_list]
    loan_page = _page([loan for loan in loans if loan.currency == currency], pages.get("loans"))
    _next_payments(loan_page.object_list)

    return PortfolioPage(
        as_of=as_of,
        months=months,
        scenario=scenario,
        base=base,
        alternative=alternative,
        loans_not_started=not_started,
        kpis=kpis,
        methods=[methods[key] for key in sorted(methods)],
        clients=client_page,
        debtors=_debtor_page(open_qs.filter(currency=currency), h12, _page_number(pages.get("debtors"))),
        client_totals=totals_page,
        loans=loan_page,
        currency=currency,
    )


def _client_totals(book: _ClientBook, buckets, reference: Projection | None) -> ClientTotals:
    k = book.kpi
    base = MonthRow(
        0,
        buckets[0][0],
        buckets[-1][1],
        opening_balance=book.opening,
        principal=book.principal,
        interest=book.interest,
        collections=book.collections,
        closing_balance=book.opening - book.principal - book.collections,
    )
    scenario = base
    if reference is not None:
        scenario = reference.totals(reference.clients.get((k.currency, k.key), []))
    return ClientTotals(k.currency, k.key, k.label, base, scenario)


class _CountedPaginator(Paginator):
    """A paginator whose count is already known (counted by the page's own query)."""

    def __init__(self, count: int, per_page: int):
        super().__init__([], per_page)
        self._count = count

    @property
    def count(self) -> int:
        return self._count


def _debtor_page(open_qs, h12: dt.date, number: int) -> Page:
    """One page of debtors (currency, then largest open amount first): one grouped query that also counts
    every (currency, debtor) pair (``COUNT(*) OVER ()``), one for the names of the page's debtors."""
    offset = (number - 1) * PAGE_SIZE
    rows = list(
        open_qs.values("currency", "debtor_id")
        .annotate(
            n=Count("pk"),
            total=Sum("open_at"),
            within_12=Sum("open_at", filter=Q(due_date__lte=h12)),
            pairs=Window(Count("*")),
        )
        .order_by("currency", "-total", "debtor_id")[offset : offset + PAGE_SIZE]
    )
    if not rows and number > 1:  # past the last page: show the last one
        pairs = open_qs.values("currency", "debtor_id").distinct().count()
        return _debtor_page(open_qs, h12, max(1, -(-pairs // PAGE_SIZE)))
    found = {}
    if rows:
        debtors = Debtor.objects.filter(pk__in=[r["debtor_id"] for r in rows])
        found = {pk: (key, name) for pk, key, name in debtors.values_list("pk", "debtor_id", "name")}
    debtors = []
    for r in rows:
        key, name = found.get(r["debtor_id"], ("", ""))
        row = KpiRow(currency=r["currency"], key=key, label=name)
        row.receivables_count = r["n"]
        row.receivables_open = round_money(r["total"] or 0)
        row.collections_12m = round_money(r["within_12"] or 0)
        debtors.append(row)
    paginator = _CountedPaginator(rows[0]["pairs"] if rows else 0, PAGE_SIZE)
    return Page(debtors, number if rows else 1, paginator)


def _next_payments(loans: list[LoanRow]) -> None:
    """The payment of each shown loan's next period (one query for the page)."""
    if not loans:
        return
    which = Q()
    for loan in loans:
        which |= Q(loan_id=loan.pk, date=loan.next_payment_date)
    payments = dict(LoanInstalment.objects.filter(which).values_list("loan_id", "payment"))
    for loan in loans:
        loan.next_payment = payments.get(loan.pk, ZERO)
