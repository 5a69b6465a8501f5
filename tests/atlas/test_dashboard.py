"""Dashboard KPIs per currency, worked by hand from DOMAIN.md, and the links behind them."""

import datetime
from decimal import Decimal

import pytest

from atlas.selectors import dashboard
from tests.atlas.factories import over_limit_client, worked_client
from tests.factories import ClientFactory, ImportBatchFactory, LoanFactory, PayoutFactory

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = datetime.date(2026, 3, 1)


@pytest.fixture
def scene():
    w = worked_client(client_id="CL-W")  # settlement 12875.00, exposure 8000.00 / 8500.00 → warning
    o = over_limit_client(client_id="CL-O")  # settlement 1500.00, exposure 1500.00 / 1000.00 → over
    ClientFactory(client_id="CL-G", currency="GBP")
    PayoutFactory(client=w, amount=D("150.00"), status="requested")
    PayoutFactory(client=o, amount=D("50.00"), status="approved")
    PayoutFactory(client=o, amount=D("20.00"), status="executed")
    LoanFactory(client=w, principal=D("10000.00"), annual_rate=D("0.06"), term_months=12)  # annuity, 2026-01-31
    ImportBatchFactory(file_name="demo.xlsx")
    return w, o


def test_kpis_worked_by_hand(scene):
    d = dashboard(as_of=AS_OF)
    assert [k.currency for k in d.currencies] == ["EUR", "GBP"]
    eur, gbp = d.currencies
    # available = settlement − pending − shortfall: (12875.00 − 150.00) + (1500.00 − 50.00)
    assert (eur.available.count, eur.available.amount) == (2, D("14175.00"))
    assert (eur.over_limit.count, eur.over_limit.amount) == (1, D("1500.00"))
    assert (eur.warning.count, eur.warning.amount) == (1, D("8000.00"))
    assert (eur.shortfall.count, eur.shortfall.amount) == (0, D("0.00"))
    # the 100.00 tranche of CL-W was due 2026-02-19 and is not released
    assert (eur.releases_due.count, eur.releases_due.amount) == (1, D("100.00"))
    # open at D: CL-W R1 10000.00 (due 2026-02-01) and CL-O's 2000.00 (due 2026-02-01); both overdue
    assert (eur.overdue.count, eur.overdue.amount) == (2, D("12000.00"))
    assert eur.open_receivables == D("12000.00")
    assert {s: (t.count, t.amount) for s, t in eur.payout_rows} == {
        "requested": (1, D("150.00")),
        "approved": (1, D("50.00")),
        "executed": (1, D("20.00")),
    }
    # annuity 10000.00 at 6 %/12 over 12: payment round(50 / (1 − 1.005^−12)) = 860.66;
    # period 1 (to 2026-02-28): interest 50.00, principal 810.66 → outstanding 9189.34;
    # period 2 ends 2026-03-31 (within D + 30 days): payment 860.66
    assert (eur.loans_outstanding.count, eur.loans_outstanding.amount) == (1, D("9189.34"))
    assert eur.expected_loans.amount == D("860.66")
    # overdue receivables are projected on D: 12000.00 within 30 days
    assert eur.expected_receivables.amount == D("12000.00")
    assert eur.expected_total == D("12860.66")
    assert gbp.clients == 1 and gbp.available.amount == D("0.00")
    assert [b.file_name for b in d.recent_imports] == ["demo.xlsx"]


def test_dashboard_page_links_each_card_to_its_rows(scene, client_as):
    html = client_as("finance").get("/", {"as_of": AS_OF.isoformat()}).content.decode()
    card = html.split('data-testid="kpi-over-EUR"')[1].split("</section>")[0].split("kpi-card")[0]
    assert "1500.00" in card and 'href="/clients/?band=over&amp;currency=EUR"' in card
    card = html.split('data-testid="kpi-available-EUR"')[1].split("kpi-card")[0]
    assert "14175.00" in card and 'href="/clients/?currency=EUR&amp;sort=-available"' in card
    assert 'href="/payouts/?status=approved&amp;currency=EUR"' in html
    assert "12860.66" in html


def test_card_link_answers_the_rows_behind_the_number(scene, client_as):
    web = client_as("risk")
    response = web.get("/clients/", {"band": "over", "currency": "EUR", "as_of": AS_OF.isoformat()})
    assert "CL-O" in response.content.decode() and "CL-W" not in response.content.decode()


def test_dashboard_query_count_is_flat(client_as, django_assert_max_num_queries):
    web = client_as("ops")
    for _ in range(2):
        worked_client()
    web.get("/")
    with django_assert_max_num_queries(40) as few:
        web.get("/")
    count = len(few.captured_queries)
    for _ in range(8):
        c = worked_client()
        PayoutFactory(client=c, status="requested")
        LoanFactory(client=c)
    web.get("/")  # a loan's schedule rows may be built on its first read (portfolio.selectors.loan_kpis)
    with django_assert_max_num_queries(count):
        web.get("/")


def test_empty_dashboard_invites_ops_to_import(client_as):
    html = client_as("ops").get("/").content.decode()
    assert "Import a workbook" in html


def test_recent_batches_are_the_latest_five_with_their_payout_counts(client_as):
    from tests.factories import PayoutBatchFactory

    c = worked_client()
    batches = [PayoutBatchFactory() for _ in range(7)]
    for i, b in enumerate(batches):
        for _ in range(i % 3):
            PayoutFactory(client=c, batch=b, status="executed")
    d = dashboard(as_of=AS_OF)
    latest = sorted(batches, key=lambda b: (b.created_at, b.pk), reverse=True)[:5]
    assert [(b.pk, b.n) for b in d.recent_batches] == [(b.pk, b.payouts.count()) for b in latest]
    assert {b.n for b in d.recent_batches} == {0, 1, 2}
    html = client_as("ops").get("/").content.decode()
    assert f"<td>{latest[0].pk}</td>" in html
