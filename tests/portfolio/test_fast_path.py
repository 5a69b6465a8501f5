"""The fast path (stored schedules + SQL aggregates) gives exactly the figures of the pure reference
computation (``portfolio.projection``: ``project``, ``overview``, ``loan_positions``) on plain records
loaded independently here, on a demo-generated book and on hand-built loans of every method and day count,
at today and at past dates (collections dated after D: the summed fallback), for the base case and a
scenario, across every page of every paginated table.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import astuple
from decimal import Decimal as D

import pytest

from clients.demo import make_demo_workbook
from clients.importer import import_workbook
from clients.models import Receivable, Transaction
from portfolio import selectors
from portfolio.models import Loan, LoanInstalment, LoanSchedule
from portfolio.projection import BASE, ReceivableInput, Scenario, loan_positions, overview, project
from portfolio.schedule import ACT_360, ACT_365, D30_360, loan_schedule
from portfolio.selectors import loan_inputs, loan_kpis, portfolio_page
from portfolio.services import refresh_schedules, stale_loans
from tests.factories import ClientFactory, DebtorFactory, LoanFactory, ReceivableFactory, TransactionFactory

pytestmark = pytest.mark.django_db

SCENARIO = Scenario(default_rate=D("0.035"), delay_days=20, rate_shift_bp=75)


def reference_receivables(as_of):
    """Open receivables at D as the page computed them before the fast path: model instances, collections
    dated ≤ D summed in Python, minus the receivable's write-off total."""
    collected = defaultdict(lambda: D("0.00"))
    for t in Transaction.objects.filter(type=Transaction.Type.COLLECTION, date__lte=as_of):
        collected[t.receivable_id] += t.amount
    result = []
    for r in Receivable.objects.select_related("client", "debtor").order_by("receivable_id"):
        open_amount = r.face_value - collected[r.pk] - r.written_off
        if r.issue_date > as_of or open_amount <= 0:
            continue
        result.append(
            ReceivableInput(
                key=r.receivable_id,
                client_key=r.client.client_id,
                client_name=r.client.name,
                debtor_key=r.debtor.debtor_id,
                debtor_name=r.debtor.name,
                currency=r.currency,
                due_date=r.due_date,
                open_amount=open_amount,
            )
        )
    return result


def every_page(as_of, months, scenario, currency, names):
    """The page data, with every page of the tables ``names`` fetched and concatenated."""
    first = portfolio_page(as_of=as_of, months=months, scenario=scenario, currency=currency)
    tables = {}
    for name in names:
        found = getattr(first, name)
        rows = list(found.object_list) if found else []
        for number in range(2, (found.paginator.num_pages if found else 0) + 1):
            page = portfolio_page(
                as_of=as_of, months=months, scenario=scenario, currency=currency, pages={name: number}
            )
            rows += list(getattr(page, name).object_list)
        tables[name] = rows
    return first, tables


def kpi_tuple(row):
    return astuple(row)


def month_tuples(rows):
    return [astuple(r) for r in rows]


def assert_page_equals_reference(as_of, months, scenario=BASE):
    loans = loan_inputs()
    receivables = reference_receivables(as_of)
    positions = loan_positions(loans, as_of)
    base = project(loans, receivables, as_of=as_of, months=months, positions=positions)
    alternative = (
        base if scenario.is_base else project(loans, receivables, as_of=as_of, months=months, scenario=scenario)
    )
    kpis = overview(loans, receivables, as_of=as_of, horizon_months=12, positions=positions)
    currencies = sorted(set(base.currencies) | set(kpis.currencies))
    checked = 0
    for currency in currencies or [""]:
        page, tables = every_page(as_of, months, scenario, currency, ("clients", "debtors", "client_totals", "loans"))
        assert page.currencies == currencies
        assert page.currency == currency
        assert page.loans_not_started == base.loans_not_started
        assert {c: month_tuples(r) for c, r in page.base.items()} == {
            c: month_tuples(r) for c, r in base.currencies.items()
        }
        assert {c: month_tuples(r) for c, r in page.alternative.items()} == {
            c: month_tuples(r) for c, r in alternative.currencies.items()
        }
        assert [kpi_tuple(r) for r in page.kpis.values()] == [kpi_tuple(r) for r in kpis.currencies.values()]
        assert [kpi_tuple(r) for r in page.methods] == [kpi_tuple(r) for r in kpis.methods]
        # the client and debtor tables show the chosen currency; debtors largest open amount first
        assert [kpi_tuple(r) for r in tables["clients"]] == [
            kpi_tuple(r) for r in kpis.clients if r.currency == currency
        ]
        assert sorted(kpi_tuple(r) for r in tables["debtors"]) == sorted(
            kpi_tuple(r) for r in kpis.debtors if r.currency == currency
        )
        opens = [r.receivables_open for r in tables["debtors"]]
        assert opens == sorted(opens, reverse=True)
        checked += len(tables["clients"]) + len(tables["debtors"])
        if not currency:
            continue
        expected_totals = [
            (cur, key, base.client_names[key], astuple(base.totals(rows)))
            + (astuple(alternative.totals(alternative.clients.get((cur, key), []))),)
            for (cur, key), rows in base.clients.items()
            if cur == currency
        ]
        assert [
            (r.currency, r.client_id, r.name, astuple(r.base), astuple(r.scenario)) for r in tables["client_totals"]
        ] == expected_totals
        expected_loans = [
            (
                p.loan.key,
                p.loan.client_key,
                p.outstanding,
                p.remaining[0].date,
                p.remaining[0].payment,
                p.remaining[-1].date,
            )
            for p in positions[0]
            if p.loan.currency == currency
        ]
        assert [
            (r.loan_id, r.client_id, r.outstanding, r.next_payment_date, r.next_payment, r.maturity)
            for r in tables["loans"]
        ] == expected_loans
        checked += len(expected_totals) + len(expected_loans)
    return checked


def assert_loan_kpis_equal_the_dashboard_rule(as_of, days=30):
    """What ``atlas.selectors.dashboard`` computed from ``loan_positions`` before ``loan_kpis`` existed."""
    horizon_end = as_of + dt.timedelta(days=days)
    expected = {}
    for position in loan_positions(loan_inputs(), as_of)[0]:
        row = expected.setdefault(position.loan.currency, [D("0.00"), 0, D("0.00"), 0])
        row[0] += position.outstanding
        row[1] += 1
        for period in position.remaining:
            if period.date <= horizon_end:
                row[2] += period.principal + period.interest
                row[3] += 1
    found = {
        cur: [k.outstanding, k.loans, k.expected, k.instalments]
        for cur, k in loan_kpis(as_of=as_of, horizon_end=horizon_end).items()
    }
    assert found == dict(sorted(expected.items()))
    assert list(found) == sorted(found)


@pytest.fixture
def demo_book(tmp_path):
    path = tmp_path / "demo.xlsx"
    make_demo_workbook(path, clients=30, seed=5)
    result = import_workbook(str(path))
    assert result.ok, result.errors[:5]
    assert Loan.objects.count() > 3


DEMO_DATES = [
    dt.date(2026, 12, 1),  # after every booking: maintained receivable columns
    dt.date(2026, 11, 1),
    dt.date(2026, 7, 15),  # collections dated after D: open amounts summed to D; loans starting after D
    dt.date(2026, 2, 28),
]


def test_demo_book_base_case_equals_the_reference(demo_book, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 9)  # several pages of every table
    for as_of in DEMO_DATES:
        for months in (12, 18) if as_of == DEMO_DATES[0] else (5,):
            assert assert_page_equals_reference(as_of, months) > 0, (as_of, months)
        assert_loan_kpis_equal_the_dashboard_rule(as_of)
        assert_loan_kpis_equal_the_dashboard_rule(as_of, days=400)


@pytest.mark.parametrize("names_by_pk", [0, 1_000_000])
def test_client_names_read_by_pk_or_all_give_the_same_page(demo_book, monkeypatch, names_by_pk):
    """Client names are read for the currency's clients only up to ``_NAMES_BY_PK`` of them, else all."""
    monkeypatch.setattr(selectors, "PAGE_SIZE", 7)
    monkeypatch.setattr(selectors, "_NAMES_BY_PK", names_by_pk)
    assert assert_page_equals_reference(DEMO_DATES[0], 12) > 0


def test_demo_book_scenario_equals_the_reference(demo_book, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 20)
    for as_of in DEMO_DATES[::2]:
        assert_page_equals_reference(as_of, 12, SCENARIO)
        assert_page_equals_reference(as_of, 7, Scenario(default_rate=D("0.1")))


def test_stored_instalments_are_the_schedule(demo_book):
    refresh_schedules()
    for loan in Loan.objects.all():
        stored = [
            (i.seq, i.date, i.opening_balance, i.payment, i.interest, i.principal, i.closing_balance)
            for i in LoanInstalment.objects.filter(loan=loan).order_by("seq")
        ]
        assert stored == [tuple(p) for p in loan_schedule(loan)], loan.loan_id
    for i in LoanInstalment.objects.all():
        assert (i.principal_cents, i.interest_cents, i.day) == (
            int(i.principal * 100),
            int(i.interest * 100),
            i.date.toordinal(),
        )


def hand_built_book():
    """Loans of every method and day count, month-end and leap-day starts, a zero rate, a tiny principal
    (the capped annuity), a loan repaid before D, loans starting after D, in two currencies; receivables
    overdue, due in the horizon, after it, partly collected before and after D."""
    eur = ClientFactory(client_id="CL-E", currency="EUR")
    gbp = ClientFactory(client_id="CL-G", currency="GBP")
    starts = [dt.date(2025, 1, 31), dt.date(2024, 2, 29), dt.date(2025, 6, 15), dt.date(2025, 12, 31)]
    n = 0
    for method in ("annuity", "linear", "bullet"):
        for day_count in (D30_360, ACT_360, ACT_365):
            for start in starts:
                n += 1
                client = eur if n % 3 else gbp
                LoanFactory(
                    loan_id=f"L-{n:03d}",
                    client=client,
                    currency=client.currency,
                    principal=D("12345.67") + n,
                    annual_rate=D("0.0725") if n % 5 else D("0"),
                    start_date=start,
                    term_months=6 + n % 30,
                    method=method,
                    day_count=day_count,
                )
    LoanFactory(loan_id="L-TINY", client=eur, principal=D("0.07"), term_months=10, start_date=dt.date(2025, 11, 30))
    LoanFactory(loan_id="L-DONE", client=eur, term_months=3, start_date=dt.date(2024, 1, 31))
    LoanFactory(loan_id="L-LATER", client=gbp, currency="GBP", start_date=dt.date(2026, 9, 30))
    debtor = DebtorFactory(debtor_id="DB-H")
    for k, (due, face) in enumerate(
        [
            (dt.date(2026, 1, 10), "500.00"),
            (dt.date(2026, 4, 30), "750.25"),
            (dt.date(2026, 5, 1), "1000.10"),
            (dt.date(2027, 8, 1), "99.99"),
        ]
    ):
        for client in (eur, gbp):
            r = ReceivableFactory(
                client=client, debtor=debtor, currency=client.currency, face_value=D(face), due_date=due
            )
            if k == 2:
                for date, amount in ((dt.date(2026, 3, 1), "100.05"), (dt.date(2026, 6, 1), "200.00")):
                    TransactionFactory(
                        client=client, receivable=r, type=Transaction.Type.COLLECTION, amount=D(amount), date=date
                    )
                Receivable.objects.filter(pk=r.pk).update(collected=D("300.05"))


HAND_DATES = [dt.date(2026, 3, 31), dt.date(2026, 6, 30), dt.date(2024, 3, 31), dt.date(2030, 1, 1)]


def test_hand_built_loans_of_every_method_and_day_count(monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 5)
    hand_built_book()
    for as_of in HAND_DATES:
        for months in (12, 3):
            assert_page_equals_reference(as_of, months)
        assert_page_equals_reference(as_of, 12, SCENARIO)
        assert_loan_kpis_equal_the_dashboard_rule(as_of)
        assert_loan_kpis_equal_the_dashboard_rule(as_of, days=3650)


def test_schedules_follow_changed_terms():
    loan = LoanFactory(principal=D("1000.00"), term_months=4, method="linear")
    other = LoanFactory(principal=D("500.00"), term_months=2)
    assert refresh_schedules() == 2
    assert refresh_schedules() == 0  # fresh: nothing written
    assert LoanInstalment.objects.filter(loan=loan).count() == 4
    Loan.objects.filter(pk=loan.pk).update(term_months=6, annual_rate=D("0.03"))  # a bulk write: no hook ran
    assert list(stale_loans()) == [loan]
    as_of = loan.start_date
    kpis = loan_kpis(as_of=as_of, horizon_end=as_of + dt.timedelta(days=400))  # the reader refreshes first
    assert LoanInstalment.objects.filter(loan=loan).count() == 6
    assert LoanInstalment.objects.filter(loan=other).count() == 2
    assert kpis["EUR"].instalments == 8 and kpis["EUR"].loans == 2
    loan.refresh_from_db()
    assert [i.principal for i in LoanInstalment.objects.filter(loan=loan)] == [p.principal for p in loan_schedule(loan)]
    other.delete()
    assert not LoanSchedule.objects.filter(loan_id=other.pk).exists()
    assert not LoanInstalment.objects.filter(loan_id=other.pk).exists()


def test_page_query_count_does_not_grow_with_the_book(django_assert_num_queries):
    as_of = dt.date(2026, 3, 31)

    def grow(n):
        for i in range(n):
            client = ClientFactory()
            LoanFactory(client=client, start_date=dt.date(2025, 12, 31), method=["annuity", "linear", "bullet"][i % 3])
            ReceivableFactory(client=client, debtor=DebtorFactory(), due_date=dt.date(2026, 5, 1))
        refresh_schedules()

    for scenario, queries in ((BASE, 11), (SCENARIO, 13)):
        grow(2)
        with django_assert_num_queries(queries):
            portfolio_page(as_of=as_of, scenario=scenario, pages={"clients": 2, "debtors": 1})
        grow(60)
        with django_assert_num_queries(queries):
            page = portfolio_page(as_of=as_of, scenario=scenario, pages={"clients": 2, "debtors": 2})
        assert len(page.clients.object_list) == len(page.debtors.object_list) == selectors.PAGE_SIZE
        assert len(page.loans.object_list) == selectors.PAGE_SIZE
        with django_assert_num_queries(2):  # stale schedules?, the aggregate
            loan_kpis(as_of=as_of, horizon_end=as_of + dt.timedelta(days=30))


def test_admin_save_stores_the_new_schedule(admin_client):
    loan = LoanFactory(loan_id="L-ADM", principal=D("1200.00"), term_months=3, method="linear")
    refresh_schedules()
    data = {
        "loan_id": "L-ADM",
        "client": loan.client.pk,
        "principal": "1200.00",
        "currency": "EUR",
        "annual_rate": "0.060000",
        "start_date": "2026-01-31",
        "term_months": "4",
        "method": "linear",
        "day_count": "30/360",
    }
    response = admin_client.post(f"/admin/portfolio/loan/{loan.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert not stale_loans().exists()
    assert [i.principal for i in LoanInstalment.objects.filter(loan=loan)] == [D("300.00")] * 4
